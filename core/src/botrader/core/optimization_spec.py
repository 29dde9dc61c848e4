"""An OptimizationRun's spec as the `botrader optimize` command line — one mapping, used by the
operator (its Job's command) and by anything that runs the same search locally. The spec's
fields are the command's options; the space travels inline as JSON."""

from __future__ import annotations

import json
from typing import Any

from botrader.core.training_spec import period_flags

DEFAULT_EXPERIMENT = "botrader-optimize"  # the CRD's default too


def strategy_reference(spec: dict[str, Any]) -> str:
    strategy = spec.get("strategy") or {}
    kind = strategy.get("type", "simple_rsi")
    return strategy["ref"] if kind == "custom" else kind


def optimize_command(
    name: str,
    spec: dict[str, Any],
    *,
    ray_address: str | None,
    data_path: str | None = None,
    tracking_uri: str | None = None,
) -> list[str]:
    """The command line; candles from spec.dataset.path (`data_path` overrides it) or from the
    database ($BOTRADER_DB_URL) over spec.dataset's period."""
    dataset = spec["dataset"]
    command = ["botrader", "optimize", "--strategy", strategy_reference(spec)]
    if "path" in dataset:
        command += ["--symbol", spec["symbol"], "--data", data_path or dataset["path"]]
    else:
        command += period_flags(spec)
    for key, value in sorted(((spec.get("strategy") or {}).get("params") or {}).items()):
        command += ["--param", f"{key}={json.dumps(value)}"]
    if spec.get("space"):
        command += ["--space", json.dumps(spec["space"], sort_keys=True)]
    for option in ("trials", "folds", "objective", "holdout", "embargo", "fee", "fill", "seed"):
        if option in spec:
            command += [f"--{option}", str(spec[option])]
    gate = spec.get("gate") or {}
    for key, option in (("maxPbo", "--max-pbo"), ("minDsr", "--min-dsr")):
        if key in gate:
            command += [option, str(gate[key])]
    if spec.get("walkForward"):
        command.append("--walk-forward")
    command += ["--experiment", (spec.get("mlflow") or {}).get("experiment", DEFAULT_EXPERIMENT)]
    command += ["--run-name", name, "--json"]
    if tracking_uri:
        command += ["--mlflow-uri", tracking_uri]
    if ray_address:
        command += ["--ray-address", ray_address]
    return command
