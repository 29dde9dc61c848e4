"""What the API reads of a bot's persisted book, as one small protocol: a one-symbol bot's
ledger (`performance.replay`), or a portfolio bot's pairs, each through its own ledger. The
routes ask `book_of(row)` and never which kind of bot it is."""

from __future__ import annotations

import dataclasses
import functools
from collections import defaultdict
from typing import Any, Protocol

import numpy as np

from botrader.core.db.trading import TradingStore
from botrader.core.engine import performance as metrics
from botrader.core.engine.orders import Fill
from botrader.core.engine.performance import Performance
from botrader.core.engine.units import MarketRules
from botrader.core.timeutil import datetime_to_ms, ms_to_datetime
from botrader.services.api.performance import (
    bot_performance,
    fills_of,
    pair_instrument,
    replay,
    units_of,
    walk,
)
from botrader.services.api.perpetual import perpetual_of

UNBOUNDED = 10**30  # a pair's replay ledger's cash: its fills were paid from the shared wallet


class Book(Protocol):
    def trips(self, store: TradingStore) -> list[dict[str, Any]]:
        """Closed round trips, oldest first."""
        ...

    def performance(self, store: TradingStore) -> Performance: ...

    def positions(self) -> list[dict[str, Any]] | None:
        """Each pair as it stands (None: a one-symbol bot)."""
        ...

    def universe(self) -> list[dict[str, Any]] | None:
        """A universe bot's picks, each change oldest first (None: its pairs are fixed)."""
        ...


@dataclasses.dataclass(frozen=True)
class OneSymbol:
    row: dict[str, Any]

    def trips(self, store: TradingStore) -> list[dict[str, Any]]:
        return replay(store, self.row).trips

    def performance(self, store: TradingStore) -> Performance:
        return bot_performance(store, self.row)

    def positions(self) -> list[dict[str, Any]] | None:
        return None

    def universe(self) -> list[dict[str, Any]] | None:
        return None


@dataclasses.dataclass(frozen=True)
class Pairs:
    """A portfolio bot: its saved state holds every pair's ledger and units; each pair is read
    through its own instrument (spot, or its perpetual)."""

    row: dict[str, Any]

    @functools.cached_property
    def markets(self) -> dict[str, MarketRules]:
        return {s: MarketRules.from_state(m) for s, m in self.row["state"]["markets"].items()}

    @functools.cached_property
    def instruments(self) -> dict[str, Any]:
        return {s: pair_instrument(self.row, s, m) for s, m in self.markets.items()}

    def _funding(self, store: TradingStore) -> dict[str, list[tuple[int, int]]]:
        """Each perpetual pair's stored funding payments (time, cash units), oldest first."""
        out: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for r in store.funding(self.row["name"]):
            out[r["symbol"]].append(
                (datetime_to_ms(r["time"]), units_of(self.markets[r["symbol"]])(r["amount"]))
            )
        return out

    def _fills(self, store: TradingStore) -> dict[str, list[Fill]]:
        """Each pair's stored fills, in its own units."""
        rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in store.fills(self.row["name"]):
            rows[r["symbol"]].append(r)
        return {s: fills_of(found, self.markets[s]) for s, found in rows.items()}

    def trips(self, store: TradingStore) -> list[dict[str, Any]]:
        return self._trips(self._fills(store), self._funding(store))

    def _trips(
        self, fills: dict[str, list[Fill]], funding: dict[str, list[tuple[int, int]]]
    ) -> list[dict[str, Any]]:
        out = []
        for symbol, found in fills.items():
            instrument = self.instruments[symbol]
            ledger = instrument.new_ledger(UNBOUNDED, True)
            walked = walk(self.markets[symbol], instrument, ledger, found, funding.get(symbol, []))
            out += [{**t, "symbol": symbol} for t in walked]
        return sorted(out, key=lambda t: (t["exit_time"], t["symbol"]))

    def performance(self, store: TradingStore) -> Performance:
        """The engine's metrics of the wallet's equity marks; round trips from every pair;
        exposure: the marks with any pair held; buy-and-hold: an equal-weight hold of the pairs
        (their first and last closes over the marks)."""
        marks = store.equity_series(self.row["name"])
        times = np.array([datetime_to_ms(m["time"]) for m in marks], dtype=np.int64)
        equity = np.array([float(m["equity"]) for m in marks], dtype=np.float64)
        budget = float(self.row["spec"].get("budget", 10_000))
        fills = self._fills(store)
        pnls = [t["pnl"] for t in self._trips(fills, self._funding(store))]
        perf = metrics.compute(times, equity, np.ones(max(len(marks), 1)), [], pnls, budget, 1.0, 0)
        quote = {s: float(m.cash_unit) for s, m in self.markets.items()}
        every = [f for found in fills.values() for f in found]
        traded = sum(f.notional * quote[s] for s, found in fills.items() for f in found)
        exposed = np.zeros(len(times), dtype=bool)
        for found in fills.values():
            exposed |= metrics.held(times, found)
        return dataclasses.replace(
            perf,
            trades=len(every),
            fees=sum(f.fee * quote[s] for s, found in fills.items() for f in found),
            turnover=traded / float(np.mean(equity)) if len(equity) else 0.0,
            exits=metrics.exit_counts(every),
            exposure=float(exposed.mean()) if len(times) else 0.0,
            buy_and_hold_return=self._held(store, times),
        )

    def _held(self, store: TradingStore, times: np.ndarray) -> float:
        from botrader.core.candles import make_key
        from botrader.core.db.candles import CandleStore

        if not len(times):
            return 0.0
        spec, candles = self.row["spec"], CandleStore(store.engine)
        ratios = []
        for symbol in self.markets:
            key = make_key(spec.get("source", "binance"), symbol, spec.get("interval", "1m"))
            first = candles.load(key, start=int(times[0]), limit=1)
            last = candles.load(key, end=int(times[-1]), limit=1, newest=True)
            if first and last:
                ratios.append(last[0].close / first[0].close)
        return float(np.mean(ratios)) - 1.0 if ratios else 0.0

    def positions(self) -> list[dict[str, Any]] | None:
        book = self.row["state"]["portfolio"]
        equity = float(self.row["equity"] or 0)
        out = []
        for symbol, sleeve in sorted(book["sleeves"].items()):
            market, instrument = self.markets[symbol], self.instruments[symbol]
            ledger, close = instrument.ledger_from_state(sleeve["engine"]["portfolio"]), int(sleeve["close"])
            value = float(market.to_quote(ledger.equity(close) - ledger.cash))  # a perpetual's: margin + PnL
            open_pnl = ledger.unrealized_pnl(close)
            perp = instrument.position(ledger, close)  # None on spot
            out.append(
                {
                    "symbol": symbol,
                    "side": perp.side if perp else "long" if ledger.lots > 0 else "flat",
                    "quantity": float(market.to_base(abs(ledger.lots))),
                    "entry_price": ledger.average_entry_ticks() * float(market.tick_size)
                    if ledger.lots
                    else None,
                    "price": float(market.price(close)),
                    "value": value,
                    "open_pnl": float(market.to_quote(open_pnl)),
                    "realized_pnl": float(market.to_quote(ledger.realized_pnl)),
                    "contribution": float(market.to_quote(ledger.realized_pnl + open_pnl)),
                    "weight": value / equity if equity > 0 else 0.0,
                    "perpetual": perpetual_of(market, perp, close) if perp else None,
                }
            )
        return out

    def universe(self) -> list[dict[str, Any]] | None:
        if not (self.row.get("spec") or {}).get("universe"):
            return None
        out: list[dict[str, Any]] = []
        for time, symbols in self.row["state"].get("universe") or []:
            if not out or out[-1]["symbols"] != symbols:
                out.append({"time": ms_to_datetime(time), "symbols": symbols})
        return out


def book_of(row: dict[str, Any]) -> Book:
    """A portfolio bot's saved state carries its pairs' units (`markets`)."""
    return Pairs(row) if (row.get("state") or {}).get("markets") else OneSymbol(row)
