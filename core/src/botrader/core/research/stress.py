"""The winner under worse conditions than it was chosen in, on the held-out tail: 2× and 3×
fees, next-open fills, a participation cap — and what its trading costs: turnover, fees as a
share of gross PnL, and buy-and-hold scaled to the same exposure; beside it the rule baselines
on the same tail. A result that survives only
the conditions it was searched under is not a result."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from botrader.core.backtesting.runner import BacktestResult
from botrader.core.engine.engine import EngineConfig
from botrader.core.research.objective import Split, held_out_of, hourly
from botrader.core.research.sharpe import sharpe_of
from botrader.core.strategy.base import Strategy

PARTICIPATION = 0.1  # at most a tenth of a candle's volume per fill


def variants(config: EngineConfig) -> dict[str, EngineConfig]:
    execution = config.execution
    fee = execution.fee_rate

    def changed(**fields: Any) -> EngineConfig:
        return dataclasses.replace(config, execution=dataclasses.replace(execution, **fields))

    return {
        "as searched": config,
        "2x fees": changed(fee_rate=min(fee * 2, 0.0999)),
        "3x fees": changed(fee_rate=min(fee * 3, 0.0999)),
        "next_open fills": changed(fill="next_open"),
        f"participation {PARTICIPATION:g}": changed(participation=PARTICIPATION),
    }


BASELINES = ("simple_rsi", "rsi_sma")  # the rule strategies at their defaults: same tail, same costs


def baselines_for(config: EngineConfig) -> tuple[str, ...]:
    """The baselines of a card on `config`'s market: the rule strategies above, and the
    market's own (a perpetual adds a short-capable one)."""
    return BASELINES + tuple(config.instrument.baselines)


def _row(name: str, result: BacktestResult | Any, budget: float) -> dict[str, Any]:
    """`result`: a one-pair backtest's, or a portfolio's (the same times, equity, performance)."""
    perf = result.performance
    gross = perf.final_equity - budget + perf.fees
    return {
        "variant": name,
        "return": perf.total_return,
        "sharpe": _finite(sharpe_of(hourly(result.times, result.equity, budget))),
        "fills": perf.trades,
        "turnover": perf.turnover,
        "fee_share": perf.fees / gross if gross > 0 else None,
        "exposure": perf.exposure,
        "exposure_matched_buy_and_hold": perf.buy_and_hold_return * perf.exposure,
    }


def stress(
    cls: type[Strategy], params: dict[str, Any], split: Split, config: EngineConfig
) -> list[dict[str, Any]]:
    """One row per variant: held-out return, Sharpe per hour, fills, turnover, fees as a share
    of gross PnL (None when the gross PnL is not positive), exposure-matched buy-and-hold; then
    the baselines on the same tail and costs: the rule strategies at their defaults."""
    return stress_of(lambda: cls(**params), split, config)


def stress_of(make: Callable[[], Strategy], split: Split, config: EngineConfig) -> list[dict[str, Any]]:
    """`stress` for any strategy `make` builds afresh per run (a PPO policy's, say)."""
    return stress_on(lambda fresh, costs: held_out_of(fresh(), split, costs), make, config)


# a fresh strategy's maker and the costs → its result on the held-out tail (times, equity, performance)
TailRun = Callable[[Callable[[], Strategy], EngineConfig], Any]


def stress_on(
    tail: TailRun,
    make: Callable[[], Strategy],
    config: EngineConfig,
    supported: Callable[[EngineConfig], bool] = lambda _: True,
) -> list[dict[str, Any]]:
    """The stress rows over any way of trading the tail: one symbol's candles, or a portfolio's
    (`supported`: the variants it can trade; a portfolio fills at the close only)."""
    from botrader.core.strategy.registry import resolve

    budget = float(config.budget)
    rows = [_row(name, tail(make, v), budget) for name, v in variants(config).items() if supported(v)]
    rows += [_row(f"baseline {ref}", tail(resolve(ref), config), budget) for ref in baselines_for(config)]
    return rows


def baseline_returns(frame: Any, config: EngineConfig) -> dict[str, np.ndarray]:
    """Each rule baseline's hourly returns over `frame` (the search set), at its defaults and
    the search's costs: what the walk-forward's folds are set beside."""
    from botrader.core.backtesting.runner import run_backtest

    return baseline_returns_on(lambda make: run_backtest(frame, make(), config), config)


def baseline_returns_on(
    run: Callable[[Callable[[], Strategy]], Any], config: EngineConfig
) -> dict[str, np.ndarray]:
    """`baseline_returns` over any way of running a strategy on the search set."""
    from botrader.core.strategy.registry import resolve

    budget = float(config.budget)
    out = {}
    for ref in baselines_for(config):
        result = run(resolve(ref))
        out[ref] = hourly(result.times, result.equity, budget)
    return out


def _finite(value: float) -> float | None:
    return value if value == value and abs(value) != float("inf") else None
