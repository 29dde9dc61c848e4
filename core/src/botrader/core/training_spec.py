"""A TrainingRun's spec as `botrader` command lines — one mapping, used by the operator (the
Job's or RayJob's entrypoint) and by `botrader up` (the same commands, run locally)."""

from __future__ import annotations

import re
from typing import Any

DEFAULT_EXPERIMENT = "Deep_RL_Trading"  # MLflow experiment of TrainingRuns (the CRD's default too)


def hyperparameter_flags(hyperparameters: dict[str, Any]) -> list[str]:
    """spec.hyperparameters → `botrader train` options, by name: the CRD's camelCase keys are
    the training dataclass's fields (a test holds them equal), `learningRate` → `--learning-rate`,
    booleans as `--anneal-lr` / `--no-anneal-lr`."""
    flags = []
    for key, value in sorted(hyperparameters.items()):
        name = re.sub(r"(?<!^)(?=[A-Z])", "-", key).lower()
        if isinstance(value, bool):
            flags.append(f"--{name}" if value else f"--no-{name}")
        else:
            flags += [f"--{name}", str(value)]
    return flags


def market_flags(spec: dict[str, Any]) -> list[str]:
    """spec.market, spec.leverage and spec.funding.rate as `botrader train` options (none on
    spot: the command reads as it always did)."""
    market = spec.get("market", "spot")
    if market == "spot":
        return []
    rate = (spec.get("funding") or {}).get("rate")
    flags = ["--market", market, "--leverage", str(spec.get("leverage", 1))]
    return flags + (["--funding-rate", str(rate)] if rate is not None else [])


def period_flags(spec: dict[str, Any]) -> list[str]:
    """spec.symbol, spec.interval and spec.dataset's period as command options (a TrainingRun's
    dataset build, an OptimizationRun's search over the database)."""
    return ["--symbol", spec["symbol"], *range_flags(spec)]


def range_flags(spec: dict[str, Any]) -> list[str]:
    """spec.interval and spec.dataset's period (the database's candles) as command options."""
    dataset = spec["dataset"]
    return ["--interval", spec.get("interval", "1m"), "--start", dataset["start"], "--end", dataset["end"]]


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
        steps.append(["botrader", "dataset", "build", *period_flags(spec), "--out", data])
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
        (spec.get("mlflow") or {}).get("experiment", DEFAULT_EXPERIMENT),
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
    train += market_flags(spec)
    train += hyperparameter_flags(spec.get("hyperparameters") or {})
    steps.append(train)
    return steps
