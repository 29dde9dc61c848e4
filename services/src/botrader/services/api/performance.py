"""A bot's performance from what the trader persisted, computed by the engine's own
metrics: fills (and a perpetual's funding) are replayed through the bot's own ledger to
recover round trips, long and short."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np

from botrader.core.db.trading import TradingStore
from botrader.core.engine.ledger import Ledger
from botrader.core.engine.orders import Fill
from botrader.core.engine.performance import Performance, compute
from botrader.core.engine.perp_portfolio import PerpPortfolio
from botrader.core.engine.units import MarketRules
from botrader.core.timeutil import datetime_to_ms, ms_to_datetime


def market_of(bot: dict[str, Any]) -> MarketRules:
    saved = (bot.get("state") or {}).get("market")
    if not saved:
        return MarketRules(symbol=bot["spec"].get("symbol", "BTCUSDT"))
    return MarketRules.from_state(saved)


@dataclass(frozen=True)
class Replayed:
    """The bot's persisted fills (and a perpetual's funding) through the bot's own ledger —
    the engine's accounting, once: spot's Portfolio or a perpetual's PerpPortfolio."""

    market: MarketRules
    budget: float
    fills: list[Fill]
    portfolio: Ledger
    trips: list[dict[str, Any]]  # closed round trips: side, entry/exit time, size, PnL, fees, exit reason


def replay(store: TradingStore, bot: dict[str, Any]) -> Replayed:
    market = market_of(bot)
    budget = float(bot["spec"].get("budget", 10_000))
    units = units_of(market)
    fills = fills_of(store.fills(bot["name"]), market)
    funding = [(datetime_to_ms(r["time"]), units(r["amount"])) for r in store.funding(bot["name"])]
    instrument = instrument_of(bot, market)
    ledger = instrument.new_ledger(market.cash_units(Decimal(str(budget))), True)
    trips = walk(market, instrument, ledger, fills, funding)
    return Replayed(market, budget, fills, ledger, trips)


def fills_of(rows: list[dict[str, Any]], market: MarketRules) -> list[Fill]:
    """Stored fill rows back in the engine's units."""
    units = units_of(market)
    return [
        Fill(
            r["order_id"],
            r["seq"],
            datetime_to_ms(r["time"]),
            r["side"],
            round(Decimal(str(r["quantity"])) / market.step_size),
            market.ticks(float(r["price"])),
            units(r["fee"]),
            units(r["pnl"]),
            r.get("reason") or "signal",
        )
        for r in rows
    ]


def walk(
    market: MarketRules, instrument: Any, ledger: Ledger, fills: list[Fill], funding: list[tuple[int, int]]
) -> list[dict[str, Any]]:
    """The fills (and funding) through `ledger`, in order: the round trips it closes."""
    trips: list[dict[str, Any]] = []
    opened: list[Fill] = []
    paid = 0
    for f in fills:
        while paid < len(funding) and funding[paid][0] <= f.time:  # funding at T precedes T's fills
            assert isinstance(ledger, PerpPortfolio)  # only a perpetual has funding rows
            ledger.receive_funding(funding[paid][1])
            paid += 1
        side = 1 if ledger.lots > 0 else -1 if ledger.lots < 0 else (1 if f.side == "buy" else -1)
        closed = len(ledger.round_trips)
        if f.reason == "liquidation":
            assert isinstance(ledger, PerpPortfolio)
            ledger.liquidate(f.price, instrument.rules)  # type: ignore[attr-defined]
        else:
            ledger.apply(f.side, f.lots, f.price, f.fee)
        opened.append(f)
        if len(ledger.round_trips) > closed:  # the ledger just closed a round trip
            trips.append(_trip(market, opened, ledger.round_trips[-1], side))
            opened = [f] if ledger.lots else []  # a fill through zero opened the next one
    return trips


def units_of(market: MarketRules) -> Any:
    """A stored quote amount as cash units (exact on PostgreSQL; SQLite's floats rounded)."""
    return lambda value: round(Decimal(str(value)) / market.cash_unit)


def instrument_of(bot: dict[str, Any], market: MarketRules) -> Any:
    """The bot's instrument, from its spec as stored (spot for bots from before markets)."""
    from botrader.core.bot_engine import engine_config
    from botrader.core.manifests import TradingBotSpec

    return engine_config(TradingBotSpec.model_validate(bot["spec"]), market).instrument


def pair_instrument(bot: dict[str, Any], symbol: str, market: MarketRules) -> Any:
    """One pair's instrument in a portfolio bot, from its spec as stored (the trader's own
    `sleeve_config`: spot, or that pair's perpetual)."""
    from botrader.core.bot_engine import sleeve_config
    from botrader.core.manifests import TradingBotSpec

    return sleeve_config(TradingBotSpec.model_validate(bot["spec"]), symbol, market).instrument


def _trip(market: MarketRules, fills: list[Fill], pnl: int, side: int) -> dict[str, Any]:
    entering = "buy" if side > 0 else "sell"
    entries = [f for f in fills if f.side == entering]
    lots = sum(f.lots for f in entries)
    return {
        "side": "long" if side > 0 else "short",
        "entry_time": ms_to_datetime(fills[0].time),
        "exit_time": ms_to_datetime(fills[-1].time),
        "quantity": float(market.to_base(lots)),
        "entry_price": float(market.price(sum(f.lots * f.price for f in entries) // max(lots, 1))),
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
