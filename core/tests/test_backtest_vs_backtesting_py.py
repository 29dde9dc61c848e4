"""simple_rsi on real candles agrees with an independent implementation written on
backtesting.py (FractionalBacktest in 0.00001 BTC units, commission 0.1%, fills at the
signal candle's close): same trade list, same final equity to the cent."""

import warnings

import pandas as pd
import pytest
from backtesting import Strategy as BtStrategy
from backtesting.lib import FractionalBacktest
from ta.momentum import RSIIndicator

from botrader.core.engine.backtest import run_backtest
from botrader.core.engine.strategies import make_strategy

FEE, UNIT, BUDGET = 0.001, 1e-5, 10_000.0


def backtesting_py(frame: pd.DataFrame) -> tuple[pd.DataFrame, float]:
    data = pd.DataFrame(
        {
            "Open": frame["open"].to_numpy(),
            "High": frame["high"].to_numpy(),
            "Low": frame["low"].to_numpy(),
            "Close": frame["close"].to_numpy(),
            "Volume": frame["volume"].to_numpy(),
        },
        index=pd.to_datetime(frame["open_time"], unit="ms", utc=True).dt.tz_localize(None),
    )
    # warm-up NaNs read as neutral 50: backtesting.py would otherwise skip the bar where RSI
    # first exists (it starts one bar after every indicator is defined)
    rsi = RSIIndicator(frame["close"], 14).rsi().fillna(50.0).to_numpy()

    class Rsi(BtStrategy):
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
        bt = FractionalBacktest(
            data,
            Rsi,
            cash=BUDGET,
            commission=FEE,
            trade_on_close=True,
            fractional_unit=UNIT,
            finalize_trades=False,
        )
        stats = bt.run()
    return stats["_trades"], float(stats["_equity_curve"]["Equity"].iloc[-1])


@pytest.mark.slow
def test_simple_rsi_matches_backtesting_py(real_candles: pd.DataFrame) -> None:
    frame = real_candles.iloc[:15_000].reset_index(drop=True)
    trades, bt_equity = backtesting_py(frame)
    ours = run_backtest(frame, make_strategy("simple_rsi"))

    buys = [f for f in ours.fills if f.side == "buy"]
    sells = [f for f in ours.fills if f.side == "sell"]
    closed = trades.dropna(subset=["ExitTime"]) if "ExitTime" in trades else trades
    assert len(buys) >= 20 and len(closed) == len(sells)
    times = pd.to_datetime(frame["open_time"], unit="ms")
    entry = times.searchsorted(closed["EntryTime"].to_numpy())
    exit_ = times.searchsorted(closed["ExitTime"].to_numpy())
    assert [frame["open_time"].iloc[i] for i in entry] == [f.time for f in buys[: len(closed)]]
    assert [frame["open_time"].iloc[i] for i in exit_] == [f.time for f in sells]
    assert [round(s / UNIT) for s in closed["Size"]] == [f.lots for f in sells]
    assert closed["EntryPrice"].to_numpy() == pytest.approx(
        [f.price / 100 for f in buys[: len(closed)]], abs=1e-6
    )
    assert ours.performance.final_equity == pytest.approx(bt_equity, abs=0.01)
