"""An independent long/short reference for the engine on a USD-M perpetual: plain floats, its
own reading of Binance's rules (the bundled brackets as data, nothing imported from the
engine), one loop. The engine is exact integers; this agrees with it within rounding.

Rules it implements (the engine's documented ones): the RSI long/short example strategy
(the built-in `rsi_long_short`: long below `oversold`, short above `overbought`,
flat when the RSI crosses back through 50; targets, a repeated one not re-traded, an exit
forgetting it) with its stop-loss; fills at the close with a taker fee; isolated margin at
`leverage`; funding at each 8-hour mark paid by the position held then, at that candle's open;
liquidation when the candle's adverse extreme reaches the isolated liquidation price, at that
price (or the open past it), the clearance fee out of what the margin holds.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from ta.momentum import RSIIndicator

RULES = Path(__file__).resolve().parents[2] / "core/src/botrader/core/binance/usdm_rules.json"
EIGHT_HOURS = 8 * 3_600_000


@dataclass
class Book:
    cash: float
    leverage: int
    qty: float = 0.0  # signed base units
    entry: float = 0.0  # average entry price
    margin: float = 0.0
    funding: float = 0.0
    fills: list[tuple[int, str, float, str]] = field(default_factory=list)  # (time, side, qty, reason)

    def equity(self, price: float) -> float:
        return self.cash + self.margin + self.qty * (price - self.entry)


def _symbol(symbol: str) -> tuple[list[tuple[float, float, float, float, int]], float, float, float]:
    doc = json.loads(RULES.read_text())
    brackets = next(b["brackets"] for b in doc["brackets"] if b["symbol"] == symbol)
    info = next(s for s in doc["symbols"] if s["symbol"] == symbol)
    filters = {f["filterType"]: f for f in info["filters"]}
    tiers = [
        (
            float(b["notionalFloor"]),
            float(b["notionalCap"]),
            float(b["maintMarginRatio"]),
            float(b["cum"]),
            int(b["initialLeverage"]),
        )
        for b in brackets
    ]
    return (
        tiers,
        float(filters["LOT_SIZE"]["stepSize"]),
        float(filters["PRICE_FILTER"]["tickSize"]),
        float(info["liquidationFee"]),
    )


def _liquidation_price(tiers: list, qty: float, entry: float, margin: float) -> float | None:
    side, size = (1.0 if qty > 0 else -1.0), abs(qty)
    for floor, cap, mmr, cum, _ in tiers:
        price = (side * size * entry - margin - cum) / (size * (side - mmr))
        if price <= 0:
            return None
        if floor < size * price <= cap or (floor, cap) == tiers[-1][:2]:
            return price
    return None


def reference_long_short(
    frame: pd.DataFrame,
    symbol: str,
    *,
    budget: float,
    leverage: int,
    fee: float,
    funding_rate: float,
    period: int = 14,
    oversold: float = 25.0,
    overbought: float = 75.0,
    stop_loss: float = 0.03,
) -> Book:
    tiers, step, tick, liq_fee = _symbol(symbol)
    rsi = RSIIndicator(frame["close"], period).rsi().to_numpy()
    book, target = Book(budget, leverage), None
    rows = zip(*(frame[c].to_numpy() for c in ("open_time", "open", "high", "low", "close")), strict=True)
    for i, (t, o, h, lo, c) in enumerate(rows):
        t = int(t)
        if t % EIGHT_HOURS == 0 and book.qty and i > 0:
            pay = -book.qty * o * funding_rate
            book.margin += pay
            book.funding += pay
        if book.qty:
            target = _intrabar(book, tiers, tick, liq_fee, fee, stop_loss, t, o, h, lo, target)
        value = rsi[i]
        if np.isnan(value):
            continue
        want = _decide(book, value, oversold, overbought)
        if want is None or want == target:
            continue
        target = want
        allowed = max(cap for _, cap, _, _, most in tiers if most >= leverage)
        _trade_to(book, want, c, step, fee, t, allowed)
    return book


def _decide(book: Book, value: float, oversold: float, overbought: float) -> float | None:
    long, short = book.qty > 0, book.qty < 0
    if not long and value < oversold:
        return 1.0
    if not short and value > overbought:
        return -1.0
    if (long and value > 50) or (short and value < 50):
        return 0.0
    return None


def _intrabar(
    book: Book, tiers: list, tick: float, liq_fee: float, fee: float, stop_loss: float,
    t: int, o: float, h: float, lo: float, target: float | None,
) -> float | None:  # fmt: skip
    """The stop or the liquidation, whichever the adverse move reaches first; the target
    returned (an exit forgets it)."""
    long = book.qty > 0
    stop = book.entry * (1 - stop_loss) if long else book.entry * (1 + stop_loss)
    stop = math.floor(stop / tick + 1e-9) * tick if long else math.ceil(stop / tick - 1e-9) * tick
    liq = _liquidation_price(tiers, book.qty, book.entry, book.margin)
    hit_stop = lo <= stop if long else h >= stop
    hit_liq = liq is not None and (lo <= liq if long else h >= liq)
    stop_fill = min(o, stop) if long else max(o, stop)
    liq_fill = (min(o, liq) if long else max(o, liq)) if hit_liq else None
    if hit_liq and not (hit_stop and (stop_fill > liq_fill if long else stop_fill < liq_fill)):  # type: ignore[operator]
        notional = abs(book.qty) * liq_fill  # type: ignore[operator]
        balance = book.margin + book.qty * (liq_fill - book.entry)  # type: ignore[operator]
        charge = min(notional * liq_fee, max(balance, 0.0))
        book.cash += max(balance - charge, 0.0)
        book.fills.append((t, "sell" if long else "buy", abs(book.qty), "liquidation"))
        book.qty = book.entry = book.margin = 0.0
        return None
    if hit_stop:
        book.fills.append((t, "sell" if long else "buy", abs(book.qty), "stop_loss"))
        _close(book, abs(book.qty), stop_fill, fee)
        return None
    return target


def _close(book: Book, size: float, price: float, fee: float) -> None:
    share = size / abs(book.qty)
    released = book.margin * share
    gross = math.copysign(size, book.qty) * (price - book.entry)
    book.cash += released + gross - size * price * fee
    book.margin -= released
    book.qty -= math.copysign(size, book.qty)
    if abs(book.qty) < 1e-12:
        book.qty = book.entry = book.margin = 0.0


def _trade_to(book: Book, want: float, price: float, step: float, fee: float, t: int, allowed: float) -> None:
    """To `want` of the full exposure: equity × leverage, no more than the notional Binance's
    brackets allow at that leverage."""
    most = math.floor(min(book.equity(price) * book.leverage, allowed) / price / step + 1e-9) * step
    goal = want * most
    delta = goal - book.qty
    if abs(delta) < step / 2:
        return
    side = "buy" if delta > 0 else "sell"
    closing = min(abs(delta), abs(book.qty)) if book.qty and (book.qty > 0) != (delta > 0) else 0.0
    opening = abs(delta) - closing
    traded = 0.0
    if closing:
        _close(book, closing, price, fee)
        traded += closing
    if opening > step / 2:
        room = book.cash * book.leverage / (price * (1 + book.leverage * fee))
        opening = min(opening, math.floor(room / step + 1e-9) * step)
        if opening > step / 2:
            cost = opening * price
            book.cash -= cost / book.leverage + cost * fee
            book.margin += cost / book.leverage
            signed = math.copysign(opening, delta)
            book.entry = (book.entry * abs(book.qty) + price * opening) / (abs(book.qty) + opening)
            book.qty += signed
            traded += opening
    if traded:
        book.fills.append((t, side, traded, "signal"))
