"""Walk-forward evaluation: choose parameters on a rolling training window, trade the
following test window with them, move on. Only test-window results say anything about
out-of-sample quality; the training figures are there to show how much they flatter."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import pandas as pd

from botrader.core.backtesting.runner import run_backtest
from botrader.core.engine.engine import EngineConfig
from botrader.core.errors import UserError
from botrader.core.strategy.base import Strategy


def default_grid(cls: type[Strategy], fixed: dict[str, Any]) -> dict[str, list[Any]]:
    """The strategy's declared search space as a grid (three points per range), leaving out
    the parameters the caller fixed."""
    return {name: p.grid() for name, p in cls.params.items() if p.search is not None and name not in fixed}


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
    cls: type[Strategy],
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
    grid = grid if grid is not None else default_grid(cls, base_params or {})
    combos = [dict(zip(grid, values, strict=True)) for values in itertools.product(*grid.values())] or [{}]
    windows, start = [], 0
    while start + train + test <= len(frame):
        train_frame = frame.iloc[start : start + train].reset_index(drop=True)
        test_frame = frame.iloc[start + train : start + train + test].reset_index(drop=True)
        scored = []
        for combo in combos:
            params = {**(base_params or {}), **combo}
            try:
                candidate = cls(**params)
            except UserError:
                continue  # a combination the strategy rejects (e.g. oversold above overbought)
            perf = run_backtest(train_frame, candidate, config).performance
            scored.append((perf.total_return, params))
        if not scored:
            raise UserError(f"no parameter combination of the {cls.name} grid is valid: {grid}")
        best_return, best = max(scored, key=lambda s: s[0])
        warm_and_test = pd.concat([train_frame, test_frame], ignore_index=True)
        tested = run_backtest(warm_and_test, cls(**best), config, warmup=train).performance.to_dict()
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
