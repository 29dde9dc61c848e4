"""What the TradingBot handlers do, as async steps on Kopf's loop: apply a bot's children
(concurrently), resolve a modelRef naming a TrainingRun, record spec changes, and compute the
status from the children and the trader's persisted state."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import kopf

from botrader.core import modelref as models
from botrader.core import paramsref, phases
from botrader.operator import builders, changes, collectors, metrics, status, store, strategy_source
from botrader.operator.apply import ApiError, Applier
from botrader.operator.settings import OperatorSettings

Lookup = Callable[[str, str], dict[str, Any] | None]  # (namespace, name) -> a Deployment, cached


def owner_ref(body: Any, controller: bool) -> dict[str, Any]:
    return {
        "apiVersion": body["apiVersion"],
        "kind": body["kind"],
        "name": body["metadata"]["name"],
        "uid": body["metadata"]["uid"],
        "controller": controller,
        "blockOwnerDeletion": True,
    }


async def apply_child(child: dict[str, Any], body: Any, applier: Applier, known: Lookup | None) -> None:
    """A bot's own children have it as their controller; the shared collector has no owner
    (`collectors`: applied when the cache lacks it as built, deleted when no bot needs it)."""
    meta = child["metadata"]
    if child["kind"] == "Deployment" and collectors.is_collector(meta["name"]):
        cached = known(meta["namespace"], meta["name"]) if known is not None else None
        await collectors.ensure(child, cached, applier)
        return
    meta["ownerReferences"] = [owner_ref(body, controller=True)]
    await applier.apply(child)


async def resolve_model(
    spec: dict[str, Any], namespace: str, applier: Applier, mlflow_uri: str = ""
) -> tuple[dict[str, Any], models.Resolution | None]:
    """The spec as the trader should run it: a modelRef naming a TrainingRun becomes that
    run's model URI, an alias URI (models:/NAME@champion) the version it points at now, so a
    promotion rolls the trader (None: nothing to resolve)."""
    ref = models.training_run_ref(spec)
    aliased = models.alias_ref(spec) if mlflow_uri else None
    if ref is not None:
        model = models.resolve(spec, ref, await applier.get("TrainingRun", namespace, ref), namespace)
    elif aliased is not None:
        model = await _follow_alias(mlflow_uri, *aliased)
    else:
        return spec, None
    return (models.with_model(spec, model.model_uri) if model.ready and model.model_uri else spec), model


async def _follow_alias(mlflow_uri: str, name: str, alias: str) -> models.Resolution:
    from botrader.core.mlflow_rest import MlflowRest, MlflowUnavailable

    def read() -> str | None:
        with MlflowRest(mlflow_uri, timeout=10.0) as rest:
            return rest.alias_version(name, alias)

    try:
        return models.resolve_alias(name, alias, await asyncio.to_thread(read))
    except MlflowUnavailable as exc:
        return models.Resolution(False, "MLflowUnavailable", str(exc)[:300])


async def resolve_params(
    spec: dict[str, Any], namespace: str, applier: Applier
) -> tuple[dict[str, Any], paramsref.ParamsResolution | None]:
    """The spec with a finished search's best parameters (None: the bot takes none)."""
    ref = paramsref.optimization_run_ref(spec)
    if ref is None:
        return spec, None
    found = paramsref.resolve(ref, await applier.get("OptimizationRun", namespace, ref), namespace)
    return (paramsref.with_params(spec, found.params) if found.ready else spec), found


async def resolve_references(
    spec: dict[str, Any], namespace: str, applier: Applier, mlflow_uri: str = ""
) -> Resolved:
    """Both references a bot's strategy may hold: the model it trades, the parameters it uses."""
    (with_model, model), (_, params) = await asyncio.gather(
        resolve_model(spec, namespace, applier, mlflow_uri), resolve_params(spec, namespace, applier)
    )
    effective = paramsref.with_params(with_model, params.params) if params and params.ready else with_model
    return effective, model, params


Resolved = tuple[dict[str, Any], models.Resolution | None, paramsref.ParamsResolution | None]


def waiting(model: models.Resolution | None, params: paramsref.ParamsResolution | None) -> bool:
    return (model is not None and not model.ready) or (params is not None and not params.ready)


async def apply_bot(
    body: Any,
    spec: dict[str, Any],
    settings: OperatorSettings,
    applier: Applier,
    *,
    strategy_failed: bool = False,
    known: Lookup | None = None,
) -> tuple[
    dict[str, Any], models.Resolution | None, paramsref.ParamsResolution | None, strategy_source.Source
]:
    """Apply the children; the trader holds at zero replicas while its model or its searched
    parameters are not ready, its strategy file is missing, or its strategy failed to load for
    this rollout."""
    name, namespace = body["metadata"]["name"], body["metadata"]["namespace"]
    (effective, model, params), source = await asyncio.gather(
        resolve_references(spec, namespace, applier, settings.mlflow_uri),
        strategy_source.inspect(spec, namespace, applier),
    )
    hold = waiting(model, params) or source.problem is not None or strategy_failed
    children = builders.bot_children(name, namespace, effective, settings, hold, source.hash)
    await asyncio.gather(*(apply_child(child, body, applier, known) for child in children))
    return effective, model, params, source


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


def report_params(body: Any, params: paramsref.ParamsResolution | None, patch: Any) -> None:
    """The searched parameters in status, and an Event when they change or the bot waits."""
    if params is not None:
        _report(body, patch, params, "searchedParams", params.params, "ParamsReady", "ParamsResolved")


def report_model(body: Any, model: models.Resolution | None, patch: Any) -> None:
    """The model in status, and an Event when it changes (resolved, or why the bot waits)."""
    if model is not None:
        _report(body, patch, model, "modelUri", model.model_uri, "ModelReady", "ModelResolved")


def _report(body: Any, patch: Any, found: Any, field: str, value: Any, condition: str, resolved: str) -> None:
    """What a reference resolved to, in status.`field`; an Event when it changes, and a Warning
    when the bot starts waiting for another reason (the run or search gone, failed, refused)."""
    current = (body.get("status") or {}).get(field)
    if found.ready and value != current:
        patch.status[field] = value
        kopf.info(body, reason=resolved, message=found.message[:1000])
    elif not found.ready:
        if current is not None:
            patch.status[field] = None  # the trader holds again
        reasons = {c.get("type"): c.get("reason") for c in (body.get("status") or {}).get("conditions") or []}
        if reasons.get(condition) != found.reason:
            kopf.warn(body, reason=found.reason, message=found.message[:1000])


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
    try:
        await asyncio.to_thread(store.audit, settings, actor, body["metadata"]["name"], before, after)
    except Exception as exc:  # the database down or not migrated: the change still applies
        kopf.warn(body, reason="AuditFailed", message=f"audit row not written: {store.one_line(exc)}")


async def refresh_status(
    body: Any, spec: dict[str, Any], patch: Any, settings: OperatorSettings, deployments: Lookup
) -> None:
    """The status from the children (read from the operator's watch cache, not the API) and
    the trader's row; only what changed is patched, so a quiet bot costs no API request."""
    name, namespace = body["metadata"]["name"], body["metadata"]["namespace"]
    known = body.get("status") or {}
    applier = Applier()
    (_, model, params), source, (row, stale) = await asyncio.gather(
        resolve_references(spec, namespace, applier, settings.mlflow_uri),
        strategy_source.inspect(spec, namespace, applier),
        _trader_state(settings, name),
    )
    failure = strategy_source.trader_failure(row, known.get("traderRolledOut"))
    retrained = model is not None and model.model_uri != known.get("modelUri")
    researched = params is not None and (params.params if params.ready else None) != known.get(
        "searchedParams"
    )
    edited = source.hash != known.get("strategyHash")
    if retrained or researched or edited or (failure is not None) != known.get("strategyHeld", False):
        failed = failure is not None and not edited
        await apply_bot(body, spec, settings, applier, strategy_failed=failed, known=deployments)
        if edited:  # a new file: the trader tries again, and an old failure no longer counts
            patch.status["strategyHash"], patch.status["traderRolledOut"] = source.hash, strategy_source.now()
            failure = None
        patch.status["strategyHeld"] = failure is not None
    if model is not None:
        report_model(body, model, patch)
    report_params(body, params, patch)
    trader = deployments(namespace, f"{name}-trader")
    collector = deployments(namespace, builders.collector_name(spec))
    breakers = dict((row or {}).get("breakers") or {})
    fresh = status.trading_summary(row)  # a stale summary keeps its last values
    trader_ready, collector_ready = status.ready(trader), status.ready(collector)
    strategy = report_strategy(body, source, failure, trader_ready)
    failed = status.failed(trader) or strategy["status"] == "False"
    fresh["phase"] = status.bot_phase(spec, trader_ready, breakers, failed)
    metrics.set_phase("TradingBot", namespace, name, fresh["phase"])
    summary = status.condition(
        "TradingSummaryStale", stale is not None, "DatabaseUnreadable" if stale else "Fresh", stale or ""
    )
    conditions = status.bot_conditions(
        collector_ready, trader_ready, bool(spec.get("paused")), breakers, model, params
    )
    fresh["conditions"] = status.merge_conditions(
        known.get("conditions"), [*conditions, strategy, summary], status.now()
    )
    patch.status.update({k: v for k, v in fresh.items() if known.get(k) != v})


def followed(body: Any) -> dict[str, Any]:
    """What following the trader and refreshing the status read of a bot, at one
    resourceVersion (`body`: enough of it to apply its children and post its Events)."""
    meta = body["metadata"]
    spec, status = dict(body.get("spec") or {}), dict(body.get("status") or {})
    kept = {k: meta.get(k) for k in ("name", "namespace", "uid", "resourceVersion", "generation")}
    return {
        "name": meta["name"],
        "namespace": meta["namespace"],
        "resourceVersion": meta.get("resourceVersion"),
        "spec": spec,
        "status": status,
        "body": {
            "apiVersion": body.get("apiVersion"),
            "kind": body.get("kind"),
            "metadata": kept,
            "spec": spec,
            "status": status,
        },
    }


async def follow_trader(
    bot: dict[str, Any], trader: dict[str, Any], applier: Applier, collector: dict[str, Any] | None = None
) -> str | None:
    """The bot's phase and TraderReady as soon as its trader Deployment's readiness changes (a
    watch event), instead of at the next status refresh. Breakers and a failed strategy come
    from the bot's own conditions, which the refresh keeps. Returns the new phase, or None
    when nothing changed — or when the bot changed since `bot` was read: the patch carries its
    resourceVersion, so a phase computed from an older spec (the trader scaled to zero by a
    pause the watch has not shown yet) is refused with 409, and the newer bot's own watch
    event follows instead."""
    known = bot.get("status") or {}
    if not known.get("phase"):  # the create handler has not finished: it sets the first phase
        return None
    conditions = {c.get("type"): c for c in known.get("conditions") or []}
    breakers = status.breakers_from(conditions)
    strategy_failed = conditions.get("StrategyReady", {}).get("status") == "False"
    spec, ready = bot.get("spec") or {}, status.ready(trader)
    phase = status.bot_phase(spec, ready, breakers, status.failed(trader) or strategy_failed)
    paused = bool(spec.get("paused"))
    fresh = [status.trader_condition(ready, paused)]
    if not strategy_failed:  # a running trader has loaded its strategy (a failure is the refresh's to say)
        fresh.append(
            status.condition("StrategyReady", True if ready else None, "Loaded" if ready else "NotStarted")
        )
    if collector is not None:  # its readiness rides along: the next refresh then has nothing to say
        collector_ready = status.ready(collector)
        fresh.append(
            status.condition("CollectorReady", collector_ready, status.collector_reason(collector_ready))
        )
        fresh.append(status.degraded_condition(collector_ready, paused, phases.split_breakers(breakers)[1]))

    def same(c: dict[str, Any]) -> bool:
        before = conditions.get(c["type"], {})
        return (before.get("status"), before.get("reason")) == (c["status"], c["reason"])

    if phase == known.get("phase") and all(same(c) for c in fresh):
        return None
    name, namespace = bot["name"], bot["namespace"]
    merged = known.get("conditions")
    for c in fresh:
        merged = status.replace_condition(merged, c, status.now())
    fields = {"phase": phase, "conditions": merged}
    try:
        await applier.patch_status("TradingBot", namespace, name, fields, bot.get("resourceVersion"))
    except ApiError as exc:
        if exc.status == 409:
            return None
        raise
    metrics.set_phase("TradingBot", namespace, name, phase)
    return phase


async def _trader_state(settings: OperatorSettings, name: str) -> tuple[dict[str, Any] | None, str | None]:
    """The trader's persisted row (SQLAlchemy is synchronous: off the loop), if there is a
    database — or, when it cannot be read (down, not migrated yet), why, in one line."""
    if not settings.db_url:
        return None, None
    try:
        return await asyncio.to_thread(store.trader_state, settings, name), None
    except Exception as exc:  # the database's many failure types: the status must go on
        return None, store.one_line(exc)
