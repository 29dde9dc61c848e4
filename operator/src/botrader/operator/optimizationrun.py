"""What the OptimizationRun handlers do: create the Job running `botrader optimize` (its
command from `botrader.core.optimization_spec`, one mapping with local runs), follow it, and
carry the search's progress and honesty card from MLflow into the status."""

from __future__ import annotations

import asyncio
from typing import Any

from botrader.core.optimization_spec import DEFAULT_EXPERIMENT, optimize_command
from botrader.operator import builders, metrics, mlflow_results, status
from botrader.operator.apply import Applier
from botrader.operator.settings import OperatorSettings
from botrader.operator.training import batch_job, kuberay_choice, ray_cluster_job

KIND = "OptimizationRun"


def search_job(name: str, namespace: str, spec: dict[str, Any], settings: OperatorSettings) -> dict[str, Any]:
    """A batch/v1 Job: Ray Tune on a local Ray inside the pod."""
    steps = [optimize_command(name, spec, ray_address=None)]
    return batch_job(f"{name}-search", name, "optimizer", namespace, steps, spec.get("resources"), settings)


def search_ray_job(
    name: str, namespace: str, spec: dict[str, Any], settings: OperatorSettings
) -> dict[str, Any]:
    """A KubeRay RayJob: Ray Tune's trials spread over spec.ray.workers worker pods."""
    steps = [optimize_command(name, spec, ray_address="auto")]
    workers = int((spec.get("ray") or {}).get("workers", 2))
    return ray_cluster_job(f"{name}-search", name, "optimizer", namespace, steps, workers, settings)


async def create_job(body: Any, spec: dict[str, Any], settings: OperatorSettings) -> dict[str, Any]:
    name, namespace = body["metadata"]["name"], body["metadata"]["namespace"]
    applier = Applier()
    kuberay = kuberay_choice(spec, settings.kuberay)
    if kuberay is None:
        kuberay = await applier.has_kind("ray.io/v1", "rayjobs")
    job = (search_ray_job if kuberay else search_job)(name, namespace, spec, settings)
    job["metadata"]["ownerReferences"] = [builders.owner_ref(body, controller=True)]
    await applier.apply(job)
    return job


async def refresh_status(body: Any, spec: dict[str, Any], patch: Any, settings: OperatorSettings) -> None:
    name, namespace = body["metadata"]["name"], body["metadata"]["namespace"]
    current = body.get("status") or {}
    if not current.get("jobName"):
        return
    applier = Applier()
    job = await applier.get("Job", namespace, current["jobName"]) or await applier.get(
        "RayJob", namespace, current["jobName"]
    )
    phase = status.job_phase(job)
    metrics.set_phase(KIND, namespace, name, phase)
    changes: dict[str, Any] = {"phase": phase, "trialsTotal": int(spec.get("trials", 100))}
    job_status = (job or {}).get("status") or {}
    for field in ("startTime", "completionTime"):
        if job_status.get(field):
            changes[field] = job_status[field]
    conditions = status.run_conditions(job, phase)
    if current.get("verdict") and phase == "Succeeded":  # settled: MLflow has nothing new
        conditions.append(status.condition("CardAvailable", True, "FromMLflow", current["verdict"][:300]))
    elif phase != "Pending":
        card, condition = await _from_mlflow(name, spec, settings)
        changes.update(card)
        conditions.append(condition)
    done = changes.get("trialsDone", current.get("trialsDone", 0))
    changes["progress"] = f"{done}/{changes['trialsTotal']}"
    changes["conditions"] = status.merge_conditions(current.get("conditions"), conditions, status.now())
    for key, value in changes.items():
        if current.get(key) != value:
            patch.status[key] = value  # a settled run costs no request


async def _from_mlflow(
    name: str, spec: dict[str, Any], settings: OperatorSettings
) -> tuple[dict[str, Any], Any]:
    if not settings.mlflow_uri:
        reason = "the operator has no MLFLOW_TRACKING_URI"
        return {}, status.condition("CardAvailable", False, "NoTrackingServer", reason)
    experiment = (spec.get("mlflow") or {}).get("experiment", DEFAULT_EXPERIMENT)
    try:
        found = await asyncio.to_thread(mlflow_results.fetch_search, settings.mlflow_uri, experiment, name)
    except mlflow_results.ResultsUnavailable as exc:
        return {}, status.condition("CardAvailable", False, "MLflowUnavailable", str(exc)[:300])
    finished = found.pop("finished")
    if finished and "verdict" in found:
        return found, status.condition("CardAvailable", True, "FromMLflow", found["verdict"][:300])
    return found, status.condition(
        "CardAvailable", False, "Searching", f"{found.get('trialsDone', 0)} trials done"
    )
