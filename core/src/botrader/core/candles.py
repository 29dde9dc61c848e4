"""The market-data type every component passes around."""

from __future__ import annotations

import re
from dataclasses import dataclass

from botrader.core.errors import UserError
from botrader.core.intervals import interval_ms

_SYMBOL = re.compile(r"^[A-Z0-9]{2,20}$")


@dataclass(frozen=True, slots=True)
class SeriesKey:
    """Identifies one candle series; the database's primary key minus the time."""

    exchange: str
    symbol: str
    interval: str

    def __str__(self) -> str:
        return f"{self.exchange}:{self.symbol}:{self.interval}"


@dataclass(frozen=True, slots=True)
class Candle:
    """One closed OHLCV candle. `open_time` is epoch ms (UTC); prices are in the quote asset.

    Prices are floats: they are market observations, exactly representable to Binance's 8
    decimals within a double's 15-16 significant digits. Money we hold is accounted
    separately, with explicit rounding, by the engine.
    """

    open_time: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    quote_volume: float | None = None
    trades: int | None = None


def normalize_symbol(symbol: str) -> str:
    upper = symbol.strip().upper()
    if not _SYMBOL.match(upper):
        raise UserError(f"bad symbol {symbol!r}: expected letters and digits like BTCUSDT")
    return upper


def make_key(exchange: str, symbol: str, interval: str) -> SeriesKey:
    """Validated key: symbols are upper-cased, intervals must be Binance's names."""
    interval_ms(interval)
    return SeriesKey(exchange, normalize_symbol(symbol), interval)
