"""What the TradingBot handlers do, as async steps on Kopf's loop: apply a bot's children
(concurrently), resolve a modelRef naming a TrainingRun, record spec changes, and compute the
status from the children and the trader's persisted state."""

from __future__ import annotations

import asyncio
from typing import Any

import kopf

from botrader.core import modelref as models
from botrader.operator import builders, changes, metrics, status, store
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
    body: Any, spec: dict[str, Any], settings: OperatorSettings, applier: Applier
) -> tuple[dict[str, Any], models.Resolution | None]:
    """Apply the children; the trader holds at zero replicas while its model is not ready."""
    name, namespace = body["metadata"]["name"], body["metadata"]["namespace"]
    effective, model = await resolve_model(spec, namespace, applier)
    hold = model is not None and not model.ready
    children = builders.bot_children(name, namespace, effective, settings, hold)
    await asyncio.gather(*(apply_child(child, body, applier) for child in children))
    return effective, model


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
    applier = Applier()
    _, model = await resolve_model(spec, namespace, applier)
    if model is not None:
        if model.model_uri != (body.get("status") or {}).get("modelUri"):  # trained, or retrained
            await apply_bot(body, spec, settings, applier)
        report_model(body, model, patch)
    trader, collector, row = await asyncio.gather(
        applier.get("Deployment", namespace, f"{name}-trader"),
        applier.get("Deployment", namespace, builders.collector_name(spec)),
        _trader_state(settings, name),
    )
    breakers = dict((row or {}).get("breakers") or {})
    patch.status.update(status.trading_summary(row))
    trader_ready, collector_ready = status.ready(trader), status.ready(collector)
    patch.status["phase"] = status.bot_phase(spec, trader_ready, breakers, status.failed(trader))
    metrics.set_phase("TradingBot", namespace, name, patch.status["phase"])
    patch.status["conditions"] = status.merge_conditions(
        (body.get("status") or {}).get("conditions"),
        status.bot_conditions(collector_ready, trader_ready, bool(spec.get("paused")), breakers, model),
        status.now(),
    )


async def _trader_state(settings: OperatorSettings, name: str) -> dict[str, Any] | None:
    """The trader's persisted row (SQLAlchemy is synchronous: off the loop), if there is a database."""
    return await asyncio.to_thread(store.trader_state, settings, name) if settings.db_url else None
