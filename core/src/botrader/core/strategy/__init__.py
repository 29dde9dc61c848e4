"""Botrader's strategy API: write a strategy as one class in one file.

    from botrader.core.strategy import SMA, Param, Strategy

See `botrader.core.strategy.base` for the whole contract, `botrader strategy new NAME` for a
commented template, and `botrader strategy check REF --data FILE` for the checks (look-ahead,
warm-up, determinism, exact resume) to run before trusting a backtest.
"""

from botrader.core.engine.exits import Exits
from botrader.core.engine.view import Account, Bar
from botrader.core.strategy.base import Signal, Strategy, Values
from botrader.core.strategy.indicators import (
    ATR,
    EMA,
    MACD,
    RSI,
    SMA,
    BandsValue,
    Batch,
    Bollinger,
    Indicator,
    MacdValue,
)
from botrader.core.strategy.params import Param

Candle = Bar  # the closed candle a strategy sees

__all__ = [
    "ATR",
    "EMA",
    "MACD",
    "RSI",
    "SMA",
    "Account",
    "BandsValue",
    "Bar",
    "Batch",
    "Bollinger",
    "Candle",
    "Exits",
    "Indicator",
    "MacdValue",
    "Param",
    "Signal",
    "Strategy",
    "Values",
]
