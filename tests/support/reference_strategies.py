"""Independent implementations of the example strategies (examples/strategies/): the rules as
the README states them, written from scratch with Python's Decimal — no engine, no SDK — so
that the engine's trades can be checked against them to the cent.

Exchange rules as documented: prices on the tick (BTCUSDT 0.01), quantities floored to the
step (0.00001), fees charged in the quote asset and rounded up to tick × step (1e-7), orders
below 5 USDT not sent, "long" meaning a position worth at least 5 USDT at the close. Fill
models: at the signal candle's close, or at the next candle's open (the quantity decided at
the close, reduced if the open makes it unaffordable). Exits as `botrader.core.engine.exits`
documents them: levels from the average entry price (stop rounded down, target up to the
tick), checked against each later candle's low and high (the stop first, filled at the open
if the candle gapped through it).

Moving averages are computed as a sliding `math.fsum` window, so that a decision at an exact
tie cannot differ by a rounding of the last bit (the engine's tests check its indicators
against `ta` separately).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import pandas as pd

MIN_NOTIONAL = Decimal(5)


@dataclass(frozen=True)
class Rules:
    """A market's tick and step (BTCUSDT's by default); fees round up to tick × step."""

    tick: Decimal = Decimal("0.01")
    step: Decimal = Decimal("0.00001")

    @property
    def cash(self) -> Decimal:
        return self.tick * self.step

    def price(self, x: float) -> Decimal:
        return Decimal(round(x / float(self.tick))) * self.tick


@dataclass
class Book:
    cash: Decimal
    fee: Decimal
    rules: Rules
    qty: Decimal = Decimal(0)
    basis: Decimal = Decimal(0)  # notional paid, fees excluded (for the average entry)
    # time, side, quantity, price, reason
    trades: list[tuple[int, str, str, str, str]] = field(default_factory=list)

    def affordable(self, price: Decimal) -> Decimal:
        return (self.cash / (price * (1 + self.fee))).quantize(self.rules.step, rounding=ROUND_FLOOR)

    def buy(self, time: int, qty: Decimal, price: Decimal) -> None:
        notional = qty * price
        if qty <= 0 or notional < MIN_NOTIONAL:
            return
        cost = notional + (notional * self.fee).quantize(self.rules.cash, rounding=ROUND_CEILING)
        assert cost <= self.cash
        self.cash -= cost
        self.qty += qty
        self.basis += notional
        self.trades.append((time, "buy", str(qty), str(price), "signal"))

    def sell_all(self, time: int, price: Decimal, reason: str) -> None:
        notional = self.qty * price
        if self.qty <= 0 or notional < MIN_NOTIONAL:
            return
        self.cash += notional - (notional * self.fee).quantize(self.rules.cash, rounding=ROUND_CEILING)
        self.trades.append((time, "sell", str(self.qty), str(price), reason))
        self.qty, self.basis = Decimal(0), Decimal(0)

    def long(self, close: Decimal) -> bool:
        return self.qty * close >= MIN_NOTIONAL


def _sma(values: deque[float], n: int) -> float | None:
    return math.fsum(values) / n if len(values) == n else None


def _bands(values: deque[float], n: int, k: float) -> tuple[float, float, float] | None:
    if len(values) < n:
        return None
    mid = math.fsum(values) / n
    width = k * math.sqrt(math.fsum((v - mid) ** 2 for v in values) / n)
    return mid - width, mid, mid + width


def run(
    frame: pd.DataFrame,
    decide,  # (book, close, state) -> "buy" | "sell" | None
    *,
    fill: str,
    fee: float = 0.001,
    budget: Decimal = Decimal(10_000),
    stop_loss: float | None = None,
    take_profit: float | None = None,
    rules: Rules = Rules(),
) -> Book:
    book = Book(cash=budget, fee=Decimal(str(fee)), rules=rules)
    tick = rules.tick
    pending: tuple[str, Decimal] | None = None  # next_open: (side, quantity decided at the close)
    rows = frame[["open_time", "open", "high", "low", "close"]].itertuples(index=False)
    for t, o, h, lo, c in rows:
        open_, high, low, close = rules.price(o), rules.price(h), rules.price(lo), rules.price(c)
        if pending is not None:
            side, qty = pending
            pending = None
            if side == "buy":
                book.buy(t, min(qty, book.affordable(open_)), open_)
            else:
                book.sell_all(t, open_, "signal")
        if book.qty > 0 and (stop_loss is not None or take_profit is not None):
            entry = book.basis / book.qty
            stop = (
                (entry * (1 - Decimal(str(stop_loss)))).quantize(tick, rounding=ROUND_FLOOR)
                if stop_loss
                else None
            )
            target = (
                (entry * (1 + Decimal(str(take_profit)))).quantize(tick, rounding=ROUND_CEILING)
                if take_profit
                else None
            )
            if stop is not None and low <= stop:
                book.sell_all(t, min(open_, stop), "stop_loss")
            elif target is not None and high >= target:
                book.sell_all(t, target, "take_profit")
        action = decide(book, c, close)
        if action == "buy":
            qty = book.affordable(close)
            if fill == "close":
                book.buy(t, qty, close)
            elif qty * close >= MIN_NOTIONAL:
                pending = ("buy", qty)
        elif action == "sell":
            if fill == "close":
                book.sell_all(t, close, "signal")
            elif book.qty * close >= MIN_NOTIONAL:
                pending = ("sell", book.qty)
    return book


def sma_cross(
    frame: pd.DataFrame, fast: int = 10, slow: int = 30, *, fill: str = "close", rules: Rules = Rules()
) -> Book:
    """Flat and SMA(fast) > SMA(slow) → buy with all cash; long and SMA(fast) < SMA(slow) → sell all."""
    fast_w, slow_w = deque(maxlen=fast), deque(maxlen=slow)

    def decide(book: Book, c: float, close: Decimal) -> str | None:
        fast_w.append(c)
        slow_w.append(c)
        f, s = _sma(fast_w, fast), _sma(slow_w, slow)
        if f is None or s is None:
            return None
        if not book.long(close) and f > s:
            return "buy"
        if book.long(close) and f < s:
            return "sell"
        return None

    return run(frame, decide, fill=fill, rules=rules)


def bollinger_reversion(
    frame: pd.DataFrame,
    period: int = 20,
    k: float = 2.0,
    stop_loss: float = 0.02,
    take_profit: float = 0.03,
    *,
    fill: str = "close",
) -> Book:
    """Flat and the close below the lower band → buy with all cash; long and the close above
    the middle band → sell all; a stop-loss and a take-profit from the entry price."""
    window: deque[float] = deque(maxlen=period)

    def decide(book: Book, c: float, close: Decimal) -> str | None:
        window.append(c)
        bands = _bands(window, period, k)
        if bands is None:
            return None
        lower, middle, _ = bands
        if not book.long(close) and c < lower:
            return "buy"
        if book.long(close) and c > middle:
            return "sell"
        return None

    return run(frame, decide, fill=fill, stop_loss=stop_loss, take_profit=take_profit)


def final_equity(book: Book, frame: pd.DataFrame) -> Decimal:
    return book.cash + book.qty * book.rules.price(float(frame["close"].iloc[-1]))
