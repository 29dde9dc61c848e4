"""Kopf handlers: thin — they call the pure builders (via bots.py / runs.py) and apply what
those return, asynchronously on Kopf's loop.

TradingBot: ConfigMap, shared collector Deployment (every bot on the market is an owner,
so it goes with the last one), trader Deployment (0 replicas when paused or waiting for its
model; rolled by the config-hash annotation), metrics Service, optional backfill Job; a timer
keeps the status (phase, conditions, trading summary) current. TrainingRun: a RayJob when the
cluster serves KubeRay's CRD (or ray.mode kuberay), else a batch/v1 Job; status follows it,
results come from MLflow. Errors become conditions and Events, never crash loops; Kopf
retries with backoff.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import kopf

from botrader.core.phases import bot_phase
from botrader.operator import bots, builders, metrics, runs, status, strategy_source
from botrader.operator.apply import Applier, close_sessions, load_credentials
from botrader.operator.metrics import RECONCILE_SECONDS, RECONCILES
from botrader.operator.settings import OperatorSettings

GROUP, VERSION = "botrader.io", "v1alpha1"
SETTINGS = OperatorSettings.from_env()


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    load_credentials()
    settings.persistence.finalizer = "botrader.io/finalizer"
    settings.posting.level = 20  # INFO and above become Events
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a log line per API request
    # peering name and priority come from the command line (`botrader operator`): a value set
    # here would override --priority, and two replicas with equal priorities both freeze
    metrics.declare()


@kopf.on.cleanup()
async def close_connections(**_: Any) -> None:
    await close_sessions()


@kopf.on.create(GROUP, VERSION, "tradingbots")
@kopf.on.update(GROUP, VERSION, "tradingbots", field="spec")
@kopf.on.resume(GROUP, VERSION, "tradingbots")
async def reconcile_bot(body: Any, spec: Any, patch: Any, old: Any = None, new: Any = None, **_: Any) -> dict:
    if old is not None:  # an update of the spec
        await bots.record_spec_change(body, dict(old), dict(new or spec), SETTINGS)
    began = time.perf_counter()
    try:
        effective, model, source = await bots.apply_bot(body, dict(spec), SETTINGS, Applier())
    except Exception as exc:
        RECONCILES.labels("TradingBot", "error").inc()
        patch.status["conditions"] = status.merge_conditions(
            body.get("status", {}).get("conditions"),
            [status.condition("Degraded", True, "ReconcileFailed", str(exc)[:300])],
            status.now(),
        )
        raise kopf.TemporaryError(f"reconcile failed: {exc}", delay=15) from exc
    finally:
        RECONCILE_SECONDS.labels("TradingBot").observe(time.perf_counter() - began)
    RECONCILES.labels("TradingBot", "ok").inc()
    phase = bot_phase(paused=bool(spec.get("paused")), halted=bool(spec.get("emergencyStop")), running=False)
    patch.status["phase"] = phase
    patch.status["observedGeneration"] = body["metadata"].get("generation")
    # a new spec is a new rollout: a strategy failure before it no longer holds the trader
    patch.status["traderRolledOut"], patch.status["strategyHash"] = strategy_source.now(), source.hash
    patch.status["strategyHeld"] = False
    bots.report_model(body, model, patch)
    kopf.info(body, reason="Reconciled", message=f"children applied; phase {phase}")
    return {"configHash": builders.config_hash(effective)}


@kopf.timer(GROUP, VERSION, "tradingbots", interval=SETTINGS.status_interval, initial_delay=1)
async def refresh_bot_status(body: Any, spec: Any, patch: Any, **_: Any) -> None:
    await bots.refresh_status(body, dict(spec), patch, SETTINGS)


@kopf.on.create(GROUP, VERSION, "trainingruns")
@kopf.on.resume(GROUP, VERSION, "trainingruns")
async def reconcile_run(body: Any, spec: Any, patch: Any, **_: Any) -> None:
    began = time.perf_counter()
    try:
        job = await runs.create_job(body, dict(spec), SETTINGS)
    except Exception as exc:
        RECONCILES.labels("TrainingRun", "error").inc()
        raise kopf.TemporaryError(f"creating the training job failed: {exc}", delay=15) from exc
    finally:
        RECONCILE_SECONDS.labels("TrainingRun").observe(time.perf_counter() - began)
    RECONCILES.labels("TrainingRun", "ok").inc()
    patch.status["phase"] = "Pending"
    patch.status["jobName"] = job["metadata"]["name"]
    kopf.info(body, reason="JobCreated", message=f"{job['kind']} {job['metadata']['name']}")


@kopf.timer(GROUP, VERSION, "trainingruns", interval=SETTINGS.status_interval, initial_delay=1)
async def refresh_run_status(body: Any, spec: Any, patch: Any, **_: Any) -> None:
    await runs.refresh_status(body, dict(spec), patch, SETTINGS)


@kopf.on.event(GROUP, VERSION, "tradingbots")
@kopf.on.event(GROUP, VERSION, "trainingruns")
async def forget_deleted(type: str, body: Any, name: str, namespace: str, **_: Any) -> None:
    """Watch events need no finalizer: a DELETED one drops the resource's phase series."""
    if type == "DELETED":
        metrics.forget(body["kind"], namespace, name)


@kopf.on.probe(id="reconciles")
def probe(**_: Any) -> float:
    return sum(s.value for m in RECONCILES.collect() for s in m.samples if s.name.endswith("_total"))
