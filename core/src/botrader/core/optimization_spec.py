"""An OptimizationRun's spec as the `botrader optimize` command line — one mapping, used by the
operator (its Job's command) and by anything that runs the same search locally. The scalar
options come from their declaration (`botrader.core.optimize_options`: each field's `spec` path);
the strategy, the dataset, the fixed parameters and the space (inline JSON) are mapped here."""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any

from botrader.core.optimize_options import DEFAULT_EXPERIMENT, OptimizeOptions, flag_of
from botrader.core.training_spec import range_flags

__all__ = ["DEFAULT_EXPERIMENT", "optimize_command", "strategy_reference"]


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
    command = ["botrader", "optimize", "--strategy", strategy_reference(spec), *pair_flags(spec)]
    if "path" in dataset:
        command += ["--data", data_path or dataset["path"]]
    else:
        command += range_flags(spec)
    for key, value in sorted(((spec.get("strategy") or {}).get("params") or {}).items()):
        command += ["--param", f"{key}={json.dumps(value)}"]
    if spec.get("space"):
        command += ["--space", json.dumps(spec["space"], sort_keys=True)]
    for f in fields(OptimizeOptions):
        if "spec" in f.metadata:
            command += _flags(f, spec)
    command += ["--run-name", name, "--json"]
    if tracking_uri:
        command += ["--mlflow-uri", tracking_uri]
    if ray_address:
        command += ["--ray-address", ray_address]
    return command


def pair_flags(spec: dict[str, Any]) -> list[str]:
    """spec.symbol, or a portfolio's pairs (`symbols`, a universe's `candidates`), its universe
    rule and its caps (`--symbols`, `--universe`, `--portfolio`, in the manifests' own keys)."""
    if "symbol" in spec:
        return ["--symbol", spec["symbol"]]
    universe = dict(spec.get("universe") or {})
    pairs = spec.get("symbols") or universe.pop("candidates", None)
    flags = ["--symbols", ",".join(pairs)] if pairs else []
    if universe:
        rule = {"top": universe.pop("topByQuoteVolume"), **universe}
        flags += ["--universe", ",".join(f"{k}={v}" for k, v in rule.items())]
    if spec.get("portfolio"):
        flags += ["--portfolio", ",".join(f"{k}={v}" for k, v in spec["portfolio"].items())]
    return flags


def _flags(f: Any, spec: dict[str, Any]) -> list[str]:
    """The option for one declared field, from where the spec keeps it (absent: nothing, the
    command's default is the CRD's)."""
    value: Any = spec
    for key in f.metadata["spec"]:
        if not isinstance(value, dict) or key not in value:
            return []
        value = value[key]
    if isinstance(value, bool):
        return [flag_of(f)] if value else []
    return [flag_of(f), str(value)]
