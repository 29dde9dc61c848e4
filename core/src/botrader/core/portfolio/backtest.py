"""Portfolio backtests: every symbol's candles merged into one clock of minutes, stepped
through `PortfolioEngine` exactly as a paper trader would feed them — then the portfolio's
performance, and each symbol's share of it."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from botrader.core.backtesting.runner import fill_rows
from botrader.core.engine import performance
from botrader.core.engine.engine import Engine, EngineConfig
from botrader.core.engine.performance import Performance
from botrader.core.errors import UserError
from botrader.core.portfolio.config import PortfolioConfig
from botrader.core.portfolio.engine import MIRRORED, Candle, PortfolioEngine, Sleeve, Timed, Wakes
from botrader.core.portfolio.universe import Schedule
from botrader.core.strategy.base import Strategy
from botrader.core.timeutil import iso_ms

COLUMNS = ("open", "high", "low", "close", "volume")


@dataclass
class PortfolioResult:
    strategy: str
    engine: PortfolioEngine
    performance: Performance
    times: np.ndarray
    equity: np.ndarray  # quote, per minute

    def symbols(self) -> list[dict[str, Any]]:
        """Each symbol's share: fills, round trips, realised and open PnL (they sum, over all
        symbols, to the portfolio's final equity minus its budget, to the unit), fees, weight."""
        final = self.engine.equity_now()
        return [sleeve_row(s, final) for s in self.engine.sleeves]

    def summary(self) -> dict[str, Any]:
        """The `--json` object: the portfolio's metrics, per symbol, refusals, breakers."""
        e = self.engine
        breakers = [
            {"time": iso_ms(t), "breaker": MIRRORED[b], "why": f"portfolio {why}"}
            for t, b, why in e.risk.trips
        ]
        for s in e.sleeves:
            breakers += [
                {"time": iso_ms(t), "breaker": b, "why": why, "symbol": s.symbol}
                for t, b, why in s.engine.risk.trips
                if b not in MIRRORED.values()
            ]
        refusals = [{**dataclasses.asdict(r), "time": iso_ms(r.time)} for r in e.refusals]
        universe = [{"time": iso_ms(t), "symbols": sorted(s)} for t, s in e.schedule.history if t > -(2**62)]
        return {
            "strategy": self.strategy,
            **self.performance.to_dict(),
            "symbols": self.symbols(),
            "refusals": refusals,
            "breakers": sorted(breakers, key=lambda b: b["time"]),
            "universe": universe,
        }

    def fill_rows(self) -> list[dict[str, Any]]:
        """Every fill of every pair in time order (exact decimals as text), with its pair (the
        sequence numbers and order ids are each pair's own)."""
        rows = [{"symbol": s.symbol, **row} for s in self.engine.sleeves for row in fill_rows(s.engine)]
        return sorted(rows, key=lambda r: (r["time"], r["symbol"]))


def sleeve_row(sleeve: Sleeve, final_equity: int) -> dict[str, Any]:
    e = sleeve.engine
    pf, unit = e.portfolio, e.market.cash_unit
    value = pf.equity(e.last_close_ticks)
    open_pnl = pf.unrealized_pnl(e.last_close_ticks)
    perp = e.instrument.position(pf, e.last_close_ticks)  # None on spot
    return {
        "symbol": sleeve.symbol,
        "side": "long" if pf.lots > 0 else "short" if pf.lots < 0 else "flat",
        "fills": len(e.fills),
        "round_trips": len(pf.round_trips),
        "realized_pnl": float(pf.realized_pnl * unit),
        "open_pnl": float(open_pnl * unit),
        "contribution": float((pf.realized_pnl + open_pnl) * unit),
        "fees": float(pf.fees_paid * unit),
        "position": float(e.market.to_base(pf.lots)),
        "value": float(value * unit),  # a perpetual's: its margin and PnL
        "funding": float(perp.funding * unit) if perp else None,  # received (> 0) or paid, in realised
        "weight": value * sleeve.factor / final_equity if final_equity > 0 else 0.0,
    }


def run_portfolio_backtest(
    frames: Mapping[str, pd.DataFrame],
    strategy_for: Callable[[str], Strategy],
    config_for: Callable[[str], EngineConfig],
    budget: Decimal,
    portfolio: PortfolioConfig | None = None,
    schedule: Schedule | None = None,
    *,
    warmup: int = 0,
) -> PortfolioResult:
    """Trade every minute of the symbols' merged clock after the first `warmup` minutes
    (which only warm the strategies' indicators). Each symbol's strategy sees its own candles
    up front first (`prepare`), as a one-symbol backtest's does."""
    if not frames:
        raise UserError("no symbols to backtest")
    clock = np.unique(np.concatenate([f["open_time"].to_numpy(dtype=np.int64) for f in frames.values()]))
    if len(clock) <= warmup:
        raise UserError("no candles to backtest")
    start = int(clock[warmup])
    engines, columns = {}, {}
    for symbol, frame in sorted(frames.items()):
        strategy = strategy_for(symbol)
        strategy.prepare(frame)
        engines[symbol] = engine = Engine(strategy, config_for(symbol))
        times = frame["open_time"].to_numpy(dtype=np.int64)
        values = [frame[c].to_numpy(dtype=np.float64) for c in COLUMNS]
        warm = int(np.searchsorted(times, start))
        for t, *row in zip(times[:warm].tolist(), *(v[:warm].tolist() for v in values), strict=True):
            engine.warm_up(t, *row)
        # rows made as they are stepped (a month of 20 symbols held as tuples costs more to make
        # and to keep than to step)
        rows = zip(*(v[warm:].tolist() for v in values), strict=True)
        columns[symbol] = on_clock(clock[warmup:], times[warm:], rows)
    wakes = None if schedule is None else Wakes(history_in(frames), strategy_for)  # a universe's pairs sleep
    book = PortfolioEngine(engines, budget, portfolio, schedule, wakes)
    step = book.step_rows
    for t, rows in zip(
        clock[warmup:].tolist(), zip(*(columns[s.symbol] for s in book.sleeves), strict=True), strict=True
    ):
        step(t, rows)
    return summarize(book, next(iter(engines.values())).strategy.name, index_closes(frames, book.times))


def history_in(frames: Mapping[str, pd.DataFrame]) -> Callable[[str, int, int], list[Timed]]:
    """`Wakes.history` over the backtest's frames: a pair's last `n` candles opening before `time`."""
    times = {s: f["open_time"].to_numpy(dtype=np.int64) for s, f in frames.items()}

    def history(symbol: str, time: int, n: int) -> list[Timed]:
        end = int(np.searchsorted(times[symbol], time))
        rows = frames[symbol].iloc[max(0, end - n) : end]
        return list(zip(rows["open_time"].tolist(), *(rows[c].tolist() for c in COLUMNS), strict=True))

    return history


def on_clock(clock: np.ndarray, times: np.ndarray, rows: Iterator[Candle]) -> Iterator[Candle | None]:
    """A symbol's candles at the clock's minutes, None where it has none."""
    if len(times) == len(clock) and np.array_equal(times, clock):
        return rows  # no gap: the common case
    return with_gaps(clock.tolist(), set(times.tolist()), rows)


def with_gaps(clock: list[int], present: set[int], rows: Iterator[Candle]) -> Iterator[Candle | None]:
    for t in clock:
        yield next(rows) if t in present else None


def index_closes(frames: Mapping[str, pd.DataFrame], times: list[int]) -> np.ndarray:
    """An equal-weight index of the symbols (each close over its first, last close carried
    forward): what buying all of them in equal parts at the start and holding would return."""
    grid = pd.Index(times)
    parts = []
    for frame in frames.values():
        closes = frame.set_index("open_time")["close"].reindex(grid).ffill().bfill()
        parts.append(closes.to_numpy(dtype=np.float64) / float(closes.iloc[0]))
    return np.mean(parts, axis=0)


def summarize(book: PortfolioEngine, strategy: str, index: np.ndarray) -> PortfolioResult:
    unit = float(book.unit)
    times = np.asarray(book.times, dtype=np.int64)
    equity = np.asarray(book.equity, dtype=np.float64) * unit
    trips, traded, fees, fills = [], 0.0, 0, []
    for s in book.sleeves:
        u = float(s.engine.market.cash_unit)
        trips += [p * u for p in s.engine.portfolio.round_trips]
        traded += sum(f.notional for f in s.engine.fills) * u
        fees += s.engine.portfolio.fees_paid * s.factor
        fills += s.engine.fills
    perf = performance.compute(times, equity, index, [], trips, book.budget * unit, unit, fees)
    perf = dataclasses.replace(
        perf,
        trades=len(fills),
        exposure=float(np.mean(np.asarray(book.open_counts) > 0)) if book.open_counts else 0.0,
        turnover=traded / float(np.mean(equity)) if len(equity) else 0.0,
        exits=performance.exit_counts(fills),
    )
    return PortfolioResult(strategy, book, perf, times, equity)
