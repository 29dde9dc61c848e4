"""An independent simple_rsi written on backtesting.py: the reference the engine's tests and
benchmark compare against. Rules: RSI(14) as `ta` computes it; flat and RSI < 30 → buy with
all cash (fee included) at the candle's close; long and RSI > 70 → sell all at the close;
0.1% commission; whole 0.00001 BTC units (FractionalBacktest)."""

from __future__ import annotations

import warnings

import pandas as pd
from ta.momentum import RSIIndicator

FEE, UNIT, BUDGET = 0.001, 1e-5, 10_000.0


def backtesting_py_rsi(frame: pd.DataFrame) -> pd.Series:
    """backtesting.py's stats for `frame`: `_trades` and `_equity_curve` among them."""
    from backtesting import Strategy
    from backtesting.lib import FractionalBacktest

    data = pd.DataFrame(
        {
            "Open": frame["open"].to_numpy(),
            "High": frame["high"].to_numpy(),
            "Low": frame["low"].to_numpy(),
            "Close": frame["close"].to_numpy(),
            "Volume": frame["volume"].to_numpy(),
        },
        index=pd.to_datetime(frame["open_time"], unit="ms"),
    )
    # warm-up NaNs read as neutral 50: backtesting.py would otherwise skip the bar where RSI
    # first exists (it starts one bar after every indicator is defined)
    rsi = RSIIndicator(frame["close"], 14).rsi().fillna(50.0).to_numpy()

    class Rsi(Strategy):
        def init(self) -> None:
            self.rsi = self.I(lambda: rsi, name="rsi")

        def next(self) -> None:
            value = self.rsi[-1]
            if not self.position and value < 30:
                units = int(self._broker._cash // (self.data.Close[-1] * (1 + FEE)))  # all cash, fee included
                if units:
                    self.buy(size=units)
            elif self.position and value > 70:
                self.position.close()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        backtest = FractionalBacktest(
            data,
            Rsi,
            cash=BUDGET,
            commission=FEE,
            trade_on_close=True,
            fractional_unit=UNIT,
            finalize_trades=False,
        )
        return backtest.run()
