"""Kopf handlers: thin — they call one module per resource (tradingbot.py, trainingrun.py,
optimizationrun.py), which apply what the pure builders return, asynchronously on Kopf's loop.

TradingBot: ConfigMap, shared collector Deployment (owned by no bot: `collectors` deletes it
when no bot needs it), trader Deployment (0 replicas when paused or waiting for its model;
rolled by the config-hash annotation), metrics Service, optional backfill Job, all by
server-side apply; one loop for all bots (`refresher`) keeps the status current, and the phase
follows the trader Deployment's watch events. TrainingRun: a RayJob when the
cluster serves KubeRay's CRD (or ray.mode kuberay), else a batch/v1 Job; status follows it,
results come from MLflow. Errors become conditions and Events, never crash loops; Kopf
retries with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import kopf

from botrader.operator import (
    builders,
    collectors,
    metrics,
    optimizationrun,
    refresher,
    status,
    tradingbot,
    trainingrun,
)
from botrader.operator.apply import Applier, close_sessions, load_credentials, pace_requests
from botrader.operator.metrics import RECONCILE_SECONDS, RECONCILES
from botrader.operator.settings import OperatorSettings
from botrader.operator.spec import Bot

GROUP, VERSION = "botrader.io", "v1alpha1"
SETTINGS = OperatorSettings.from_env()
TRADERS = {"app.kubernetes.io/component": "trader", "app.kubernetes.io/managed-by": builders.MANAGED_BY}
COLLECTORS = {"app.kubernetes.io/component": "collector", "app.kubernetes.io/managed-by": builders.MANAGED_BY}


@kopf.on.login()
def login(**_: Any) -> kopf.ConnectionInfo:
    """The credentials the operator's own requests use, so Kopf and they agree."""
    return load_credentials()


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    settings.persistence.finalizer = "botrader.io/finalizer"
    settings.posting.level = 20  # INFO and above become Events
    # Kopf ignores watch events older than its own last patch for this long; past it, it acts
    # on the stale body and runs a handled creation again. On a busy API server (200 bots at
    # once, two cores) the stream lagged more than the default 5 s: every bot was created twice.
    settings.persistence.consistency_timeout = 30
    # what Kopf last handled, kept in status beside the handler's own status fields: one write
    # per handling (in an annotation it was a second request to the main resource per bot)
    settings.persistence.diffbase_storage = kopf.StatusDiffBaseStorage()
    settings.persistence.progress_storage = kopf.StatusProgressStorage()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a log line per API request
    # peering name and priority come from the command line (`botrader operator`): a value set
    # here would override --priority, and two replicas with equal priorities both freeze
    metrics.declare()
    pace_requests(SETTINGS.api_qps, SETTINGS.api_burst)
    # (not Kopf's worker limit: its workers also fill the indices, and a restarted operator
    # whose workers all waited for the indices to fill deadlocked with 300 bots to resume)


@kopf.on.cleanup()
async def close_connections(**_: Any) -> None:
    await refresher.stop()
    await close_sessions()


@kopf.on.create(GROUP, VERSION, "tradingbots")
@kopf.on.update(GROUP, VERSION, "tradingbots", field="spec")
@kopf.on.resume(GROUP, VERSION, "tradingbots")
async def reconcile_bot(
    body: Any,
    patch: Any,
    reason: str,
    deployments_by_name: kopf.Index,
    bots_by_name: kopf.Index,
    old: Any = None,
    **_: Any,
) -> dict:
    bot, known = Bot.from_body(body), cached(deployments_by_name)
    if reason == "resume" and (current := tradingbot.children_current(body, bot, known)):
        return {"configHash": current}  # the operator restarted; nothing changed while it was away
    if old is not None:  # a spec change: an Event and an audit row say what changed and who
        await tradingbot.record_spec_change(body, dict(old), bot.manifest, SETTINGS)
    began = time.perf_counter()
    try:
        async with _applying():  # a burst of new bots queues here, not in the API server
            applied = await tradingbot.apply_bot(bot, SETTINGS, Applier(), known=known, owner=body)
        before = None if old is None else Bot.of(bot.name, bot.namespace, old, bot.collect)
        if before is not None and set(before.collectors) != set(bot.collectors):
            await _collectors_unneeded(bot.namespace, deployments_by_name, bots_by_name)  # the old market's
    except Exception as exc:
        RECONCILES.labels("TradingBot", "error").inc()
        said = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__  # a timeout says ""
        failure = status.condition("Degraded", True, "ReconcileFailed", said[:300])
        patch.status["conditions"] = status.replace_condition(
            body.get("status", {}).get("conditions"), failure, status.now()
        )
        raise kopf.TemporaryError(f"reconcile failed: {said}", delay=15) from exc
    finally:
        RECONCILE_SECONDS.labels("TradingBot").observe(time.perf_counter() - began)
    RECONCILES.labels("TradingBot", "ok").inc()
    patch.status.update(tradingbot.created_status(body, applied, known))
    tradingbot.report_model(body, applied.model, patch)
    tradingbot.report_params(body, applied.params, patch)
    # no Event for a normal creation: it carries nothing the status does not
    return {"configHash": builders.config_hash(applied.bot.manifest)}


_APPLYING: dict[int, asyncio.Semaphore] = {}


def _applying() -> contextlib.AbstractAsyncContextManager[Any]:
    """At most `workers` bots' children applied at once (0: no bound), per event loop."""
    if SETTINGS.workers <= 0:
        return contextlib.nullcontext()
    loop = id(asyncio.get_running_loop())
    if loop not in _APPLYING:
        _APPLYING[loop] = asyncio.Semaphore(SETTINGS.workers)
    return _APPLYING[loop]


def cached(index: kopf.Index) -> tradingbot.Lookup:
    return lambda namespace, name: next(iter(index.get((namespace, name), [])), None)


@kopf.index(GROUP, VERSION, "tradingbots")
def bots_by_name(body: Any, namespace: str, name: str, **_: Any) -> dict:
    """What following a trader needs of its bot, in memory (kept current by the watch)."""
    return {(namespace, name): tradingbot.followed(body)}


@kopf.index("apps", "v1", "deployments", labels={"app.kubernetes.io/managed-by": builders.MANAGED_BY})
def deployments_by_name(namespace: str, name: str, spec: Any, status: Any, meta: Any, **_: Any) -> dict:
    """The operator's Deployments as the watch last saw them: the status refresh reads them
    here instead of asking the API server for two objects per bot per interval, and a bot's
    reconcile sees whether its shared collector is there as built."""
    built = (meta.get("annotations") or {}).get(builders.COLLECTOR_HASH)
    template = ((spec.get("template") or {}).get("metadata") or {}).get("annotations") or {}
    return {
        (namespace, name): {
            "spec": {"replicas": spec.get("replicas", 1)},
            "status": dict(status),
            "hash": built,
            "config": template.get(builders.CONFIG_HASH),
        }
    }


async def _collectors_unneeded(
    namespace: str, deployments: kopf.Index, bots_index: kopf.Index, gone: str | None = None
) -> None:
    """Delete the namespace's collectors no bot there needs (`gone`: a bot just deleted)."""
    names = [name for (ns, name) in deployments if ns == namespace]
    alive = [
        b for store in bots_index.values() for b in store if b["name"] != gone or b["namespace"] != namespace
    ]
    await collectors.remove_unneeded(namespace, names, alive, Applier())


@kopf.on.event("apps", "v1", "deployments", labels=COLLECTORS)
async def keep_collector(
    type: str,
    body: Any,
    name: str,
    namespace: str,
    bots_by_name: kopf.Index,
    deployments_by_name: kopf.Index,
    **_: Any,
) -> None:
    """A collector no bot needs (its last bot was deleted while the operator was down, or
    moved market) goes when the watch shows it: at start, and on any change to it. One that
    went while a bot needs it (deleted by hand, or by a sweep that raced a new bot) comes back.
    A change to one that bots need moves their `CollectorReady` (and phase) now, not at the
    next status refresh: a trader ready before its collectors has no event of its own left."""
    alive = [b for store in bots_by_name.values() for b in store]
    if type != "DELETED":
        if not await collectors.remove_unneeded(namespace, [name], alive, Applier()):
            await tradingbot.follow_collector(alive, namespace, name, dict(body), cached(deployments_by_name))
        return
    found = collectors.needing(alive, namespace, name)
    if found is not None:
        bot, symbol = found
        await collectors.ensure(
            builders.collector_deployment(namespace, bot.spec, SETTINGS, symbol), None, Applier()
        )


@kopf.on.event("apps", "v1", "deployments", labels=TRADERS)
async def follow_trader(
    type: str, body: Any, namespace: str, bots_by_name: kopf.Index, deployments_by_name: kopf.Index, **_: Any
) -> None:
    """A trader Deployment changed (the controller manager rolled it out, a pod became
    ready or crashed): the bot's phase follows now, not at the next status refresh."""
    if type == "DELETED":
        return
    instance = (body["metadata"].get("labels") or {}).get("app.kubernetes.io/instance")
    for entry in bots_by_name.get((namespace, instance), []):
        bot = entry["bot"]
        known = cached(deployments_by_name)
        feeds = [known(namespace, name) for name in bot.collectors] if bot is not None else []
        await tradingbot.follow_trader(entry, dict(body), Applier(), feeds)


@kopf.on.event(GROUP, VERSION, "tradingbots")
async def on_bot_event(
    type: str,
    body: Any,
    namespace: str,
    name: str,
    deployments_by_name: kopf.Index,
    bots_by_name: kopf.Index,
    **_: Any,
) -> None:
    """Watch events need no finalizer: a DELETED one drops the bot's phase series. Any other
    covers the other order of following the trader: it was ready before the create handler
    gave the bot its first phase (Pending), so no Deployment event is left to move it on."""
    refresher.ensure_running(SETTINGS, bots_by_name, lambda: cached(deployments_by_name))
    if type == "DELETED":
        metrics.forget("TradingBot", namespace, name)
        tradingbot.forget(namespace, name)
        await _collectors_unneeded(namespace, deployments_by_name, bots_by_name, gone=name)
        return
    known = cached(deployments_by_name)
    trader = known(namespace, f"{name}-trader")
    if trader is None:
        return
    entry = tradingbot.followed(body)
    feeds = [known(namespace, n) for n in entry["bot"].collectors] if entry["bot"] is not None else []
    await tradingbot.follow_trader(entry, trader, Applier(), feeds)


@kopf.on.create(GROUP, VERSION, "trainingruns")
@kopf.on.resume(GROUP, VERSION, "trainingruns")
async def reconcile_run(body: Any, spec: Any, patch: Any, **_: Any) -> None:
    await _start_job("TrainingRun", trainingrun.create_job, body, spec, patch)


async def _start_job(kind: str, create: Any, body: Any, spec: Any, patch: Any) -> None:
    """A TrainingRun's or OptimizationRun's job created (RayJob or Job), timed and counted."""
    began = time.perf_counter()
    try:
        job = await create(body, dict(spec), SETTINGS)
    except Exception as exc:
        RECONCILES.labels(kind, "error").inc()
        raise kopf.TemporaryError(f"creating the {kind}'s job failed: {exc}", delay=15) from exc
    finally:
        RECONCILE_SECONDS.labels(kind).observe(time.perf_counter() - began)
    RECONCILES.labels(kind, "ok").inc()
    patch.status["phase"] = "Pending"
    patch.status["jobName"] = job["metadata"]["name"]
    kopf.info(body, reason="JobCreated", message=f"{job['kind']} {job['metadata']['name']}")


@kopf.timer(GROUP, VERSION, "trainingruns", interval=SETTINGS.status_interval, initial_delay=1)
async def refresh_run_status(body: Any, spec: Any, patch: Any, **_: Any) -> None:
    await trainingrun.refresh_status(body, dict(spec), patch, SETTINGS)


@kopf.on.event(GROUP, VERSION, "trainingruns")
async def forget_deleted_run(type: str, name: str, namespace: str, **_: Any) -> None:
    """Watch events need no finalizer: a DELETED one drops the run's phase series."""
    if type == "DELETED":
        metrics.forget("TrainingRun", namespace, name)


@kopf.on.create(GROUP, VERSION, "optimizationruns")
@kopf.on.resume(GROUP, VERSION, "optimizationruns")
async def reconcile_search(body: Any, spec: Any, patch: Any, **_: Any) -> None:
    await _start_job("OptimizationRun", optimizationrun.create_job, body, spec, patch)


@kopf.timer(GROUP, VERSION, "optimizationruns", interval=SETTINGS.status_interval, initial_delay=1)
async def refresh_search_status(body: Any, spec: Any, patch: Any, **_: Any) -> None:
    had_verdict = bool((body.get("status") or {}).get("verdict"))
    await optimizationrun.refresh_status(body, dict(spec), patch, SETTINGS)
    if not had_verdict and patch.status.get("verdict"):
        kopf.info(body, reason="CardAvailable", message=patch.status["verdict"])


@kopf.on.event(GROUP, VERSION, "optimizationruns")
async def forget_deleted_search(type: str, name: str, namespace: str, **_: Any) -> None:
    if type == "DELETED":
        metrics.forget("OptimizationRun", namespace, name)


@kopf.on.probe(id="reconciles")
def probe(**_: Any) -> float:
    return sum(s.value for m in RECONCILES.collect() for s in m.samples if s.name.endswith("_total"))
