"""Performance metrics of an equity curve and its trades.

Sharpe and Sortino use **daily** returns (equity at each UTC day's last candle) annualised
with √365 — crypto trades every day. Scaling per-minute returns by √(525,600) instead
assumes independent minute returns; they are autocorrelated (bid-ask bounce, trends), and
that scaling overstates Sharpe, sometimes several-fold. With fewer than `MIN_SHARPE_DAYS`
daily returns they are None: the standard error of an annualised Sharpe from n days is about
√(365 / n) — 11 from three days, 3.5 from thirty — so a figure like −59.7 from two days says
nothing. `days` tells how many there are. Ratios are fractions (0.05 = 5%); a figure with
nothing to measure (no variance, no losing trade) is None.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from botrader.core.engine.orders import Fill

DAY_MS = 86_400_000
MIN_SHARPE_DAYS = 30


@dataclass(frozen=True, slots=True)
class Performance:
    candles: int
    trades: int  # fills
    round_trips: int
    final_equity: float
    total_return: float
    sharpe: float | None
    sortino: float | None
    max_drawdown: float
    win_rate: float | None
    profit_factor: float | None
    avg_win: float | None
    avg_loss: float | None
    exposure: float
    turnover: float
    fees: float
    buy_and_hold_return: float
    days: int = 0  # daily returns behind Sharpe and Sortino (None below MIN_SHARPE_DAYS)
    exits: dict[str, int] = field(default_factory=dict)  # fills by reason (signal, stop_loss, …)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def daily_returns(times: np.ndarray, equity: np.ndarray, start_equity: float) -> np.ndarray:
    days = times // DAY_MS
    last_of_day = np.flatnonzero(np.diff(days, append=days[-1] + 1))
    closes = np.concatenate([[start_equity], equity[last_of_day]])
    return closes[1:] / closes[:-1] - 1.0


def sharpe_sortino(returns: np.ndarray, minimum: int = MIN_SHARPE_DAYS) -> tuple[float | None, float | None]:
    if len(returns) < max(2, minimum):
        return None, None
    mean, std = float(returns.mean()), float(returns.std(ddof=1))
    sharpe = mean / std * math.sqrt(365) if std > 0 else None
    downside = np.minimum(returns, 0.0)
    dd = math.sqrt(float((downside**2).mean()))
    sortino = mean / dd * math.sqrt(365) if dd > 0 else None
    return sharpe, sortino


def max_drawdown(equity: np.ndarray) -> float:
    if len(equity) == 0:
        return 0.0
    peaks = np.maximum.accumulate(equity)
    return float((1.0 - equity / peaks).max())


def exposure(times: np.ndarray, fills: list[Fill]) -> float:
    """Fraction of candles that end with a position open."""
    if not fills or len(times) == 0:
        return 0.0
    return float(held(times, fills).mean())


def held(times: np.ndarray, fills: list[Fill]) -> np.ndarray:
    """Whether a (long) position is open at each of `times`, from one instrument's fills."""
    if not fills:
        return np.zeros(len(times), dtype=bool)
    fill_times = np.array([f.time for f in fills], dtype=np.int64)
    position = np.cumsum([f.lots if f.side == "buy" else -f.lots for f in fills])
    idx = np.searchsorted(fill_times, times, side="right") - 1
    return np.where(idx >= 0, position[np.maximum(idx, 0)], 0) > 0


def compute(
    times: np.ndarray,
    equity: np.ndarray,
    closes: np.ndarray,
    fills: list[Fill],
    round_trips: list[float],
    budget: float,
    cash_unit: float,
    fees_units: int,
) -> Performance:
    """`equity` in quote (floats), `round_trips` PnL in quote, fills as recorded (units)."""
    n = len(equity)
    final = float(equity[-1]) if n else budget
    daily = daily_returns(times, equity, budget) if n else np.zeros(0)
    sharpe, sortino = sharpe_sortino(daily)
    wins = [p for p in round_trips if p > 0]
    losses = [p for p in round_trips if p <= 0]
    gross_loss = -sum(losses)
    traded = sum(f.lots * f.price for f in fills) * cash_unit
    return Performance(
        candles=n,
        trades=len(fills),
        round_trips=len(round_trips),
        final_equity=final,
        total_return=final / budget - 1.0,
        sharpe=sharpe,
        sortino=sortino,
        max_drawdown=max_drawdown(np.concatenate([[budget], equity])) if n else 0.0,
        win_rate=len(wins) / len(round_trips) if round_trips else None,
        profit_factor=sum(wins) / gross_loss if gross_loss > 0 else None,
        avg_win=sum(wins) / len(wins) if wins else None,
        avg_loss=sum(losses) / len(losses) if losses else None,
        exposure=exposure(times, fills),
        turnover=traded / float(np.mean(equity)) if n else 0.0,
        fees=fees_units * cash_unit,
        buy_and_hold_return=float(closes[-1] / closes[0] - 1.0) if n else 0.0,
        days=len(daily),
        exits=exit_counts(fills),
    )


def exit_counts(fills: list[Fill]) -> dict[str, int]:
    """Sells by why they happened; buys are signals by definition."""
    counts: dict[str, int] = {}
    for f in fills:
        if f.side == "sell":
            counts[f.reason] = counts.get(f.reason, 0) + 1
    return counts


def hourly_sharpe(times: np.ndarray, equity: np.ndarray, start_equity: float) -> float | None:
    """Mean over standard deviation of hourly returns, not annualised: a risk-adjusted score
    for periods too short for a daily Sharpe (training's checkpoint selection)."""
    if len(equity) == 0:
        return None
    returns = period_returns(times, equity, 3_600_000, start_equity)
    std = float(returns.std(ddof=1)) if len(returns) > 2 else 0.0
    return float(returns.mean()) / std if std > 0 else None


def period_ends(times: np.ndarray, period_ms: int) -> np.ndarray:
    """Indices of each period's last candle."""
    buckets = times // period_ms
    return np.flatnonzero(np.diff(buckets, append=buckets[-1] + 1))


def returns_between(marks: np.ndarray, start_equity: float) -> np.ndarray:
    closes = np.concatenate([[start_equity], marks])
    return closes[1:] / closes[:-1] - 1.0


def period_returns(times: np.ndarray, equity: np.ndarray, period_ms: int, start_equity: float) -> np.ndarray:
    """Returns between the last equity marks of consecutive periods (e.g. hours)."""
    return returns_between(equity[period_ends(times, period_ms)], start_equity)
