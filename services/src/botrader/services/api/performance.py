"""A bot's performance from what the trader persisted, computed by the engine's own
metrics: fills are replayed through the engine's Portfolio to recover round trips."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np

from botrader.core.db.trading import TradingStore
from botrader.core.engine.orders import Fill
from botrader.core.engine.performance import Performance, compute
from botrader.core.engine.portfolio import Portfolio
from botrader.core.engine.units import MarketRules
from botrader.core.timeutil import datetime_to_ms, ms_to_datetime


def market_of(bot: dict[str, Any]) -> MarketRules:
    saved = (bot.get("state") or {}).get("market")
    if not saved:
        return MarketRules(symbol=bot["spec"].get("symbol", "BTCUSDT"))
    return MarketRules.from_state(saved)


@dataclass(frozen=True)
class Replayed:
    """The bot's persisted fills through the engine's Portfolio: its accounting, once."""

    market: MarketRules
    budget: float
    fills: list[Fill]
    portfolio: Portfolio
    trips: list[dict[str, Any]]  # closed round trips: entry/exit time, size, PnL, fees, exit reason


def replay(store: TradingStore, bot: dict[str, Any]) -> Replayed:
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
    trips: list[dict[str, Any]] = []
    opened: list[Fill] = []
    for f in fills:
        (portfolio.apply_buy if f.side == "buy" else portfolio.apply_sell)(f.lots, f.price, f.fee)
        opened.append(f)
        if portfolio.lots == 0 and f.side == "sell":  # the Portfolio just closed a round trip
            trips.append(_trip(market, opened, portfolio.round_trips[-1]))
            opened = []
    return Replayed(market, budget, fills, portfolio, trips)


def _trip(market: MarketRules, fills: list[Fill], pnl: int) -> dict[str, Any]:
    bought = [f for f in fills if f.side == "buy"]
    lots = sum(f.lots for f in bought)
    return {
        "entry_time": ms_to_datetime(fills[0].time),
        "exit_time": ms_to_datetime(fills[-1].time),
        "quantity": float(market.to_base(lots)),
        "entry_price": float(market.price(sum(f.lots * f.price for f in bought) // max(lots, 1))),
        "exit_price": float(market.price(fills[-1].price)),
        "pnl": float(market.to_quote(pnl)),
        "fees": float(market.to_quote(sum(f.fee for f in fills))),
        "fills": len(fills),
        "reason": fills[-1].reason,
    }


def bot_performance(store: TradingStore, bot: dict[str, Any]) -> Performance:
    done = replay(store, bot)
    market, portfolio = done.market, done.portfolio
    marks = store.equity_series(bot["name"])
    times = np.array([datetime_to_ms(m["time"]) for m in marks], dtype=np.int64)
    equity = np.array([float(m["equity"]) for m in marks], dtype=np.float64)
    closes = np.array([float(m["price"]) for m in marks], dtype=np.float64)
    unit = float(market.cash_unit)
    return compute(
        times,
        equity,
        closes,
        done.fills,
        [p * unit for p in portfolio.round_trips],
        done.budget,
        unit,
        portfolio.fees_paid,
    )
