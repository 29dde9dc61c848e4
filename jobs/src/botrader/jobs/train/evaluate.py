"""Evaluation through the engine, never beside it: a period's backtest warmed on the candles
before it, and the baselines on the same period with the same costs — so validation and test
figures are exactly what `botrader backtest --strategy ppo` reports."""

from __future__ import annotations

from typing import Any

import pandas as pd

from botrader.core.backtesting.runner import run_backtest
from botrader.core.engine.engine import EngineConfig
from botrader.core.engine.performance import Performance
from botrader.core.research.stress import BASELINES
from botrader.core.strategy import Strategy
from botrader.core.strategy.registry import make


def evaluation_frame(frame: pd.DataFrame, period: pd.DataFrame, warmup: int) -> tuple[pd.DataFrame, int]:
    """The period with up to `warmup` candles before it (the strategy's own warm-up length)."""
    first = int(frame.index[frame["open_time"] == period["open_time"].iloc[0]][0])
    lo = max(0, first - warmup)
    return frame.iloc[lo : first + len(period)].reset_index(drop=True), first - lo


def backtest_period(strategy: Any, frame: pd.DataFrame, period: pd.DataFrame, config: EngineConfig) -> Any:
    """The engine's backtest of `period`, the strategy warmed on the candles before it."""
    data, warmup = evaluation_frame(frame, period, strategy.warmup_length())
    return run_backtest(data, strategy, config, warmup=warmup)


def evaluate(strategy: Any, frame: pd.DataFrame, period: pd.DataFrame, config: EngineConfig) -> Performance:
    return backtest_period(strategy, frame, period, config).performance


def baselines(
    frame: pd.DataFrame, period: pd.DataFrame, config: EngineConfig, refs: tuple[str, ...] = BASELINES
) -> dict[str, dict[str, Any]]:
    """Buy-and-hold and each baseline strategy on the same period, through the same engine."""
    out = {"buy_and_hold": figures(evaluate(BuyAndHold(), frame, period, config))}
    for ref in refs:
        strategy = make(ref)
        out[strategy.name] = figures(evaluate(strategy, frame, period, config))
    return out


class BuyAndHold(Strategy):
    """Buys with all cash on the first traded candle, then holds: the benchmark, through the
    engine (warm-up candles only update indicators, so they never trigger the buy)."""

    def setup(self) -> None:
        self.done = False

    def on_candle(self, candle: Any, ind: Any, account: Any) -> float | None:
        if self.done:
            return None
        self.done = True
        return 1.0


def figures(p: Performance) -> dict[str, Any]:
    return {
        "sharpe": p.sharpe,
        "return": p.total_return,
        "max_drawdown": p.max_drawdown,
        "trades": p.trades,
        "win_rate": p.win_rate,
    }
