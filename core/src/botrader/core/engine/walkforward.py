"""Walk-forward evaluation: choose parameters on a rolling training window, trade the
following test window with them, move on. Only test-window results say anything about
out-of-sample quality; the training figures are there to show how much they flatter."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import pandas as pd

from botrader.core.engine.backtest import run_backtest
from botrader.core.engine.engine import EngineConfig
from botrader.core.engine.strategies import make_strategy
from botrader.core.errors import UserError

DEFAULT_GRIDS: dict[str, dict[str, list[Any]]] = {
    "simple_rsi": {"oversold": [20, 25, 30], "overbought": [70, 75, 80]},
    "rsi_sma": {"oversold": [25, 30], "overbought": [70, 75], "sma_period": [100, 200]},
}


@dataclass(frozen=True, slots=True)
class Window:
    train_start: int
    test_start: int
    test_end: int
    params: dict[str, Any]
    train_return: float
    test: dict[str, Any]


def walk_forward(
    frame: pd.DataFrame,
    name: str,
    config: EngineConfig,
    train: int,
    test: int,
    base_params: dict[str, Any] | None = None,
    grid: dict[str, list[Any]] | None = None,
) -> list[Window]:
    if train < 100 or test < 10:
        raise UserError(
            f"bad walk-forward windows {train}/{test}: need at least 100 training and 10 test candles"
        )
    if len(frame) < train + test:
        raise UserError(f"walk-forward needs {train + test} candles, the data has {len(frame)}")
    grid = grid if grid is not None else DEFAULT_GRIDS.get(name, {})
    combos = [dict(zip(grid, values, strict=True)) for values in itertools.product(*grid.values())] or [{}]
    windows, start = [], 0
    while start + train + test <= len(frame):
        train_frame = frame.iloc[start : start + train].reset_index(drop=True)
        test_frame = frame.iloc[start + train : start + train + test].reset_index(drop=True)
        scored = []
        for combo in combos:
            params = {**(base_params or {}), **combo}
            perf = run_backtest(train_frame, make_strategy(name, params), config).performance
            scored.append((perf.total_return, params))
        best_return, best = max(scored, key=lambda s: s[0])
        warm_and_test = pd.concat([train_frame, test_frame], ignore_index=True)
        tested = run_backtest(
            warm_and_test, make_strategy(name, best), config, warmup=train
        ).performance.to_dict()
        windows.append(
            Window(
                int(train_frame["open_time"].iloc[0]),
                int(test_frame["open_time"].iloc[0]),
                int(test_frame["open_time"].iloc[-1]),
                best,
                best_return,
                tested,
            )
        )
        start += test
    return windows
