"""RSI both ways on a perpetual: long when oversold, short when overbought, flat back at the
middle — the long/short example (`can_short = True`), with a stop-loss both ways.

    botrader backtest --strategy examples/strategies/rsi_long_short.py:RsiLongShort \\
        --data examples/data/AVAXUSDT-1m-2025-02.csv.gz --market usdm-perp --leverage 2 \\
        --funding-rate 0.0001 --fill next_open
"""

from __future__ import annotations

from botrader.core.strategy import RSI, Account, Candle, Exits, Param, Signal, Strategy, Values


class RsiLongShort(Strategy):
    """Go long below `oversold`, short above `overbought` (RSI over `period` closes); close the
    position when the RSI crosses back through 50. A stop-loss (a fraction of the entry price,
    above it for a short) runs inside each candle."""

    can_short = True
    period = Param(14, ge=2, le=500, search=(7, 28), help="RSI window (closes)")
    oversold = Param(25.0, gt=0, lt=50, search=(15.0, 35.0), help="RSI below this: go long")
    overbought = Param(75.0, gt=50, lt=100, search=(65.0, 85.0), help="RSI above this: go short")
    stop_loss = Param(0.03, gt=0, lt=1, search=(0.01, 0.08), help="stop-loss from the entry price")

    @property
    def exits(self) -> Exits:
        return Exits(stop_loss=self.stop_loss)

    def indicators(self) -> dict:
        return {"rsi": RSI(self.period)}

    def on_candle(self, candle: Candle, ind: Values, account: Account) -> Signal | None:
        rsi = ind.rsi
        if rsi is None:
            return None
        if not account.long and rsi < self.oversold:
            return self.buy(rsi=round(rsi, 2))  # the full long (from a short: one order through zero)
        if not account.short and rsi > self.overbought:
            return self.sell(rsi=round(rsi, 2))  # the full short
        if (account.long and rsi > 50) or (account.short and rsi < 50):
            return self.close(rsi=round(rsi, 2))
        return None
