"""What a search is given and how a trial is scored: spaces checked against the strategy
before anything runs, objectives on hand-computed returns, the split with its embargo."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from botrader.core.engine.engine import EngineConfig
from botrader.core.errors import UserError
from botrader.core.research import objective, space
from botrader.core.strategy.library import RsiSma, SimpleRsi


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "space.yaml"
    path.write_text(text)
    return path


def test_the_declared_space_is_each_params_search() -> None:
    declared = space.declared(SimpleRsi)
    assert declared == {
        "oversold": space.Dimension("oversold", "float", 20.0, 30.0),
        "overbought": space.Dimension("overbought", "float", 70.0, 80.0),
    }
    assert space.declared(RsiSma)["sma_period"] == space.Dimension("sma_period", "choice", choices=(100, 200))
    assert "oversold" not in space.declared(SimpleRsi, fixed={"oversold": 25})


def test_a_space_file_widens_and_adds_dimensions(tmp_path: Path) -> None:
    path = write(tmp_path, "period: {low: 7, high: 28}\noverbought: [65, 75]\n")
    found = space.from_file(SimpleRsi, path)
    assert found["period"] == space.Dimension("period", "int", 7.0, 28.0)
    assert found["overbought"].choices == (65.0, 75.0)
    assert found["oversold"].kind == "float"  # the declared one stays
    assert found["period"].describe() == "[7, 28]"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("periods: {low: 7, high: 28}", "simple_rsi has no parameter 'periods'"),
        ("oversold: {low: -5, high: 30}", "oversold=-5"),
        ("period: {low: 7.5, high: 28}", "expected a whole number"),
        ("period: {low: 28, high: 7}", "low 28 must be below high 7"),
        ("period: {low: 7}", "must be {low: A, high: B[, log: true]}"),
        ("period: []", "lists no choices"),
        ("oversold: {low: 0, high: 30, log: true}", "log: true needs low > 0"),
        ("- period", "expected a mapping"),
        ("period: {low: [", "bad --space"),
    ],
)
def test_a_bad_space_is_one_line_naming_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(UserError) as caught:
        space.from_file(SimpleRsi, write(tmp_path, text))
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_nothing_to_search_is_refused() -> None:
    empty = space.declared(SimpleRsi, fixed={"oversold": 25, "overbought": 75})
    with pytest.raises(UserError, match="declares nothing to search"):
        space.check(SimpleRsi, empty)


def test_objectives_on_hand_computed_returns() -> None:
    r = np.array([0.01, -0.02, 0.03, 0.0])
    mean, std = 0.005, math.sqrt((0.005**2 + 0.025**2 + 0.025**2 + 0.005**2) / 3)
    assert objective.score(r, "sharpe") == pytest.approx(mean / std)
    assert objective.score(r, "sortino") == pytest.approx(mean / math.sqrt(0.02**2 / 4))
    growth = 1.01 * 0.98 * 1.03 * 1.0
    assert objective.score(r, "return") == pytest.approx(growth - 1)
    assert objective.score(r, "calmar") == pytest.approx((growth - 1) / 0.02)  # worst fall: 1.01 → 0.9898
    flat = np.zeros(10)
    assert [objective.score(flat, o) for o in objective.OBJECTIVES] == [0.0, 0.0, 0.0, 0.0]
    assert objective.score(np.array([0.01, 0.02, 0.01]), "calmar") is None  # no drawdown to divide by
    with pytest.raises(UserError, match="bad --objective 'profit'"):
        objective.score(r, "profit")


def frame(n: int) -> pd.DataFrame:
    close = 100 + np.sin(np.arange(n) / 30.0) * 5
    times = np.arange(n, dtype=np.int64) * 60_000 + 1_748_736_000_000
    return pd.DataFrame(
        {
            "open_time": times,
            "open": close,
            "high": close + 0.5,
            "low": close - 0.5,
            "close": close,
            "volume": 1.0,
        }
    )


def test_the_split_keeps_an_embargo_between_search_and_held_out() -> None:
    split = objective.split(frame(4000), holdout=0.25, embargo=60)
    assert (split.cut, split.start, split.embargo, len(split.search)) == (3000, 3060, 60, 3000)
    tail, lead = split.held_out(warmup=100)
    assert lead == 100 and len(tail) == 1040
    assert int(tail["open_time"].iloc[lead]) == int(frame(4000)["open_time"].iloc[3060])
    for bad, message in [
        ({"holdout": 0.95, "embargo": 60}, "bad --holdout 0.95"),
        ({"holdout": 0.25, "embargo": -1}, "bad --embargo -1"),
        ({"holdout": 0.25, "embargo": 950}, "too few candles"),
    ]:
        with pytest.raises(UserError, match=message):
            objective.split(frame(4000), **bad)


def test_a_trial_is_one_backtest_scored_on_contiguous_folds() -> None:
    data = frame(6000)
    trial = objective.evaluate(SimpleRsi, {"period": 14}, data, EngineConfig(), folds=4, objective="return")
    assert len(trial.returns) == 100  # hours in 6000 minutes
    parts = np.array_split(trial.returns, 4)
    assert trial.folds == pytest.approx([objective.score(p, "return") for p in parts])
    assert trial.objective == pytest.approx(np.mean(trial.folds))
    assert np.prod(1 + trial.returns) - 1 == pytest.approx(trial.metrics["total_return"])
    with pytest.raises(UserError, match="oversold 80 must be below overbought 70"):
        objective.evaluate(SimpleRsi, {"oversold": 80}, data, EngineConfig(), 4, "sharpe")


def test_a_space_can_come_inline_as_an_optimization_run_passes_it() -> None:
    found = space.from_option(SimpleRsi, '{"period": {"low": 7, "high": 28}, "overbought": [70, 80]}')
    assert found["period"] == space.Dimension("period", "int", 7.0, 28.0)
    assert found["overbought"].choices == (70.0, 80.0)
    with pytest.raises(UserError) as caught:
        space.from_option(SimpleRsi, "{nope: [1, 2]}")
    assert str(caught.value).startswith("bad --space: simple_rsi has no parameter 'nope'")


def test_a_ppo_optimization_run_with_walk_forward_is_that_command_line() -> None:
    from botrader.core.crds import validate
    from botrader.core.optimization_spec import optimize_command

    doc = {
        "apiVersion": "botrader.io/v1alpha1",
        "kind": "OptimizationRun",
        "metadata": {"name": "ppo-search", "namespace": "default"},
        "spec": {
            "symbol": "BTCUSDT",
            "dataset": {"path": "/data/month.csv.gz"},
            "strategy": {"type": "ppo", "params": {"total_timesteps": 50000}},
            "walkForward": True,
            "folds": 3,
        },
    }
    command = optimize_command("ppo-search", validate(doc)["spec"], ray_address=None)
    assert command[2:4] == ["--strategy", "ppo"] and "--walk-forward" in command
    assert command[command.index("--param") + 1] == "total_timesteps=50000"
    assert command[command.index("--folds") + 1] == "3"
    doc["spec"]["strategy"] = {"type": "simple_rsi"}
    with pytest.raises(UserError, match="walkForward retrains PPO per fold"):
        validate(doc)
