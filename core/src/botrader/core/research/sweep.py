"""Many parameter sets of one rule strategy over the same candles, at once, with the engine's
own integer arithmetic (`botrader.core.engine.units`) — the fast path for searches and grids.

A strategy opts in with a classmethod `sweep_signals(frame, params, cache) -> int8 array`:
+1 where it would buy from flat, -1 where it would sell a long, 0 elsewhere (the `cache` dict
shares indicator series between parameter sets). For an all-in/all-out strategy the position
is then a latch of those signals, and only the candles where it flips need accounting: those
are settled for every parameter set in lockstep, as numpy arrays. What this cannot express —
TWAP/VWAP, participation caps, next-open fills, exits, breakers, partial actions — is refused
(`supports`), and the caller runs the exact event engine instead. A parameter set whose order
the engine would have skipped (below the minimum notional) is flagged `exact=False` for the
same reason. Fills and final equity equal the engine's to the unit (tests: random parameter
sets on the real month)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from botrader.core.engine.engine import EngineConfig
from botrader.core.engine.risk import ppm_of
from botrader.core.engine.units import (
    affordable_lots,
    buy_price,
    fee_for,
    fee_ppm,
    fraction_of,
    sell_price,
    slippage_units,
)
from botrader.core.engine.view import Bar
from botrader.core.strategy.base import Strategy


@dataclass(frozen=True, slots=True)
class Swept:
    params: dict[str, Any]
    fills: int
    final_equity: int  # cash units
    exact: bool  # False: the latch assumption broke (an order the engine would skip): rerun it
    flips: np.ndarray  # candle indices of the fills, buy first, alternating
    fees: int = 0  # cash units
    marked: np.ndarray | None = None  # equity (cash units) at the candles asked for


def supports(cls: type[Strategy], config: EngineConfig) -> str | None:
    """None when the sweep can stand in for the engine; else why not, in a few words."""
    execution = config.execution
    if config.instrument.name != "spot":
        return f"spot only: each {config.instrument.name} trial runs through the engine"
    if not hasattr(cls, "sweep_signals"):
        return f"{cls.name} has no sweep_signals"
    if execution.algo != "market" or execution.participation is not None:
        return "only market orders without a participation cap"
    if execution.fill != "close":
        return "only the close fill model"
    if config.exits or cls.exits.any:
        return "no exits"
    risk = config.risk
    if risk.daily_loss_limit_fraction or risk.max_drawdown_fraction or risk.max_consecutive_losses:
        return "no circuit breakers"
    return None


def series(indicator: Any, frame: pd.DataFrame) -> np.ndarray:
    """A streaming indicator's value at every candle (NaN before it is defined) — computed by
    the indicator itself, so the floats are the ones the strategy sees in the engine."""
    bar, out = Bar(), np.full(len(frame), np.nan)
    columns = [frame[c].to_numpy().tolist() for c in ("open_time", "open", "high", "low", "close", "volume")]
    for i, (t, o, h, lo, c, v) in enumerate(zip(*columns, strict=True)):
        bar.time, bar.open, bar.high, bar.low, bar.close, bar.volume = t, o, h, lo, c, v
        value = indicator.step(bar)
        if value is not None:
            out[i] = value
    return out


def flips(signals: np.ndarray) -> np.ndarray:
    """Where a latch of +1/-1 signals, starting flat, changes state."""
    marks = np.flatnonzero(signals)
    if not len(marks):
        return marks
    state = signals[marks]
    previous = np.concatenate([[-1], state[:-1]])  # flat before the first mark
    return marks[state != previous]


def sweep(
    cls: type[Strategy],
    frame: pd.DataFrame,
    param_sets: list[dict[str, Any]],
    config: EngineConfig,
    marks: np.ndarray | None = None,
    cache: dict[Any, Any] | None = None,
) -> list[Swept]:
    """`marks`: candle indices at which to report each set's equity (e.g. each hour's last);
    `cache`: indicator series to share with earlier sweeps over the same frame."""
    if (why := supports(cls, config)) is not None:
        raise ValueError(f"no vectorised sweep for this configuration: {why}")
    cache = {} if cache is None else cache
    all_flips = [flips(cls.sweep_signals(frame, p, cache)) for p in param_sets]  # type: ignore[attr-defined]
    ticks = np.rint(frame["close"].to_numpy(dtype=float) * (1.0 / float(config.market.tick_size))).astype(
        np.int64
    )
    book = _settle(all_flips, ticks, config)
    final = book.cash[-1] + book.lots[-1] * int(ticks[-1])
    out = []
    for j, (params, found) in enumerate(zip(param_sets, all_flips, strict=True)):
        marked = None if marks is None else _marked(book, j, found, ticks, marks)
        out.append(
            Swept(params, len(found), int(final[j]), bool(book.exact[j]), found, int(book.fees[j]), marked)
        )
    return out


@dataclass(slots=True)
class _Book:
    cash: np.ndarray  # (fills + 1) × sets: after 0, 1, … fills
    lots: np.ndarray
    fees: np.ndarray
    exact: np.ndarray


def _marked(book: _Book, j: int, found: np.ndarray, ticks: np.ndarray, marks: np.ndarray) -> np.ndarray:
    """Equity at `marks`: cash and lots after the fills at or before each mark, at its close."""
    done = np.searchsorted(found, marks, side="right")
    return book.cash[done, j] + book.lots[done, j] * ticks[marks]


def _settle(all_flips: list[np.ndarray], ticks: np.ndarray, config: EngineConfig) -> _Book:
    """Every parameter set's k-th fill at once: buys (k even) spend all cash the risk limits
    allow, sells (k odd) sell everything — the engine's sizing, price, fee and rounding."""
    n = len(all_flips)
    market, execution, risk = config.market, config.execution, config.risk
    fee, slip, floor = (
        fee_ppm(execution.fee_rate),
        slippage_units(execution.slippage_bps),
        market.min_notional_units,
    )
    position_ppm, trade_ppm = ppm_of(risk.max_position_fraction), ppm_of(risk.max_trade_risk_fraction)
    cash = np.full(n, market.cash_units(config.budget), dtype=np.int64)
    lots = np.zeros(n, dtype=np.int64)
    exact, fees = np.ones(n, dtype=bool), np.zeros(n, dtype=np.int64)
    depth = max((len(f) for f in all_flips), default=0)
    cash_after, lots_after = [cash], [lots]
    at = np.full((depth, n), -1, dtype=np.int64)
    for j, f in enumerate(all_flips):
        at[: len(f), j] = f
    for k in range(depth):
        live = at[k] >= 0
        mark = ticks[np.where(live, at[k], 0)]
        if k % 2 == 0:
            price = buy_price(mark, slip)
            equity = cash + lots * mark
            budget = np.minimum(
                np.minimum(cash, np.maximum(fraction_of(equity, position_ppm) - lots * mark, 0)),
                fraction_of(equity, trade_ppm),
            )
            size = np.where(live, affordable_lots(budget, price, fee), 0)
            ok = size * price >= floor
            size = np.where(ok, size, 0)
            notional = size * price
            paid = np.where(size > 0, fee_for(notional, fee), 0)
            cash, lots, fees = cash - notional - paid, lots + size, fees + paid
        else:
            price = sell_price(mark, slip)
            size = np.where(live, lots, 0)
            ok = size * price >= floor
            size = np.where(ok, size, 0)
            notional = size * price
            paid = np.where(size > 0, fee_for(notional, fee), 0)
            cash, lots, fees = cash + notional - paid, lots - size, fees + paid
        exact &= ~live | ok
        cash_after.append(cash)
        lots_after.append(lots)
    return _Book(np.stack(cash_after), np.stack(lots_after), fees, exact)
