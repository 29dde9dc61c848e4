"""Backtests: candles through the engine, one at a time, exactly as the paper trader
feeds them — then the performance metrics."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from botrader.core.engine import performance
from botrader.core.engine.engine import Engine, EngineConfig
from botrader.core.engine.orders import Fill, Order
from botrader.core.engine.performance import Performance
from botrader.core.errors import UserError
from botrader.core.strategy.base import Strategy
from botrader.core.timeutil import iso_ms


@dataclass
class BacktestResult:
    strategy: str
    engine: Engine
    performance: Performance
    times: np.ndarray
    equity: np.ndarray  # quote, per candle
    closes: np.ndarray

    @property
    def fills(self) -> list[Fill]:
        return self.engine.fills

    @property
    def orders(self) -> list[Order]:
        return self.engine.orders

    def summary(self) -> dict[str, Any]:
        """The `--json` object (DESIGN.md contract), plus the other metrics and every circuit
        breaker that opened (when, which, why): a bot halted by one trades less than its
        backtest without breakers, and this says where."""
        breakers = [{"time": iso_ms(t), "breaker": b, "why": why} for t, b, why in self.engine.risk.trips]
        pf, unit = self.engine.portfolio, self.engine.market.cash_unit
        market = {
            "market": self.engine.instrument.name,
            "leverage": getattr(pf, "leverage", 1),
            "funding": float(getattr(pf, "funding", 0) * unit),  # received > 0, paid < 0
            "liquidations": sum(1 for f in self.fills if f.reason == "liquidation"),
        }
        return {"strategy": self.strategy, **self.performance.to_dict(), **market, "breakers": breakers}

    def fill_rows(self) -> list[dict[str, Any]]:
        """Every fill in exact decimals (as text), with why it happened: the exit or the
        strategy's signal and the explanation its order carried — what `--trades` exports for
        checking the engine against a reference of one's own."""
        return fill_rows(self.engine)


def fill_rows(engine: Engine) -> list[dict[str, Any]]:
    """An engine's fills as `--trades` rows (a portfolio's pairs each have one engine)."""
    m = engine.market
    orders = {o.id: o for o in engine.orders}
    return [
        {
            "seq": f.seq,
            "time": f.time,
            "time_utc": iso_ms(f.time),
            "side": f.side,
            "quantity": format(m.to_base(f.lots), "f"),
            "price": format(m.price(f.price), "f"),
            "fee": format(m.to_quote(f.fee), "f"),
            "pnl": format(m.to_quote(f.pnl), "f"),
            "order_id": f.order_id,
            "reason": f.reason,
            "explanation": json.dumps(orders[f.order_id].explanation, default=str),
        }
        for f in engine.fills
    ]


def run_backtest(
    frame: pd.DataFrame, strategy: Strategy, config: EngineConfig | None = None, *, warmup: int = 0
) -> BacktestResult:
    """Trade every candle of `frame` after the first `warmup`, which only warm the
    strategy's indicators (results cover the traded candles alone). The strategy sees every
    candle up front first (`prepare`: vectorised indicators compute once)."""
    config = config or EngineConfig()
    if len(frame) <= warmup:
        raise UserError("no candles to backtest")
    strategy.prepare(frame)
    engine = Engine(strategy, config)
    columns = [frame[c].to_numpy() for c in ("open_time", "open", "high", "low", "close", "volume")]
    rows = zip(*(col.tolist() for col in columns), strict=True)
    for row in itertools.islice(rows, warmup):
        engine.warm_up(*row)
    on_bar = engine.on_bar
    for t, o, h, lo, c, v in rows:
        on_bar(t, o, h, lo, c, v)
    return summarize(engine, columns[0][warmup:], columns[4][warmup:], config)


def summarize(engine: Engine, times: np.ndarray, closes: np.ndarray, config: EngineConfig) -> BacktestResult:
    unit = float(engine.market.cash_unit)
    equity = np.asarray(engine.equity, dtype=np.float64) * unit
    trips = [p * unit for p in engine.portfolio.round_trips]
    perf = performance.compute(
        np.asarray(engine.times, dtype=np.int64),
        equity,
        closes,
        engine.fills,
        trips,
        float(config.budget),
        unit,
        engine.portfolio.fees_paid,
    )
    return BacktestResult(engine.strategy.name, engine, perf, np.asarray(engine.times), equity, closes)
