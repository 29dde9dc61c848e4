"""Candle intervals as Binance names them, and the arithmetic on UTC-aligned buckets."""

from __future__ import annotations

from botrader.core.errors import UserError

_MINUTE = 60_000
INTERVAL_MS: dict[str, int] = {
    "1m": _MINUTE,
    "3m": 3 * _MINUTE,
    "5m": 5 * _MINUTE,
    "15m": 15 * _MINUTE,
    "30m": 30 * _MINUTE,
    "1h": 60 * _MINUTE,
    "2h": 120 * _MINUTE,
    "4h": 240 * _MINUTE,
    "6h": 360 * _MINUTE,
    "8h": 480 * _MINUTE,
    "12h": 720 * _MINUTE,
    "1d": 1440 * _MINUTE,
}


def interval_ms(interval: str) -> int:
    try:
        return INTERVAL_MS[interval]
    except KeyError:
        known = ", ".join(INTERVAL_MS)
        raise UserError(f"unknown interval {interval!r}: expected one of {known}") from None


def floor_to_interval(ms: int, interval: str) -> int:
    """Start of the UTC-aligned bucket holding `ms` (Binance aligns buckets to the epoch)."""
    step = interval_ms(interval)
    return ms - ms % step


def last_closed_open_time(now: int, interval: str) -> int:
    """Open time of the newest candle that has closed at instant `now`."""
    return floor_to_interval(now, interval) - interval_ms(interval)


def caught_up(newest_open: int | None, now: int, interval: str) -> bool:
    """Whether a stored series has reached the exchange's present: its newest candle is the
    last one closed by `now`, or the one before (a collector writes a candle moments after it
    closes). A new live bot warms up only then — before, the newest stored candles are a
    backfill's, or the collector's first catch-up page, and trading from them would replay
    history as if it were live."""
    if newest_open is None:
        return False
    return newest_open >= last_closed_open_time(now, interval) - interval_ms(interval)
