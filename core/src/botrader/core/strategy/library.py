"""Botrader's own rule strategies, written on the public strategy API exactly as a user's
would be (registered in botrader-core's `botrader.strategies` entry points)."""

from __future__ import annotations

from typing import Any

from botrader.core.engine.view import Account, Bar
from botrader.core.strategy.base import Strategy, Values
from botrader.core.strategy.indicators import RSI, SMA, Indicator
from botrader.core.strategy.params import Param


class SimpleRsi(Strategy):
    """RSI(period): buy with all cash when flat and RSI < oversold; sell all when long and
    RSI > overbought."""

    name = "simple_rsi"
    aliases = ("rsi",)
    period = Param(14, ge=2, le=1000, help="RSI window (Wilder smoothing)")
    oversold = Param(30.0, ge=0, le=100, search=(20, 30), help="buy below this RSI")
    overbought = Param(70.0, ge=0, le=100, search=(70, 80), help="sell above this RSI")

    def validate(self) -> None:
        if not self.oversold < self.overbought:
            raise ValueError(f"oversold {self.oversold:g} must be below overbought {self.overbought:g}")

    def indicators(self) -> dict[str, Indicator]:
        return {"rsi": RSI(self.period)}

    def on_candle(self, candle: Bar, ind: Values, account: Account) -> float | None:
        rsi = ind.rsi
        if rsi is None:
            return None
        if account.long:
            return -1.0 if rsi > self.overbought else None
        return 1.0 if rsi < self.oversold else None

    def explain(self) -> dict[str, Any]:
        rsi = self._values.rsi
        if rsi is None:
            return {"rsi": None}
        edge = (self.oversold - rsi) if rsi < self.oversold else (rsi - self.overbought)
        return {
            "rsi": rsi,
            "oversold": self.oversold,
            "overbought": self.overbought,
            "confidence": max(0.0, min(1.0, edge / 30.0)),
        }


class RsiSma(SimpleRsi):
    """RSI with a trend filter: buy an oversold dip only while the close is above its
    SMA(sma_period) (an uptrend); sell when overbought or when the close falls below the SMA."""

    name = "rsi_sma"
    aliases = ()
    oversold = Param(30.0, ge=0, le=100, search=(25, 30), help="buy below this RSI")
    overbought = Param(70.0, ge=0, le=100, search=(70, 75), help="sell above this RSI")
    sma_period = Param(200, ge=2, le=10_000, search=[100, 200], help="trend filter window")

    def indicators(self) -> dict[str, Indicator]:
        return {"rsi": RSI(self.period), "sma": SMA(self.sma_period)}

    def on_candle(self, candle: Bar, ind: Values, account: Account) -> float | None:
        rsi, trend = ind.rsi, ind.sma
        if rsi is None or trend is None:
            return None
        if account.long:
            return -1.0 if rsi > self.overbought or candle.close < trend else None
        return 1.0 if rsi < self.oversold and candle.close > trend else None

    def explain(self) -> dict[str, Any]:
        return {**super().explain(), "sma": self._values.sma}
