"""PPO's hyperparameters are declared once (`Hyperparameters`); the TrainingRun CRD, the
`botrader train` options and the operator's command lines are derived from it and must agree
with it field for field."""

from __future__ import annotations

import re
import typing
from dataclasses import fields

import pytest
import typer

from botrader.core.crds import openapi_schema
from botrader.core.errors import UserError
from botrader.core.training_spec import DEFAULT_EXPERIMENT, hyperparameter_flags, train_command
from botrader.jobs.cli.train import train
from botrader.jobs.train.hyperparameters import CRD_EXCLUDED, Hyperparameters, camel

TYPES = {int: "integer", float: "number", bool: "boolean", str: "string"}


def crd_hyperparameters() -> dict[str, dict]:
    spec = openapi_schema("TrainingRun")["properties"]["spec"]["properties"]
    return spec["hyperparameters"]["properties"]


def test_the_crd_declares_every_hyperparameter_as_the_dataclass_does() -> None:
    hints = typing.get_type_hints(Hyperparameters)
    declared = {camel(f.name): f for f in fields(Hyperparameters) if f.name not in CRD_EXCLUDED}
    schema = crd_hyperparameters()
    assert sorted(schema) == sorted(declared)
    for key, f in declared.items():
        prop, bounds = schema[key], f.metadata
        assert prop["type"] == TYPES[hints[f.name]], key
        default = str(f.default).lower() if isinstance(f.default, bool) else f.default
        assert prop["description"].endswith(f"(default {default})"), key
        low = bounds.get("ge", bounds.get("gt"))
        high = bounds.get("le", bounds.get("lt"))
        assert (prop.get("minimum"), prop.get("exclusiveMinimum", False)) == (low, "gt" in bounds), key
        assert (prop.get("maximum"), prop.get("exclusiveMaximum", False)) == (high, "lt" in bounds), key


TYPE_NAMES = {"integer": "int", "number": "float", "boolean": "bool"}


def test_every_crd_key_becomes_an_option_train_accepts() -> None:
    values = {"int": 3, "float": 0.5, "bool": False}
    spec = {key: values[TYPE_NAMES[p["type"]]] for key, p in crd_hyperparameters().items()}
    flags = hyperparameter_flags(spec)
    app = typer.Typer(add_completion=False)
    app.command()(train)
    command = typer.main.get_command(app)
    ctx = command.make_context("train", ["--data", "x.parquet", *flags])
    chosen = {name: ctx.params[name] for name in (f.name for f in fields(Hyperparameters))}
    for key, value in spec.items():
        snake = next(f.name for f in fields(Hyperparameters) if camel(f.name) == key)
        assert chosen[snake] == value, key


def test_training_run_command_line_and_experiment_default() -> None:
    spec = {
        "symbol": "BTCUSDT",
        "dataset": {"path": "/data/x.parquet"},
        "budgets": [1000.0],
        "hyperparameters": {"totalTimesteps": 4096, "annealLr": False, "entCoef": 0.01},
    }
    [command] = train_command("run-a", spec, ray_address=None)
    assert command[command.index("--experiment") + 1] == DEFAULT_EXPERIMENT
    tail = command[command.index("--json") + 1 :]
    assert tail == ["--no-anneal-lr", "--ent-coef", "0.01", "--total-timesteps", "4096"]
    crd = openapi_schema("TrainingRun")["properties"]["spec"]["properties"]
    assert crd["mlflow"]["properties"]["experiment"]["default"] == DEFAULT_EXPERIMENT


def test_bad_hyperparameters_name_the_value() -> None:
    with pytest.raises(UserError, match=re.escape("bad gamma 1.5: must be <= 1")):
        Hyperparameters(gamma=1.5).validate()
    with pytest.raises(UserError, match=re.escape("bad num_minibatches 3: must divide the batch of 8192")):
        Hyperparameters(num_minibatches=3).validate()
    with pytest.raises(UserError, match=re.escape("bad device 'tpu': expected one of cpu, cuda")):
        Hyperparameters(device="tpu").validate()


def test_a_perpetual_training_run_trains_long_and_short() -> None:
    spec = {
        "symbol": "AVAXUSDT",
        "dataset": {"path": "/data/avax.csv.gz"},
        "budgets": [10000.0],
        "market": "usdm-perp",
        "leverage": 2,
        "funding": {"rate": "0.0001"},
    }
    [command] = train_command("run-p", spec, ray_address=None)
    at = command.index("--market")
    assert command[at : at + 6] == ["--market", "usdm-perp", "--leverage", "2", "--funding-rate", "0.0001"]
    spot = train_command("run-s", {**spec, "market": "spot"}, ray_address=None)[0]
    assert "--market" not in spot  # a spot run's command reads as it always did
