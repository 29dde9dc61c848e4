"""Builders for a TrainingRun: a KubeRay RayJob (when the cluster has KubeRay) or a
batch/v1 Job running `botrader train` with a local Ray inside the pod."""

from __future__ import annotations

import shlex
from typing import Any

from botrader.core.training_spec import train_command
from botrader.operator.builders import _env, _pod, labels
from botrader.operator.settings import OperatorSettings

TRAINING_METRICS_PORT = 9104


def kuberay_choice(spec: dict[str, Any], installed: str) -> bool | None:
    """RayJob or Job: the spec's `ray.mode` decides, then the installation (the chart grants
    RayJob rights only with kuberay enabled); None: ask whether the cluster serves the CRD."""
    mode = (spec.get("ray") or {}).get("mode", "auto")
    if mode != "auto":
        return mode == "kuberay"
    if installed != "auto":
        return installed == "enabled"
    return None


def _shell(steps: list[list[str]]) -> str:
    return " && ".join(shlex.join(step) for step in steps)


def batch_job(
    job_name: str,
    instance: str,
    component: str,
    namespace: str,
    steps: list[list[str]],
    resources: dict[str, Any] | None,
    settings: OperatorSettings,
    metrics_port: int | None = None,
) -> dict[str, Any]:
    """A batch/v1 Job of the jobs image running `steps` with a local Ray in its pod (what a
    TrainingRun or an OptimizationRun becomes without KubeRay)."""
    template = _pod(
        job_name, component, instance, settings.jobs_image, [], None, _env(settings, False), restart="Never"
    )
    container = template["spec"]["containers"][0]
    container["command"] = ["sh", "-c", _shell(steps)]
    container.pop("args")
    if metrics_port is not None:
        container["ports"] = [{"name": "metrics", "containerPort": metrics_port}]
    container["resources"] = resources or {
        "requests": {"cpu": "2", "memory": "4Gi"},
        "limits": {"memory": "8Gi"},
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": job_name, "namespace": namespace, "labels": labels(instance, component)},
        "spec": {"backoffLimit": 1, "ttlSecondsAfterFinished": 7 * 86400, "template": template},
    }


def training_job(
    name: str, namespace: str, spec: dict[str, Any], settings: OperatorSettings
) -> dict[str, Any]:
    steps = train_command(name, spec, ray_address=None, metrics_port=TRAINING_METRICS_PORT)
    return batch_job(
        f"{name}-train",
        name,
        "trainer",
        namespace,
        steps,
        spec.get("resources"),
        settings,
        TRAINING_METRICS_PORT,
    )


def ray_job(name: str, namespace: str, spec: dict[str, Any], settings: OperatorSettings) -> dict[str, Any]:
    """KubeRay RayJob for a TrainingRun: a Ray cluster for the run, torn down when it finishes."""
    steps = train_command(name, spec, ray_address="auto", metrics_port=TRAINING_METRICS_PORT)
    workers = max(1, len(spec.get("budgets", [])) // 2)
    return ray_cluster_job(
        f"{name}-train", name, "trainer", namespace, steps, workers, settings, TRAINING_METRICS_PORT
    )


def ray_cluster_job(
    job_name: str,
    name: str,
    component: str,
    namespace: str,
    steps: list[list[str]],
    workers: int,
    settings: OperatorSettings,
    metrics_port: int | None = None,
) -> dict[str, Any]:
    """A KubeRay RayJob running `steps` on the head, with `workers` worker pods (what a
    TrainingRun or an OptimizationRun becomes where KubeRay is served)."""
    head = _pod(f"{name}-head", "ray-head", name, settings.jobs_image, [], None, _env(settings, False))
    worker = _pod(f"{name}-worker", "ray-worker", name, settings.jobs_image, [], None, _env(settings, False))
    for template in (head, worker):
        template["spec"]["containers"][0].pop("args")
    if metrics_port is not None:  # the driver runs on the head and serves its metrics there
        head["spec"]["containers"][0]["ports"] = [{"name": "metrics", "containerPort": metrics_port}]
    return {
        "apiVersion": "ray.io/v1",
        "kind": "RayJob",
        "metadata": {"name": job_name, "namespace": namespace, "labels": labels(name, component)},
        "spec": {
            "entrypoint": _shell(steps),
            "shutdownAfterJobFinishes": True,
            "ttlSecondsAfterFinished": 3600,
            "backoffLimit": 1,
            "submissionMode": "K8sJobMode",
            "rayClusterSpec": {
                "headGroupSpec": {"rayStartParams": {"dashboard-host": "0.0.0.0"}, "template": head},
                "workerGroupSpecs": [
                    {
                        "groupName": f"{component}s",
                        "replicas": workers,
                        "minReplicas": workers,
                        "maxReplicas": workers,
                        "rayStartParams": {},
                        "template": worker,
                    }
                ],
            },
        },
    }
