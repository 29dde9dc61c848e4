"""What one search trial is worth, measured the same way for every trial so their returns can be
set side by side (the PBO matrix): one exact backtest over the search set, its hourly returns,
the objective on K contiguous folds of them. The held-out tail is never seen by the search;
only the chosen parameters are run on it, after an embargo, warmed on the candles before it."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from botrader.core.backtesting.runner import run_backtest
from botrader.core.engine.engine import EngineConfig
from botrader.core.engine.performance import period_ends, period_returns, returns_between
from botrader.core.errors import UserError
from botrader.core.research.sharpe import compound_return
from botrader.core.strategy.base import Strategy

HOUR_MS = 3_600_000
HOURS_PER_YEAR = 24 * 365


def _sharpe(r: np.ndarray) -> float | None:
    std = float(r.std(ddof=1)) if len(r) > 2 else 0.0
    return float(r.mean()) / std if std > 0 else (0.0 if not r.any() else None)


def _sortino(r: np.ndarray) -> float | None:
    downside = math.sqrt(float(np.mean(np.minimum(r, 0.0) ** 2))) if len(r) > 2 else 0.0
    return float(r.mean()) / downside if downside > 0 else (0.0 if not r.any() else None)


def _calmar(r: np.ndarray) -> float | None:
    curve = np.cumprod(1.0 + r)
    drawdown = float(np.max(1.0 - curve / np.maximum.accumulate(curve))) if len(r) else 0.0
    return compound_return(r) / drawdown if drawdown > 0 else (0.0 if not r.any() else None)


OBJECTIVES: dict[str, Callable[[np.ndarray], float | None]] = {
    "sharpe": _sharpe,  # per hour, not annualised
    "sortino": _sortino,
    "calmar": _calmar,  # compound return over the worst drawdown
    "return": compound_return,
}


def score(returns: np.ndarray, objective: str) -> float | None:
    """The objective on a run of returns; None where it is undefined (a drawdown-free gain
    for calmar). A run that never trades scores 0, not undefined."""
    if objective not in OBJECTIVES:
        raise UserError(f"bad --objective {objective!r}: expected one of {', '.join(OBJECTIVES)}")
    return OBJECTIVES[objective](np.asarray(returns, dtype=np.float64))


@dataclass(frozen=True, slots=True)
class Split:
    """The search set, then `embargo` candles nobody trades, then the held-out tail."""

    frame: pd.DataFrame
    cut: int  # the search set is frame[:cut]
    start: int  # the held-out tail is frame[start:]

    @property
    def search(self) -> pd.DataFrame:
        return self.frame.iloc[: self.cut].reset_index(drop=True)

    @property
    def embargo(self) -> int:
        return self.start - self.cut

    def held_out(self, warmup: int) -> tuple[pd.DataFrame, int]:
        """The tail with up to `warmup` candles before it that only warm the strategy."""
        lead = min(warmup, self.start)
        return self.frame.iloc[self.start - lead :].reset_index(drop=True), lead


def split(frame: pd.DataFrame, holdout: float, embargo: int) -> Split:
    if not 0 < holdout < 0.9:
        raise UserError(f"bad --holdout {holdout:g}: a fraction between 0 and 0.9")
    if embargo < 0:
        raise UserError(f"bad --embargo {embargo}: candles, >= 0")
    cut = int(len(frame) * (1 - holdout))
    if cut < 500 or len(frame) - cut - embargo < 100:
        raise UserError(
            f"too few candles to search and hold out ({len(frame)}): "
            "need 500 to search and 100 held out after the embargo"
        )
    return Split(frame, cut, cut + embargo)


@dataclass(slots=True)
class Trial:
    """One parameter set's result on the search set; `returns` is its PBO column."""

    params: dict[str, Any]
    objective: float | None  # mean of the fold scores that are defined
    folds: list[float | None]
    returns: np.ndarray
    metrics: dict[str, float] = field(default_factory=dict)
    held_out: np.ndarray | None = None  # a trial that carries its own tail (PPO: its test split)
    model: Any = None  # PPO: the kept checkpoint's predictor, for the winner's stress rows


def hourly(times: np.ndarray, equity: np.ndarray, budget: float) -> np.ndarray:
    return period_returns(times, equity, HOUR_MS, budget)


def market_returns(frame: pd.DataFrame) -> np.ndarray:
    """Buy-and-hold's hourly returns over `frame`, period for period with a trial's there."""
    close = frame["close"].to_numpy(dtype=float)
    return hourly(frame["open_time"].to_numpy(), close / close[0], 1.0)


def score_returns(
    params: dict[str, Any], returns: np.ndarray, folds: int, objective: str, metrics: dict[str, float]
) -> Trial:
    scores = [score(part, objective) for part in np.array_split(returns, folds)]
    defined = [s for s in scores if s is not None and math.isfinite(s)]
    curve = np.cumprod(1.0 + returns)
    drawdown = float(np.max(1.0 - curve / np.maximum.accumulate(curve))) if len(returns) else 0.0
    return Trial(
        params=dict(params),
        objective=float(np.mean(defined)) if defined else None,
        folds=scores,
        returns=returns,
        metrics={**metrics, "max_drawdown": drawdown},  # on the hourly marks, for either path
    )


def evaluate(
    cls: type[Strategy],
    params: dict[str, Any],
    frame: pd.DataFrame,
    config: EngineConfig,
    folds: int,
    objective: str,
) -> Trial:
    """One trial through the exact engine. Raises UserError for parameters the strategy
    rejects (e.g. oversold above overbought): the search records those as invalid."""
    result = run_backtest(frame, cls(**params), config)
    return scored(params, result, float(config.budget), folds, objective)


def scored(params: dict[str, Any], result: Any, budget: float, folds: int, objective: str) -> Trial:
    """A trial from any run's equity marks and performance (one pair's backtest, a portfolio's)."""
    returns = hourly(result.times, result.equity, budget)
    perf = result.performance
    metrics = {"total_return": perf.total_return, "trades": float(perf.trades), "fees": perf.fees}
    return score_returns(params, returns, folds, objective, metrics)


def evaluate_many(
    cls: type[Strategy],
    param_sets: list[dict[str, Any]],
    frame: pd.DataFrame,
    config: EngineConfig,
    folds: int,
    objective: str,
    cache: dict[Any, Any] | None = None,
) -> list[Trial | None]:
    """Many trials: one vectorised sweep where the strategy and settings allow it (the same
    Trial, bit for bit, as `evaluate` gives), the exact engine for the rest; None for a
    parameter set the strategy rejects."""
    from botrader.core.research.sweep import supports, sweep

    valid: dict[int, dict[str, Any]] = {}
    for i, params in enumerate(param_sets):
        try:
            cls(**params)
            valid[i] = params
        except UserError:
            pass
    out: list[Trial | None] = [None] * len(param_sets)
    if valid and supports(cls, config) is None:
        unit, budget = float(config.market.cash_unit), float(config.budget)
        ends = period_ends(frame["open_time"].to_numpy(), HOUR_MS)
        for i, swept in zip(valid, sweep(cls, frame, list(valid.values()), config, ends, cache), strict=True):
            if swept.exact:
                returns = returns_between(swept.marked.astype(np.float64) * unit, budget)  # type: ignore[union-attr]
                final = swept.final_equity * unit
                metrics = {
                    "total_return": final / budget - 1.0,
                    "trades": float(swept.fills),
                    "fees": swept.fees * unit,
                }
                out[i] = score_returns(swept.params, returns, folds, objective, metrics)
    for i, params in valid.items():
        if out[i] is None:
            out[i] = evaluate(cls, params, frame, config, folds, objective)
    return out


def held_out_run(cls: type[Strategy], params: dict[str, Any], split: Split, config: EngineConfig) -> Any:
    """The chosen parameters' backtest of the held-out tail, warmed on what precedes it."""
    return held_out_of(cls(**params), split, config)


def held_out_of(strategy: Strategy, split: Split, config: EngineConfig) -> Any:
    """`strategy` (a fresh instance) on the held-out tail, warmed on what precedes it."""
    frame, lead = split.held_out(strategy.warmup_length())
    return run_backtest(frame, strategy, config, warmup=lead)


def held_out(cls: type[Strategy], params: dict[str, Any], split: Split, config: EngineConfig) -> np.ndarray:
    """The chosen parameters' hourly returns on the held-out tail."""
    result = held_out_run(cls, params, split, config)
    return hourly(result.times, result.equity, float(config.budget))
