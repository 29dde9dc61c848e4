"""Mean reversion both ways on a perpetual: the long/short example (`can_short = True`).

    botrader backtest --strategy examples/strategies/bollinger_long_short.py:BollingerLongShort \\
        --data examples/data/AVAXUSDT-1m-2025-02.csv.gz --market usdm-perp --leverage 2 \\
        --funding-rate 0.0001 --fill next_open
"""

from __future__ import annotations

from botrader.core.strategy import Account, Bollinger, Candle, Exits, Param, Signal, Strategy, Values


class BollingerLongShort(Strategy):
    """Short a close above the upper Bollinger band, buy one below the lower band (the full
    position either way: a shorting strategy states targets), and go flat when the close is
    back across the middle band. A stop-loss from the entry price runs inside each candle."""

    can_short = True
    period = Param(60, ge=2, le=1000, search=(20, 240), help="Bollinger window (candles)")
    k = Param(2.5, gt=0, le=10, search=(1.5, 4.0), help="band width in standard deviations")
    stop_loss = Param(0.02, gt=0, lt=1, search=(0.005, 0.05), help="stop-loss from the entry price")

    @property
    def exits(self) -> Exits:
        return Exits(stop_loss=self.stop_loss)

    def indicators(self) -> dict:
        return {"bands": Bollinger(self.period, self.k)}

    def on_candle(self, candle: Candle, ind: Values, account: Account) -> Signal | None:
        bands = ind.bands
        if bands is None:
            return None
        if not account.short and candle.close > bands.upper:
            return self.sell(above_upper=round(candle.close - bands.upper, 4))
        if not account.long and candle.close < bands.lower:
            return self.buy(below_lower=round(bands.lower - candle.close, 4))
        if (account.long and candle.close > bands.middle) or (account.short and candle.close < bands.middle):
            return self.close(back_at_middle=round(bands.middle, 4))
        return None
