"""simple_rsi on real candles agrees with an independent implementation written on
backtesting.py (FractionalBacktest in 0.00001 BTC units, commission 0.1%, fills at the
signal candle's close): same trade list, same final equity to the cent."""

import pandas as pd
import pytest

from botrader.core.backtesting.runner import run_backtest
from botrader.core.strategy.registry import make
from tests.support.reference_rsi import UNIT, backtesting_py_rsi


def backtesting_py(frame: pd.DataFrame) -> tuple[pd.DataFrame, float]:
    stats = backtesting_py_rsi(frame)
    return stats["_trades"], float(stats["_equity_curve"]["Equity"].iloc[-1])


@pytest.mark.slow
def test_simple_rsi_matches_backtesting_py(real_candles: pd.DataFrame) -> None:
    frame = real_candles.iloc[:15_000].reset_index(drop=True)
    trades, bt_equity = backtesting_py(frame)
    ours = run_backtest(frame, make("simple_rsi"))

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
