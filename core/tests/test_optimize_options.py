"""`botrader optimize`'s options are declared once (`OptimizeOptions`): the command's options,
the search's request and the OptimizationRun's command line all come from it, and each field an
OptimizationRun sets lives in the CRD where its `spec` path says, with the same type, default
and choices."""

from __future__ import annotations

import typing
from dataclasses import fields

from botrader.core.crds import openapi_schema
from botrader.core.optimization_spec import optimize_command
from botrader.core.optimize_options import OptimizeOptions, flag_of

JSON_TYPES = {int: "integer", float: "number", str: "string", bool: "boolean"}


def test_every_spec_path_is_in_the_crd_with_the_same_type_default_and_choices() -> None:
    schema = openapi_schema("OptimizationRun")["properties"]["spec"]
    hints = typing.get_type_hints(OptimizeOptions)
    mapped = [f for f in fields(OptimizeOptions) if "spec" in f.metadata]
    assert {f.name for f in mapped} >= {
        "trials",
        "folds",
        "objective",
        "max_pbo",
        "walk_forward",
        "experiment",
    }
    for f in mapped:
        node = schema
        for key in f.metadata["spec"]:
            node = node["properties"][key]
        assert node["type"] == JSON_TYPES[hints[f.name]], f.name
        assert node["default"] == f.default, f.name
        if "choices" in f.metadata:
            assert tuple(node["enum"]) == f.metadata["choices"], f.name


def test_a_spec_becomes_the_declared_flags() -> None:
    spec = {
        "symbol": "ETHUSDT",
        "dataset": {"path": "/data/eth.parquet"},
        "strategy": {"type": "simple_rsi", "params": {"period": 9}},
        "trials": 40,
        "fill": "next_open",
        "gate": {"minDsr": 0.7},
        "walkForward": False,
        "mlflow": {"experiment": "eth"},
    }
    command = optimize_command("eth-search", spec, ray_address="none")
    tail = command[command.index("--param") + 2 :]
    assert tail == [
        "--trials", "40", "--fill", "next_open", "--min-dsr", "0.7", "--experiment", "eth",
        "--run-name", "eth-search", "--json", "--ray-address", "none",
    ]  # fmt: skip
    by_name = {f.name: f for f in fields(OptimizeOptions)}
    assert flag_of(by_name["walk_forward"]) == "--walk-forward" and flag_of(by_name["max_pbo"]) == "--max-pbo"
