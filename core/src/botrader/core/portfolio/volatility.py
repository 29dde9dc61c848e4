"""`stake: volatility`: each pair's stake in inverse proportion to how much it moves.

A pair's volatility is its ATR(14) — Wilder's average of true ranges — as a fraction of its
close. Its stake is the equal stake times its inverse volatility over the pairs' mean inverse
volatility, so the pairs' stakes average the equal one: a calm pair holds more, a wild one
less, each capped by maxPositionFraction. A pair without 14 candles yet gets the equal stake.
Every pair of the minute is observed before any is sized (one snapshot); the weight becomes an
integer share in ppm before it touches money.
"""

from __future__ import annotations

from typing import Any

from botrader.core.engine.units import fraction_of

PERIOD = 14


class InverseVolatility:
    uniform = False

    def __init__(self, share_ppm: int, cap_ppm: int) -> None:
        self.share, self.cap = share_ppm, cap_ppm
        self.atr: dict[str, float] = {}  # Wilder's ATR once PERIOD true ranges are in, else their sum
        self.seen: dict[str, int] = {}  # true ranges seen
        self.close: dict[str, float] = {}
        self.ppm: dict[str, int] = {}  # this minute's stakes, in ppm of equity

    def observe(self, symbol: str, high: float, low: float, close: float) -> None:
        before = self.close.get(symbol)
        true_range = high - low if before is None else max(high, before) - min(low, before)
        n = self.seen.get(symbol, 0) + 1
        atr = self.atr.get(symbol, 0.0)
        self.atr[symbol] = atr + true_range if n <= PERIOD else atr + (true_range - atr) / PERIOD
        if n == PERIOD:
            self.atr[symbol] /= PERIOD  # the first average: a plain mean, as Wilder starts it
        self.seen[symbol], self.close[symbol] = n, close

    def refresh(self) -> None:
        """This minute's stakes, from every pair observed so far."""
        inverse = {
            s: self.close[s] / atr for s, atr in self.atr.items() if self.seen[s] >= PERIOD and atr > 0
        }
        mean = sum(inverse.values()) / len(inverse) if inverse else 0.0
        self.ppm = {s: min(round(self.share * v / mean), self.cap) for s, v in inverse.items()}

    def of(self, symbol: str, equity: int) -> int:
        return fraction_of(max(equity, 0), self.ppm.get(symbol, min(self.share, self.cap)))

    def state(self) -> dict[str, Any]:
        return {
            "atr": dict(self.atr),
            "seen": dict(self.seen),
            "close": dict(self.close),
            "ppm": dict(self.ppm),
        }

    def load(self, state: dict[str, Any]) -> None:
        self.atr, self.seen = dict(state["atr"]), dict(state["seen"])
        self.close, self.ppm = dict(state["close"]), dict(state["ppm"])
