"""Botrader's own rule strategies, written on the public strategy API exactly as a user's
would be (registered in botrader-core's `botrader.strategies` entry points)."""

from __future__ import annotations

from typing import Any

import numpy as np

from botrader.core.engine.exits import Exits
from botrader.core.engine.view import Account, Bar
from botrader.core.strategy.base import Signal, Strategy, Values
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

    @classmethod
    def sweep_signals(cls, frame: Any, params: dict[str, Any], cache: dict[Any, Any]) -> np.ndarray:
        """`on_candle` for every candle at once (botrader.core.research.sweep): +1 buys from
        flat, -1 sells a long."""
        p = cls(**params)
        rsi = _series(cache, ("rsi", p.period), lambda: RSI(p.period), frame)
        return np.where(rsi < p.oversold, 1, np.where(rsi > p.overbought, -1, 0)).astype(np.int8)

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

    @classmethod
    def sweep_signals(cls, frame: Any, params: dict[str, Any], cache: dict[Any, Any]) -> np.ndarray:
        p = cls(**params)
        rsi = _series(cache, ("rsi", p.period), lambda: RSI(p.period), frame)
        trend = _series(cache, ("sma", p.sma_period), lambda: SMA(p.sma_period), frame)
        close = frame["close"].to_numpy(dtype=float)
        defined = ~(np.isnan(rsi) | np.isnan(trend))
        buy = defined & (rsi < p.oversold) & (close > trend)
        sell = defined & ((rsi > p.overbought) | (close < trend))
        return np.where(buy & ~sell, 1, np.where(sell, -1, 0)).astype(np.int8)

    def on_candle(self, candle: Bar, ind: Values, account: Account) -> float | None:
        rsi, trend = ind.rsi, ind.sma
        if rsi is None or trend is None:
            return None
        if account.long:
            return -1.0 if rsi > self.overbought or candle.close < trend else None
        return 1.0 if rsi < self.oversold and candle.close > trend else None

    def explain(self) -> dict[str, Any]:
        return {**super().explain(), "sma": self._values.sma}


def _series(cache: dict[Any, Any], key: Any, make: Any, frame: Any) -> np.ndarray:
    """An indicator's values over the frame, computed once per key for a whole sweep."""
    from botrader.core.research.sweep import series

    if key not in cache:
        cache[key] = series(make(), frame)
    return cache[key]


class RsiLongShort(Strategy):
    """RSI both ways (perpetuals): the full long below `oversold`, the full short above
    `overbought`, flat when the RSI crosses back through 50; a stop-loss both ways (a fraction
    of the entry price, above it for a short). The short-capable rule baseline of a
    perpetual's card."""

    name = "rsi_long_short"
    can_short = True
    period = Param(14, ge=2, le=1000, search=(7, 28), help="RSI window (Wilder smoothing)")
    oversold = Param(25.0, gt=0, lt=50, search=(15.0, 35.0), help="RSI below this: go long")
    overbought = Param(75.0, gt=50, lt=100, search=(65.0, 85.0), help="RSI above this: go short")
    stop_loss = Param(0.03, gt=0, lt=1, search=(0.01, 0.08), help="stop-loss from the entry price")

    @property
    def exits(self) -> Exits:  # from the parameters, so a search can tune it
        return Exits(stop_loss=self.stop_loss)

    def indicators(self) -> dict[str, Indicator]:
        return {"rsi": RSI(self.period)}

    def on_candle(self, candle: Bar, ind: Values, account: Account) -> Signal | None:
        rsi = ind.rsi
        if rsi is None:
            return None
        if not account.long and rsi < self.oversold:
            return self.buy(rsi=round(rsi, 2))  # from a short: one order through zero
        if not account.short and rsi > self.overbought:
            return self.sell(rsi=round(rsi, 2))
        if (account.long and rsi > 50) or (account.short and rsi < 50):
            return self.close(rsi=round(rsi, 2))
        return None
