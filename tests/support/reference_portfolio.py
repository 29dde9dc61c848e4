"""An independent equal-stake RSI portfolio in floats (pandas and plain Python, none of the
engine's code): the reference the portfolio engine is checked against.

Rules, per closed minute, symbols in alphabetical order:
- RSI(14) of each symbol's closes as `ta` computes it; a symbol is long when its position is
  worth at least the exchange's minimum notional at this close;
- snapshot: equity = cash + every position at this close; a position's stake is equity /
  `slots`;
- long and RSI > 70 → sell all; not long and RSI < 30 → buy whole lots with min(cash, stake −
  the position's value), fee included (nothing below the minimum notional);
- sells fill first; then buys in order, refused when `slots` positions are open already, and
  capped by the cash left and by equity − gross exposure; fee 0.1% on every fill, at the close.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
from ta.momentum import RSIIndicator

FEE = 0.001


@dataclass(frozen=True)
class Rules:
    tick: float  # prices trade on this grid (the perpetuals' finer ticks round to the spot pair's)
    step: float  # lot size
    min_notional: float


def reference_portfolio(
    frames: dict[str, pd.DataFrame], rules: dict[str, Rules], budget: float, slots: int, warmup: int
) -> tuple[list[tuple[int, str, str, int]], float]:
    """(trades as (open time, symbol, side, lots), final equity) over the minutes after
    `warmup`; every frame covers the same minutes."""
    symbols = sorted(frames)
    times = frames[symbols[0]]["open_time"].to_numpy()
    close = {s: (frames[s]["close"] / rules[s].tick).round().to_numpy() * rules[s].tick for s in symbols}
    rsi = {s: RSIIndicator(frames[s]["close"], 14).rsi().to_numpy() for s in symbols}
    cash, lots = budget, dict.fromkeys(symbols, 0)
    trades: list[tuple[int, str, str, int]] = []

    def value(s: str, i: int) -> float:
        return lots[s] * rules[s].step * close[s][i]

    def is_long(s: str, i: int) -> bool:
        return value(s, i) >= rules[s].min_notional

    for i in range(warmup, len(times)):
        equity = cash + sum(value(s, i) for s in symbols)
        stake = equity / slots
        sells, buys = [], []
        for s in symbols:
            r = rsi[s][i]
            if math.isnan(r):
                continue
            if is_long(s, i) and r > 70:
                sells.append(s)
            elif not is_long(s, i) and r < 30:
                visible = min(cash, max(stake - value(s, i), 0.0))
                q = math.floor(visible / (close[s][i] * rules[s].step * (1 + FEE)))
                if q and q * rules[s].step * close[s][i] >= rules[s].min_notional:
                    buys.append((s, q))
        for s in sells:
            cash += lots[s] * rules[s].step * close[s][i] * (1 - FEE)
            trades.append((int(times[i]), s, "sell", lots[s]))
            lots[s] = 0
        open_now = sum(is_long(s, i) for s in symbols)
        for s, q in buys:
            if not is_long(s, i) and open_now >= slots:
                continue
            gross = sum(value(x, i) for x in symbols)
            visible = min(cash, equity - gross)
            price = close[s][i] * rules[s].step
            q = min(q, math.floor(visible / (price * (1 + FEE))))
            if q <= 0 or q * price < rules[s].min_notional:
                continue
            was_long = is_long(s, i)
            cash -= q * price * (1 + FEE)
            lots[s] += q
            trades.append((int(times[i]), s, "buy", q))
            open_now += is_long(s, i) and not was_long
    last = len(times) - 1
    return trades, cash + sum(value(s, last) for s in symbols)
