"""When a new live bot may warm up: once each of its series has caught up with the exchange
(`intervals.caught_up`). Until then its status says which pairs it waits for — a bot that
shows no candles and no reason reads as broken."""

from __future__ import annotations

from collections.abc import Mapping

from botrader.core.candles import SeriesKey
from botrader.core.db.candles import CandleStore
from botrader.core.intervals import caught_up


def live_edge(
    candles: CandleStore, keys: Mapping[str, SeriesKey], now: int, interval: str
) -> tuple[list[str], int | None]:
    """(the symbols whose stored candles have not reached the present yet, the newest minute
    every symbol has reached — None until none is behind)."""
    newest = {symbol: candles.last_open_time(key) for symbol, key in keys.items()}
    behind = sorted(s for s, t in newest.items() if not caught_up(t, now, interval))
    return behind, None if behind else min(t for t in newest.values() if t is not None)


def status_message(breakers: Mapping[str, str], waiting: list[str]) -> str:
    """The bot's status message: why each open breaker opened, and what a warming bot waits for."""
    reasons = list(breakers.values())
    if waiting:
        reasons.append(f"warming up: waiting for {', '.join(waiting)} candles to reach the present")
    return "; ".join(reasons)
