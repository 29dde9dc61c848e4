"""A TrainingRun's spec as `botrader` command lines — one mapping, used by the operator (the
Job's or RayJob's entrypoint) and by `botrader up` (the same commands, run locally)."""

from __future__ import annotations

from typing import Any

FLAGS = {
    "totalTimesteps": "--timesteps",
    "learningRate": "--learning-rate",
    "numEnvs": "--num-envs",
    "windowSize": "--window-size",
    "windowOverlap": "--window-overlap",
    "feeRate": "--fee",
    "actionDeadzone": "--action-deadzone",
}


def train_command(
    name: str,
    spec: dict[str, Any],
    *,
    ray_address: str | None,
    metrics_port: int | None = None,
    data_path: str | None = None,
    workdir: str = "/tmp",
    tracking_uri: str | None = None,
) -> list[list[str]]:
    """The command lines: build the dataset when the spec names a period, then train (with
    its progress metrics labelled with the TrainingRun's name). `data_path` overrides
    spec.dataset.path (embedded mode resolves it against the manifest's folder)."""
    dataset = spec["dataset"]
    steps = []
    if "path" in dataset:
        data = data_path or dataset["path"]
    else:
        data = f"{workdir}/dataset.parquet"
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
        "--json",
    ]
    if metrics_port is not None:
        train += ["--metrics-port", str(metrics_port)]
    if tracking_uri:
        train += ["--mlflow-uri", tracking_uri]
    if ray_address:
        train += ["--ray-address", ray_address]
    for key, flag in FLAGS.items():
        value = (spec.get("hyperparameters") or {}).get(key)
        if value is not None:
            train += [flag, str(value)]
    steps.append(train)
    return steps
