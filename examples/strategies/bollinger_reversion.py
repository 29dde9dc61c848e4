"""Mean reversion on Bollinger Bands, with a stop-loss and a take-profit the engine runs.

    botrader backtest --strategy examples/strategies/bollinger_reversion.py:BollingerReversion \\
        --data examples/data/bybit_btcusdt_perp_1m_2025-05-30_2025-06-29.csv.gz --fill next_open
"""

from __future__ import annotations

from botrader.core.strategy import Account, Bollinger, Candle, Exits, Param, Signal, Strategy, Values


class BollingerReversion(Strategy):
    """Buy a stretch below the lower Bollinger band (SMA(period) − k·σ) with all cash; sell when
    the close is back above the middle band. Every position also has a stop-loss and a
    take-profit (fractions of the entry price), checked by the engine within each candle."""

    period = Param(20, ge=2, le=1000, search=(10, 60), help="Bollinger window (candles)")
    k = Param(2.0, gt=0, le=10, search=(1.5, 3.0), help="band width in standard deviations")
    stop_loss = Param(0.02, gt=0, lt=1, search=(0.005, 0.05), help="stop-loss below the entry price")
    take_profit = Param(0.03, gt=0, le=1, search=(0.005, 0.08), help="take-profit above the entry price")

    @property
    def exits(self) -> Exits:  # from the parameters, so a search can tune them
        return Exits(stop_loss=self.stop_loss, take_profit=self.take_profit)

    def indicators(self) -> dict:
        return {"bands": Bollinger(self.period, self.k)}

    def on_candle(self, candle: Candle, ind: Values, account: Account) -> Signal | None:
        bands = ind.bands
        if bands is None:
            return None
        if account.flat and candle.close < bands.lower:
            return self.buy(1.0, below_lower=round(bands.lower - candle.close, 2))
        if account.long and candle.close > bands.middle:
            return self.sell(1.0, back_above_middle=round(candle.close - bands.middle, 2))
        return None
