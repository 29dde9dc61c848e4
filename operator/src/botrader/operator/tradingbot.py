"""What the TradingBot handlers do, as async steps on Kopf's loop: apply a bot's children
(concurrently), resolve a modelRef naming a TrainingRun, record spec changes, and compute the
status from the children and the trader's persisted state."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import kopf

from botrader.core import modelref as models
from botrader.core import paramsref
from botrader.operator import builders, changes, collectors, metrics, status, store, strategy_source
from botrader.operator.apply import ApiError, Applier
from botrader.operator.settings import OperatorSettings
from botrader.operator.spec import Bot, SpecInvalid, collected

Lookup = Callable[[str, str], dict[str, Any] | None]  # (namespace, name) -> a Deployment, cached


async def apply_child(child: dict[str, Any], body: Any, applier: Applier, known: Lookup | None) -> None:
    """A bot's own children have it as their controller; the shared collector has no owner
    (`collectors`: applied when the cache lacks it as built, deleted when no bot needs it)."""
    meta = child["metadata"]
    if child["kind"] == "Deployment" and collectors.is_collector(meta["name"]):
        cached = known(meta["namespace"], meta["name"]) if known is not None else None
        await collectors.ensure(child, cached, applier)
        return
    meta["ownerReferences"] = [builders.owner_ref(body, controller=True)]
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


@dataclass(frozen=True)
class Applied:
    """What applying a bot's children found: the bot as its trader runs it (references
    resolved), the resolutions (None: the bot has no such reference) and its strategy file."""

    bot: Bot
    model: models.Resolution | None
    params: paramsref.ParamsResolution | None
    source: strategy_source.Source


async def apply_bot(
    bot: Bot,
    settings: OperatorSettings,
    applier: Applier,
    *,
    strategy_failed: bool = False,
    known: Lookup | None = None,
    owner: Any,
) -> Applied:
    """Apply the children (`owner`: the body they name as their controller); the trader holds
    at zero replicas while its model or its searched parameters are not ready, its strategy
    file is missing, or its strategy failed to load for this rollout."""
    (manifest, model, params), source = await asyncio.gather(
        resolve_references(bot.manifest, bot.namespace, applier, settings.mlflow_uri),
        strategy_source.inspect(bot.spec, bot.namespace, applier),
    )
    effective = bot.resolved(manifest)
    hold = waiting(model, params) or source.problem is not None or strategy_failed
    children = builders.bot_children(effective, settings, hold, source.hash)
    await asyncio.gather(*(apply_child(child, owner, applier, known) for child in children))
    return Applied(effective, model, params, source)


def children_current(body: Any, bot: Bot, known: Lookup) -> str | None:
    """On a resume (the operator restarted and the bot is unchanged since it last handled it):
    the config hash it last applied, when the watch cache holds the trader Deployment at that
    hash and the bot's collector — then nothing is applied again (a restart with 1,000 settled
    bots re-applied 4,000 children). None: apply as usual (a child went missing meanwhile)."""
    applied = ((body.get("status") or {}).get("reconcile_bot") or {}).get("configHash")
    trader = known(bot.namespace, bot.trader)
    if applied is None or trader is None or trader.get("config") != applied:
        return None
    return applied if all(known(bot.namespace, name) is not None for name in bot.collectors) else None


def cached_inputs(bot: Bot, known: Lookup, **learned: Any) -> status.BotInputs:
    """The phase inputs the spec and the watch cache give (pause, emergency stop, the trader,
    the collector's readiness), with what the caller `learned` (breakers, references, the
    strategy, the summary)."""
    return status.BotInputs(
        paused=bot.spec.paused,
        emergency=bot.spec.emergency_stop,
        trader=known(bot.namespace, bot.trader),
        collector_ready=all(status.ready(known(bot.namespace, name)) for name in bot.collectors),
        **learned,
    )


def created_status(body: Any, applied: Applied, known: Lookup) -> dict[str, Any]:
    """The status a handled creation or spec change writes: phase and every condition as the
    refresh would write them (it then has nothing to add), from the watch cache — a trader
    already running stays Running (Kopf may handle a bot again when its watch lags)."""
    bot, before = applied.bot, body.get("status") or {}
    conditions = status.by_type(before.get("conditions"))
    trader_ready = status.ready(known(bot.namespace, bot.trader))
    found = status.bot_status(
        cached_inputs(
            bot,
            known,
            breakers=status.breakers_from(conditions),  # as the refresh left them
            model=status.model_condition(applied.model),
            params=status.params_condition(applied.params),
            strategy=report_strategy(body, applied.source, None, trader_ready),
            summary=conditions.get("TradingSummaryStale") or status.summary_condition(None),
            warmed=status.warmed_condition(bot.spec.live, None, conditions.get("WarmedUp")),
        )
    )
    # a new spec is a new rollout: a strategy failure before it no longer holds the trader
    return {
        "phase": found.phase,
        "conditions": status.merge_conditions(before.get("conditions"), found.conditions, status.now()),
        "observedGeneration": body["metadata"].get("generation"),
        "traderRolledOut": strategy_source.now(),
        "strategyHash": applied.source.hash,
        "strategyHeld": False,
    }


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
    body: Any, bot: Bot, patch: Any, settings: OperatorSettings, deployments: Lookup
) -> None:
    """The status from the children (read from the operator's watch cache, not the API) and
    the trader's row; only what changed is patched, so a quiet bot costs no API request."""
    known = body.get("status") or {}
    applier = Applier()
    (_, model, params), source, (row, stale) = await asyncio.gather(
        resolve_references(bot.manifest, bot.namespace, applier, settings.mlflow_uri),
        strategy_source.inspect(bot.spec, bot.namespace, applier),
        _trader_state(settings, bot.name),
    )
    failure = strategy_source.trader_failure(row, known.get("traderRolledOut"))
    retrained = model is not None and model.model_uri != known.get("modelUri")
    researched = params is not None and (params.params if params.ready else None) != known.get(
        "searchedParams"
    )
    edited = source.hash != known.get("strategyHash")
    if retrained or researched or edited or (failure is not None) != known.get("strategyHeld", False):
        failed = failure is not None and not edited
        await apply_bot(bot, settings, applier, strategy_failed=failed, known=deployments, owner=body)
        if edited:  # a new file: the trader tries again, and an old failure no longer counts
            patch.status["strategyHash"], patch.status["traderRolledOut"] = source.hash, strategy_source.now()
            failure = None
        patch.status["strategyHeld"] = failure is not None
    if model is not None:
        report_model(body, model, patch)
    report_params(body, params, patch)
    trader_ready = status.ready(deployments(bot.namespace, bot.trader))
    found = status.bot_status(
        cached_inputs(
            bot,
            deployments,
            breakers=dict((row or {}).get("breakers") or {}),
            model=status.model_condition(model),
            params=status.params_condition(params),
            strategy=report_strategy(body, source, failure, trader_ready),
            summary=status.summary_condition(stale),
            warmed=status.warmed_condition(
                bot.spec.live, row, status.by_type(known.get("conditions")).get("WarmedUp")
            ),
        )
    )
    metrics.set_phase("TradingBot", bot.namespace, bot.name, found.phase)
    fresh = status.trading_summary(row)  # a stale summary keeps its last values
    if bot.spec.follows_picks:  # the pairs its trader needs collected (`refresher` applies them)
        collect = ((row or {}).get("state") or {}).get("collect")
        if collect is not None:
            fresh["collect"] = collect
    fresh["phase"] = found.phase
    fresh["conditions"] = status.merge_conditions(known.get("conditions"), found.conditions, status.now())
    patch.status.update({k: v for k, v in fresh.items() if known.get(k) != v})


def followed(body: Any) -> dict[str, Any]:
    """What following the trader and refreshing the status read of a bot, at one
    resourceVersion (`body`: enough of it to apply its children and post its Events; `bot`:
    its typed reading, None when the spec does not parse — its handler says why)."""
    meta = body["metadata"]
    spec, status = dict(body.get("spec") or {}), dict(body.get("status") or {})
    kept = {k: meta.get(k) for k in ("name", "namespace", "uid", "resourceVersion", "generation")}
    try:
        bot: Bot | None = Bot.of(meta["name"], meta["namespace"], spec, collected(body))
    except SpecInvalid:
        bot = None
    return {
        "name": meta["name"],
        "namespace": meta["namespace"],
        "resourceVersion": meta.get("resourceVersion"),
        "bot": bot,
        "status": status,
        "body": {
            "apiVersion": body.get("apiVersion"),
            "kind": body.get("kind"),
            "metadata": kept,
            "spec": spec,
            "status": status,
        },
    }


# the resourceVersion a status patch was last refused at (409), per bot: following the trader
# again at that version would be refused again. While the watch lags the operator's own
# writes (a burst of 1,000 bots), each trader event tried once per stale version: 1.7 requests
# per bot, all refused.
_REFUSED: dict[tuple[str, str], str] = {}


def forget(namespace: str, name: str) -> None:
    """A deleted bot: nothing to remember about it."""
    _REFUSED.pop((namespace, name), None)


def followed_inputs(
    bot: Bot, known: dict[str, Any], trader: dict[str, Any], collectors: list[Any]
) -> status.BotInputs:
    """The phase inputs as far as a trader's watch event tells: its readiness and (when the
    cache holds it) the collector's; breakers, a failed strategy, the references and the
    summary as the bot's own conditions say (the refresh keeps them)."""
    before = status.by_type(known.get("conditions"))
    ready = status.ready(trader)
    strategy = before.get("StrategyReady", {})
    if strategy.get("status") != "False":  # a running trader has loaded it (a failure is the refresh's)
        strategy = status.condition(
            "StrategyReady", True if ready else None, "Loaded" if ready else "NotStarted"
        )
    collector_ready = (  # the cache's word when it holds them all, else the last refresh's
        all(status.ready(c) for c in collectors)
        if collectors and all(c is not None for c in collectors)
        else before.get("CollectorReady", {}).get("status") == "True"
    )
    return status.BotInputs(
        paused=bot.spec.paused,
        emergency=bot.spec.emergency_stop,
        trader=trader,
        collector_ready=collector_ready,
        breakers=status.breakers_from(before),
        model=before.get("ModelReady") or status.model_condition(None),
        params=before.get("ParamsReady") or status.params_condition(None),
        strategy=strategy,
        summary=before.get("TradingSummaryStale") or status.summary_condition(None),
        warmed=status.warmed_condition(bot.spec.live, None, before.get("WarmedUp")),
    )


async def follow_trader(
    entry: dict[str, Any], trader: dict[str, Any], applier: Applier, collectors: list[Any] | None = None
) -> str | None:
    """The bot's phase and conditions as soon as its trader Deployment's readiness changes (a
    watch event), instead of at the next status refresh. Returns the new phase, or None when
    nothing changed — or when the bot changed since `entry` was read: the patch carries its
    resourceVersion, so a phase computed from an older spec (the trader scaled to zero by a
    pause the watch has not shown yet) is refused with 409, and the newer bot's own watch
    event follows instead."""
    known, bot = entry.get("status") or {}, entry.get("bot")
    if not known.get("phase") or bot is None:  # the create handler sets the first phase
        return None
    key, version = (bot.namespace, bot.name), entry.get("resourceVersion")
    if version is not None and _REFUSED.get(key) == version:
        return None  # the server said this version is stale: wait for the newer one's event
    found = status.bot_status(followed_inputs(bot, known, trader, collectors or []))
    if found.same_as(known):
        return None
    merged = status.merge_conditions(known.get("conditions"), found.conditions, status.now())
    fields = {"phase": found.phase, "conditions": merged}
    try:
        await applier.patch_status("TradingBot", bot.namespace, bot.name, fields, version)
    except ApiError as exc:
        if exc.status == 409:
            if version is not None:
                _REFUSED[key] = version
            return None
        raise
    _REFUSED.pop(key, None)
    metrics.set_phase("TradingBot", bot.namespace, bot.name, found.phase)
    return found.phase


async def follow_collector(
    entries: list[dict[str, Any]], namespace: str, name: str, collector: dict[str, Any], known: Lookup
) -> None:
    """Every bot of `namespace` trading on the collector `name` whose trader is ready follows
    it (`collector`: the watch event's body, fresher than the cache). A bot whose trader is not
    ready yet is left to its trader's own event, which reads the collectors then: following it
    here too would cost a second status patch per bot when collectors come up first."""
    for entry in entries:
        bot = entry["bot"]
        if entry["namespace"] != namespace or bot is None or name not in bot.collectors:
            continue
        trader = known(namespace, f"{bot.name}-trader")
        if status.ready(trader):
            feeds = [collector if n == name else known(namespace, n) for n in bot.collectors]
            await follow_trader(entry, trader, Applier(), feeds)


async def _trader_state(settings: OperatorSettings, name: str) -> tuple[dict[str, Any] | None, str | None]:
    """The trader's persisted row (SQLAlchemy is synchronous: off the loop), if there is a
    database — or, when it cannot be read (down, not migrated yet), why, in one line."""
    if not settings.db_url:
        return None, None
    try:
        return await asyncio.to_thread(store.trader_state, settings, name), None
    except Exception as exc:  # the database's many failure types: the status must go on
        return None, store.one_line(exc)
