"""What the TrainingRun handlers do: create the job (RayJob or batch/v1 Job), follow it, and
read the results back from MLflow once it succeeds."""

from __future__ import annotations

import asyncio
from typing import Any

import kopf

from botrader.core.training_spec import DEFAULT_EXPERIMENT
from botrader.operator import builders, metrics, mlflow_results, status, training
from botrader.operator.apply import Applier
from botrader.operator.settings import OperatorSettings


async def create_job(body: Any, spec: dict[str, Any], settings: OperatorSettings) -> dict[str, Any]:
    applier = Applier()
    name, namespace = body["metadata"]["name"], body["metadata"]["namespace"]
    kuberay = training.kuberay_choice(spec, settings.kuberay)
    if kuberay is None:
        kuberay = await applier.has_kind("ray.io/v1", "rayjobs")
    job = (training.ray_job if kuberay else training.training_job)(name, namespace, spec, settings)
    job["metadata"]["ownerReferences"] = [builders.owner_ref(body, controller=True)]
    await applier.apply(job)
    return job


async def refresh_status(body: Any, spec: dict[str, Any], patch: Any, settings: OperatorSettings) -> None:
    name, namespace = body["metadata"]["name"], body["metadata"]["namespace"]
    job_name = (body.get("status") or {}).get("jobName")
    if not job_name:
        return
    applier = Applier()
    job = await applier.get("Job", namespace, job_name) or await applier.get("RayJob", namespace, job_name)
    phase = status.job_phase(job)
    patch.status["phase"] = phase
    metrics.set_phase("TrainingRun", namespace, name, phase)
    job_status = (job or {}).get("status") or {}
    for field in ("startTime", "completionTime"):
        if job_status.get(field):
            patch.status[field] = job_status[field]
    conditions = status.run_conditions(job, phase)
    if phase == "Succeeded":
        conditions.append(await collect_results(body, spec, patch, settings))
    patch.status["conditions"] = status.merge_conditions(
        (body.get("status") or {}).get("conditions"), conditions, status.now()
    )


async def collect_results(
    body: Any, spec: dict[str, Any], patch: Any, settings: OperatorSettings
) -> dict[str, Any]:
    """results[] per budget from MLflow, once the job has succeeded (retried each tick until
    MLflow answers)."""
    known = (body.get("status") or {}).get("results")
    if known:
        return status.condition("ResultsAvailable", True, "FromMLflow", f"{len(known)} budget(s)")
    if not settings.mlflow_uri:
        return status.condition(
            "ResultsAvailable", False, "NoTrackingServer", "the operator has no MLFLOW_TRACKING_URI"
        )
    experiment = (spec.get("mlflow") or {}).get("experiment", DEFAULT_EXPERIMENT)
    try:
        results = await asyncio.to_thread(
            mlflow_results.fetch_results, settings.mlflow_uri, experiment, body["metadata"]["name"]
        )
    except mlflow_results.ResultsUnavailable as exc:
        return status.condition("ResultsAvailable", False, "MLflowUnavailable", str(exc)[:300])
    patch.status["results"] = results
    kopf.info(
        body,
        reason="ResultsAvailable",
        message="models for budgets " + ", ".join(f"{r['budget']:g}" for r in results),
    )
    return status.condition("ResultsAvailable", True, "FromMLflow", f"{len(results)} budget(s)")
