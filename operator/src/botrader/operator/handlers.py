"""Kopf handlers: thin — they call the pure builders and apply what those return.

TradingBot: ConfigMap, shared collector Deployment (every bot on the market is an owner,
so it goes with the last one), trader Deployment (0 replicas when paused; rolled by the
config-hash annotation), metrics Service, optional backfill Job; a timer keeps the status
(phase, conditions, trading summary) current. TrainingRun: a RayJob when the cluster
serves KubeRay's CRD (or ray.mode kuberay), else a batch/v1 Job; status follows it.
Errors become conditions and Events, never crash loops; Kopf retries with backoff.
"""

from __future__ import annotations

import time
from typing import Any

import kopf

from botrader.operator import builders, changes, metrics, mlflow_results, models, status, training
from botrader.operator.apply import Applier, load_credentials
from botrader.operator.metrics import RECONCILE_SECONDS, RECONCILES
from botrader.operator.settings import OperatorSettings

GROUP, VERSION = "botrader.io", "v1alpha1"
SETTINGS = OperatorSettings.from_env()


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    load_credentials()
    settings.persistence.finalizer = "botrader.io/finalizer"
    settings.posting.level = 20  # INFO and above become Events
    # peering name and priority come from the command line (`botrader operator`): a value set
    # here would override --priority, and two replicas with equal priorities both freeze
    metrics.declare()


def _owner_ref(body: Any, controller: bool) -> dict[str, Any]:
    return {
        "apiVersion": body["apiVersion"],
        "kind": body["kind"],
        "name": body["metadata"]["name"],
        "uid": body["metadata"]["uid"],
        "controller": controller,
        "blockOwnerDeletion": True,
    }


def _with_owner(child: dict[str, Any], body: Any, applier: Applier) -> dict[str, Any]:
    """Own a child; the shared collector keeps every owning bot (none is its controller)."""
    if child["kind"] == "Deployment" and child["metadata"]["name"].startswith("collector-"):
        current = applier.get("Deployment", child["metadata"]["namespace"], child["metadata"]["name"]) or {}
        owners = [
            o
            for o in (current.get("metadata") or {}).get("ownerReferences", [])
            if o.get("uid") != body["metadata"]["uid"]
        ]
        child["metadata"]["ownerReferences"] = [*owners, _owner_ref(body, controller=False)]
        return child
    child["metadata"]["ownerReferences"] = [_owner_ref(body, controller=True)]
    return child


@kopf.on.create(GROUP, VERSION, "tradingbots")
@kopf.on.update(GROUP, VERSION, "tradingbots", field="spec")
@kopf.on.resume(GROUP, VERSION, "tradingbots")
def reconcile_bot(
    body: Any, spec: Any, name: str, namespace: str, patch: Any, old: Any = None, new: Any = None, **_: Any
) -> dict[str, Any]:
    if old is not None:  # an update of the spec: an Event and an audit row say what and who
        _record_spec_change(body, name, dict(old), dict(new or spec))
    began, applier = time.perf_counter(), Applier()
    try:
        effective, model = _apply_bot(body, dict(spec), name, namespace, applier)
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
    phase = "Paused" if spec.get("paused") else ("Halted" if spec.get("emergencyStop") else "Pending")
    patch.status["phase"] = phase
    patch.status["observedGeneration"] = body["metadata"].get("generation")
    _report_model(body, model, patch)
    kopf.info(body, reason="Reconciled", message=f"children applied; phase {phase}")
    return {"configHash": builders.config_hash(effective)}


def _resolve_model(
    spec: dict[str, Any], namespace: str, applier: Applier
) -> tuple[dict[str, Any], models.Resolution | None]:
    """The spec as the trader should run it: a modelRef naming a TrainingRun becomes that
    run's model URI (None: the bot needs no run)."""
    ref = models.training_run_ref(spec)
    if ref is None:
        return spec, None
    model = models.resolve(spec, ref, applier.get("TrainingRun", namespace, ref), namespace)
    return (models.with_model(spec, model.model_uri) if model.ready and model.model_uri else spec), model


def _apply_bot(
    body: Any, spec: dict[str, Any], name: str, namespace: str, applier: Applier
) -> tuple[dict[str, Any], models.Resolution | None]:
    """Apply the children; the trader holds at zero replicas while its model is not ready."""
    effective, model = _resolve_model(spec, namespace, applier)
    hold = model is not None and not model.ready
    for child in builders.bot_children(name, namespace, effective, SETTINGS, hold):
        applier.apply(_with_owner(child, body, applier))
    return effective, model


def _report_model(body: Any, model: models.Resolution | None, patch: Any) -> None:
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


@kopf.timer(GROUP, VERSION, "tradingbots", interval=SETTINGS.status_interval, initial_delay=1)
def refresh_bot_status(body: Any, spec: Any, name: str, namespace: str, patch: Any, **_: Any) -> None:
    applier = Applier()
    _, model = _resolve_model(dict(spec), namespace, applier)
    if model is not None:
        if model.model_uri != (body.get("status") or {}).get("modelUri"):  # trained, or retrained
            _apply_bot(body, dict(spec), name, namespace, applier)
        _report_model(body, model, patch)
    trader = applier.get("Deployment", namespace, f"{name}-trader")
    collector = applier.get("Deployment", namespace, builders.collector_name(dict(spec)))
    row = _trader_state(name)
    breakers = dict((row or {}).get("breakers") or {})
    patch.status.update(status.trading_summary(row))
    trader_ready, collector_ready = status.ready(trader), status.ready(collector)
    patch.status["phase"] = status.bot_phase(dict(spec), trader_ready, breakers, status.failed(trader))
    metrics.set_phase("TradingBot", namespace, name, patch.status["phase"])
    patch.status["conditions"] = status.merge_conditions(
        (body.get("status") or {}).get("conditions"),
        status.bot_conditions(collector_ready, trader_ready, bool(spec.get("paused")), breakers, model),
        status.now(),
    )


_STORE: dict[str, Any] = {}


def _record_spec_change(body: Any, name: str, old: dict[str, Any], new: dict[str, Any]) -> None:
    found = changes.spec_changes(old, new)
    if not found:
        return
    actor = f"k8s:{changes.last_manager(dict(body))}"
    kopf.info(body, reason=changes.reason(found), message=f"{changes.describe(found)} (by {actor})"[:1000])
    store = _trading_store()
    if store is not None:
        before = {path: a for path, (a, _) in found.items()}
        after = {path: b for path, (_, b) in found.items()}
        store.audit(actor, name, "spec", before, after)


def _trading_store() -> Any:
    """The traders' database, when the operator is given it (status summary, audit rows)."""
    if not SETTINGS.db_url:
        return None
    if "store" not in _STORE:
        from botrader.core.db import connect
        from botrader.core.db.trading import TradingStore

        _STORE["store"] = TradingStore(connect(SETTINGS.db_url))
    return _STORE["store"]


def _trader_state(name: str) -> dict[str, Any] | None:
    """The trader's row in the `bots` table, when the operator is given the database."""
    store = _trading_store()
    return store.bot(name) if store is not None else None


@kopf.on.create(GROUP, VERSION, "trainingruns")
@kopf.on.resume(GROUP, VERSION, "trainingruns")
def reconcile_run(body: Any, spec: Any, name: str, namespace: str, patch: Any, **_: Any) -> None:
    applier = Applier()
    kuberay = training.use_kuberay(
        dict(spec), SETTINGS.kuberay, lambda: applier.has_kind("ray.io/v1", "rayjobs")
    )
    build = training.ray_job if kuberay else training.training_job
    job = build(name, namespace, dict(spec), SETTINGS)
    job["metadata"]["ownerReferences"] = [_owner_ref(body, controller=True)]
    applier.apply(job)
    RECONCILES.labels("TrainingRun", "ok").inc()
    patch.status["phase"] = "Pending"
    patch.status["jobName"] = job["metadata"]["name"]
    kopf.info(body, reason="JobCreated", message=f"{job['kind']} {job['metadata']['name']}")


@kopf.timer(GROUP, VERSION, "trainingruns", interval=SETTINGS.status_interval, initial_delay=1)
def refresh_run_status(body: Any, spec: Any, name: str, namespace: str, patch: Any, **_: Any) -> None:
    job_name = (body.get("status") or {}).get("jobName")
    if not job_name:
        return
    applier = Applier()
    job = applier.get("Job", namespace, job_name) or applier.get("RayJob", namespace, job_name)
    phase = status.job_phase(job)
    patch.status["phase"] = phase
    metrics.set_phase("TrainingRun", namespace, name, phase)
    job_status = (job or {}).get("status") or {}
    if job_status.get("startTime"):
        patch.status["startTime"] = job_status["startTime"]
    if job_status.get("completionTime"):
        patch.status["completionTime"] = job_status["completionTime"]
    conditions = status.run_conditions(job, phase)
    if phase == "Succeeded":
        conditions.append(_collect_results(body, dict(spec), name, patch))
    patch.status["conditions"] = status.merge_conditions(
        (body.get("status") or {}).get("conditions"), conditions, status.now()
    )


def _collect_results(body: Any, spec: dict[str, Any], name: str, patch: Any) -> dict[str, Any]:
    """results[] per budget from MLflow, once the job has succeeded (retried each tick until
    MLflow answers)."""
    known = (body.get("status") or {}).get("results")
    if known:
        return status.condition("ResultsAvailable", True, "FromMLflow", f"{len(known)} budget(s)")
    if not SETTINGS.mlflow_uri:
        return status.condition(
            "ResultsAvailable", False, "NoTrackingServer", "the operator has no MLFLOW_TRACKING_URI"
        )
    experiment = (spec.get("mlflow") or {}).get("experiment", "Deep_RL_Trading")
    try:
        results = mlflow_results.fetch_results(SETTINGS.mlflow_uri, experiment, name)
    except mlflow_results.ResultsUnavailable as exc:
        return status.condition("ResultsAvailable", False, "MLflowUnavailable", str(exc)[:300])
    patch.status["results"] = results
    kopf.info(
        body,
        reason="ResultsAvailable",
        message="models for budgets " + ", ".join(f"{r['budget']:g}" for r in results),
    )
    return status.condition("ResultsAvailable", True, "FromMLflow", f"{len(results)} budget(s)")


@kopf.on.event(GROUP, VERSION, "tradingbots")
@kopf.on.event(GROUP, VERSION, "trainingruns")
def forget_deleted(type: str, body: Any, name: str, namespace: str, **_: Any) -> None:
    """Watch events need no finalizer: a DELETED one drops the resource's phase series."""
    if type == "DELETED":
        metrics.forget(body["kind"], namespace, name)


@kopf.on.probe(id="reconciles")
def probe(**_: Any) -> float:
    return sum(s.value for m in RECONCILES.collect() for s in m.samples if s.name.endswith("_total"))
