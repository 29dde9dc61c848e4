"""A bot's performance from what the trader persisted, computed by the engine's own
metrics: fills are replayed through the engine's Portfolio to recover round trips."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np

from botrader.core.db.trading import TradingStore
from botrader.core.engine.orders import Fill
from botrader.core.engine.performance import Performance, compute
from botrader.core.engine.portfolio import Portfolio
from botrader.core.engine.units import MarketRules
from botrader.core.timeutil import datetime_to_ms


def market_of(bot: dict[str, Any]) -> MarketRules:
    saved = (bot.get("state") or {}).get("market")
    if not saved:
        return MarketRules(symbol=bot["spec"].get("symbol", "BTCUSDT"))
    return MarketRules.from_state(saved)


def bot_performance(store: TradingStore, bot: dict[str, Any]) -> Performance:
    market = market_of(bot)
    budget = float(bot["spec"].get("budget", 10_000))
    fills = [
        Fill(
            r["order_id"],
            r["seq"],
            datetime_to_ms(r["time"]),
            r["side"],
            round(Decimal(str(r["quantity"])) / market.step_size),
            market.ticks(float(r["price"])),
            market.cash_units(r["fee"]),
            0,
            r.get("reason") or "signal",
        )
        for r in store.fills(bot["name"])
    ]
    portfolio = Portfolio(cash=market.cash_units(Decimal(str(budget))))
    for f in fills:
        (portfolio.apply_buy if f.side == "buy" else portfolio.apply_sell)(f.lots, f.price, f.fee)
    marks = store.equity_series(bot["name"])
    times = np.array([datetime_to_ms(m["time"]) for m in marks], dtype=np.int64)
    equity = np.array([float(m["equity"]) for m in marks], dtype=np.float64)
    closes = np.array([float(m["price"]) for m in marks], dtype=np.float64)
    unit = float(market.cash_unit)
    return compute(
        times,
        equity,
        closes,
        fills,
        [p * unit for p in portfolio.round_trips],
        budget,
        unit,
        portfolio.fees_paid,
    )
