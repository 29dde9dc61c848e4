"""Builders for a TrainingRun: a KubeRay RayJob (when the cluster has KubeRay) or a
batch/v1 Job running `botrader train` with a local Ray inside the pod."""

from __future__ import annotations

import shlex
from typing import Any

from botrader.operator.builders import _env, _pod, labels
from botrader.operator.settings import OperatorSettings

FLAGS = {
    "totalTimesteps": "--timesteps",
    "learningRate": "--learning-rate",
    "numEnvs": "--num-envs",
    "windowSize": "--window-size",
    "windowOverlap": "--window-overlap",
    "feeRate": "--fee",
    "actionDeadzone": "--action-deadzone",
}


TRAINING_METRICS_PORT = 9104


def train_command(name: str, spec: dict[str, Any], ray_address: str | None) -> list[list[str]]:
    """The shell steps: build the dataset when the spec names a period, then train (serving
    its progress metrics, labelled with the TrainingRun's name, on the metrics port)."""
    dataset = spec["dataset"]
    steps = []
    if "path" in dataset:
        data = dataset["path"]
    else:
        data = "/tmp/dataset.parquet"
        steps.append(
            [
                "botrader",
                "dataset",
                "build",
                "--symbol",
                spec["symbol"],
                "--interval",
                spec.get("interval", "1m"),
                "--start",
                dataset["start"],
                "--end",
                dataset["end"],
                "--out",
                data,
            ]
        )
    train = [
        "botrader",
        "train",
        "--data",
        data,
        "--budgets",
        ",".join(f"{b:g}" for b in spec.get("budgets", [])),
        "--symbol",
        spec["symbol"],
        "--interval",
        spec.get("interval", "1m"),
        "--experiment",
        (spec.get("mlflow") or {}).get("experiment", "Deep_RL_Trading"),
        "--seed",
        str(spec.get("seed", 1)),
        "--run-name",
        name,
        "--metrics-port",
        str(TRAINING_METRICS_PORT),
        "--json",
    ]
    if ray_address:
        train += ["--ray-address", ray_address]
    for key, flag in FLAGS.items():
        value = (spec.get("hyperparameters") or {}).get(key)
        if value is not None:
            train += [flag, str(value)]
    steps.append(train)
    return steps


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


def training_job(
    name: str, namespace: str, spec: dict[str, Any], settings: OperatorSettings
) -> dict[str, Any]:
    template = _pod(
        f"{name}-train",
        "trainer",
        name,
        settings.jobs_image,
        [],
        None,
        _env(settings, False),
        restart="Never",
    )
    container = template["spec"]["containers"][0]
    container["command"] = ["sh", "-c", _shell(train_command(name, spec, None))]  # a local Ray in the pod
    container.pop("args")
    container["ports"] = [{"name": "metrics", "containerPort": TRAINING_METRICS_PORT}]
    container["resources"] = spec.get("resources") or {
        "requests": {"cpu": "2", "memory": "4Gi"},
        "limits": {"memory": "8Gi"},
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": f"{name}-train", "namespace": namespace, "labels": labels(name, "trainer")},
        "spec": {"backoffLimit": 1, "ttlSecondsAfterFinished": 7 * 86400, "template": template},
    }


def ray_job(name: str, namespace: str, spec: dict[str, Any], settings: OperatorSettings) -> dict[str, Any]:
    """KubeRay RayJob: a Ray cluster for the run, torn down when the job finishes."""
    head = _pod(f"{name}-head", "ray-head", name, settings.jobs_image, [], None, _env(settings, False))
    worker = _pod(f"{name}-worker", "ray-worker", name, settings.jobs_image, [], None, _env(settings, False))
    for template in (head, worker):
        template["spec"]["containers"][0].pop("args")
    # the driver runs on the head and serves the run's training metrics there
    head["spec"]["containers"][0]["ports"] = [{"name": "metrics", "containerPort": TRAINING_METRICS_PORT}]
    workers = max(1, len(spec.get("budgets", [])) // 2)
    return {
        "apiVersion": "ray.io/v1",
        "kind": "RayJob",
        "metadata": {"name": f"{name}-train", "namespace": namespace, "labels": labels(name, "trainer")},
        "spec": {
            "entrypoint": _shell(train_command(name, spec, "auto")),
            "shutdownAfterJobFinishes": True,
            "ttlSecondsAfterFinished": 3600,
            "backoffLimit": 1,
            "submissionMode": "K8sJobMode",
            "rayClusterSpec": {
                "headGroupSpec": {"rayStartParams": {"dashboard-host": "0.0.0.0"}, "template": head},
                "workerGroupSpecs": [
                    {
                        "groupName": "trainers",
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
