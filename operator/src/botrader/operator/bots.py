"""What the TradingBot handlers do, as async steps on Kopf's loop: apply a bot's children
(concurrently), resolve a modelRef naming a TrainingRun, record spec changes, and compute the
status from the children and the trader's persisted state."""

from __future__ import annotations

import asyncio
from typing import Any

import kopf

from botrader.core import modelref as models
from botrader.operator import builders, changes, metrics, status, store, strategy_source
from botrader.operator.apply import Applier
from botrader.operator.settings import OperatorSettings


def owner_ref(body: Any, controller: bool) -> dict[str, Any]:
    return {
        "apiVersion": body["apiVersion"],
        "kind": body["kind"],
        "name": body["metadata"]["name"],
        "uid": body["metadata"]["uid"],
        "controller": controller,
        "blockOwnerDeletion": True,
    }


async def apply_child(child: dict[str, Any], body: Any, applier: Applier) -> None:
    """A bot's own children have it as their controller; the shared collector lists every bot
    on its market as an owner (none controls it), added without overwriting the others."""
    if child["kind"] == "Deployment" and child["metadata"]["name"].startswith("collector-"):
        await applier.apply_shared(child, owner_ref(body, controller=False))
        return
    child["metadata"]["ownerReferences"] = [owner_ref(body, controller=True)]
    await applier.apply(child)


async def resolve_model(
    spec: dict[str, Any], namespace: str, applier: Applier
) -> tuple[dict[str, Any], models.Resolution | None]:
    """The spec as the trader should run it: a modelRef naming a TrainingRun becomes that
    run's model URI (None: the bot needs no run)."""
    ref = models.training_run_ref(spec)
    if ref is None:
        return spec, None
    model = models.resolve(spec, ref, await applier.get("TrainingRun", namespace, ref), namespace)
    return (models.with_model(spec, model.model_uri) if model.ready and model.model_uri else spec), model


async def apply_bot(
    body: Any,
    spec: dict[str, Any],
    settings: OperatorSettings,
    applier: Applier,
    *,
    strategy_failed: bool = False,
) -> tuple[dict[str, Any], models.Resolution | None, strategy_source.Source]:
    """Apply the children; the trader holds at zero replicas while its model is not ready,
    its strategy file is missing, or its strategy failed to load for this rollout."""
    name, namespace = body["metadata"]["name"], body["metadata"]["namespace"]
    (effective, model), source = await asyncio.gather(
        resolve_model(spec, namespace, applier), strategy_source.inspect(spec, namespace, applier)
    )
    hold = (model is not None and not model.ready) or source.problem is not None or strategy_failed
    children = builders.bot_children(name, namespace, effective, settings, hold, source.hash)
    await asyncio.gather(*(apply_child(child, body, applier) for child in children))
    return effective, model, source


def report_strategy(
    body: Any, source: strategy_source.Source, failure: str | None, trader_ready: bool
) -> dict[str, Any]:
    """StrategyReady (True once a trader runs it, Unknown before), and a Warning Event when it
    turns False."""
    problem = failure or source.problem
    if problem is not None:
        reason = "StrategyInvalid" if failure else "StrategySourceMissing"
        found = status.condition("StrategyReady", False, reason, problem)
    else:
        reason = "Loaded" if trader_ready else "NotStarted"
        found = status.condition("StrategyReady", True if trader_ready else None, reason)
    before = {c.get("type"): c for c in (body.get("status") or {}).get("conditions") or []}.get(
        "StrategyReady"
    )
    if problem and (before or {}).get("message") != problem:
        kopf.warn(body, reason=reason, message=problem[:1000])
    return found


def report_model(body: Any, model: models.Resolution | None, patch: Any) -> None:
    """The model in status, and an Event when it changes (resolved, or why the bot waits)."""
    if model is None:
        return
    current = (body.get("status") or {}).get("modelUri")
    if model.ready and model.model_uri != current:
        patch.status["modelUri"] = model.model_uri
        kopf.info(body, reason="ModelResolved", message=model.message)
    elif not model.ready:
        if current:
            patch.status["modelUri"] = None  # the run is gone or failed: the trader holds again
        reasons = {c.get("type"): c.get("reason") for c in (body.get("status") or {}).get("conditions") or []}
        if reasons.get("ModelReady") != model.reason:
            kopf.warn(body, reason=model.reason, message=model.message)


async def record_spec_change(
    body: Any, old: dict[str, Any], new: dict[str, Any], settings: OperatorSettings
) -> None:
    """An Event and an audit row say what changed and who wrote it."""
    found = changes.spec_changes(old, new)
    if not found:
        return
    actor = f"k8s:{changes.last_manager(dict(body))}"
    kopf.info(body, reason=changes.reason(found), message=f"{changes.describe(found)} (by {actor})"[:1000])
    before = {path: a for path, (a, _) in found.items()}
    after = {path: b for path, (_, b) in found.items()}
    await asyncio.to_thread(store.audit, settings, actor, body["metadata"]["name"], before, after)


async def refresh_status(body: Any, spec: dict[str, Any], patch: Any, settings: OperatorSettings) -> None:
    name, namespace = body["metadata"]["name"], body["metadata"]["namespace"]
    known = body.get("status") or {}
    applier = Applier()
    (_, model), source, (row, stale) = await asyncio.gather(
        resolve_model(spec, namespace, applier),
        strategy_source.inspect(spec, namespace, applier),
        _trader_state(settings, name),
    )
    failure = strategy_source.trader_failure(row, known.get("traderRolledOut"))
    retrained = model is not None and model.model_uri != known.get("modelUri")
    edited = source.hash != known.get("strategyHash")
    if retrained or edited or (failure is not None) != known.get("strategyHeld", False):
        await apply_bot(body, spec, settings, applier, strategy_failed=failure is not None and not edited)
        if edited:  # a new file: the trader tries again, and an old failure no longer counts
            patch.status["strategyHash"], patch.status["traderRolledOut"] = source.hash, strategy_source.now()
            failure = None
        patch.status["strategyHeld"] = failure is not None
    if model is not None:
        report_model(body, model, patch)
    trader, collector = await asyncio.gather(
        applier.get("Deployment", namespace, f"{name}-trader"),
        applier.get("Deployment", namespace, builders.collector_name(spec)),
    )
    breakers = dict((row or {}).get("breakers") or {})
    patch.status.update(status.trading_summary(row))  # a stale summary keeps its last values
    trader_ready, collector_ready = status.ready(trader), status.ready(collector)
    strategy = report_strategy(body, source, failure, trader_ready)
    failed = status.failed(trader) or strategy["status"] == "False"
    patch.status["phase"] = status.bot_phase(spec, trader_ready, breakers, failed)
    metrics.set_phase("TradingBot", namespace, name, patch.status["phase"])
    summary = status.condition(
        "TradingSummaryStale", stale is not None, "DatabaseUnreadable" if stale else "Fresh", stale or ""
    )
    conditions = status.bot_conditions(
        collector_ready, trader_ready, bool(spec.get("paused")), breakers, model
    )
    patch.status["conditions"] = status.merge_conditions(
        known.get("conditions"), [*conditions, strategy, summary], status.now()
    )


async def _trader_state(settings: OperatorSettings, name: str) -> tuple[dict[str, Any] | None, str | None]:
    """The trader's persisted row (SQLAlchemy is synchronous: off the loop), if there is a
    database — or, when it cannot be read (down, not migrated yet), why, in one line."""
    if not settings.db_url:
        return None, None
    try:
        return await asyncio.to_thread(store.trader_state, settings, name), None
    except Exception as exc:  # the database's many failure types: the status must go on
        return None, store.one_line(exc)
