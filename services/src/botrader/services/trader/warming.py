"""When a new live bot may warm up: once each of its series has caught up with the exchange
(`intervals.caught_up`). Until then its status says which pairs it waits for — a bot that
shows no candles and no reason reads as broken."""

from __future__ import annotations

from collections.abc import Mapping

from botrader.core.candles import SeriesKey
from botrader.core.db.candles import CandleStore
from botrader.core.intervals import caught_up


class Stalls:
    """How long each pair's newest stored candle has stood still while a new portfolio warms.
    A pair still behind whose collector stored nothing new for `patience_ms` (the bot's
    `staleDataSeconds`) is stalled — its collector is down — and no longer waited on: the other
    pairs warm and trade, and it is skipped as stale, as a pair that stops while trading is;
    one dead collector among twenty must not hold the bot forever."""

    def __init__(self, patience_s: float | None) -> None:
        self.patience_s = patience_s
        self.patience_ms = None if patience_s is None else int(patience_s * 1000)
        self.seen: dict[str, tuple[int | None, int]] = {}  # symbol → (newest stored, since when)

    def stalled(self, symbol: str, newest: int | None, now: int) -> bool:
        before = self.seen.get(symbol)
        if before is None or before[0] != newest:
            self.seen[symbol] = (newest, now)
            return False
        return self.patience_ms is not None and now - before[1] >= self.patience_ms


def live_edge(
    candles: CandleStore,
    keys: Mapping[str, SeriesKey],
    now: int,
    interval: str,
    stalls: Stalls | None = None,
) -> tuple[list[str], list[str], int | None]:
    """(the symbols whose stored candles have not reached the present yet and are waited on,
    those behind that stalled (never without `stalls`), the newest minute every other symbol
    has reached — None while any is waited on, or none is left)."""
    newest = {symbol: candles.last_open_time(key) for symbol, key in keys.items()}
    behind = sorted(s for s, t in newest.items() if not caught_up(t, now, interval))
    stalled = [s for s in behind if stalls is not None and stalls.stalled(s, newest[s], now)]
    waiting = [s for s in behind if s not in stalled]
    live = [t for s, t in newest.items() if s not in stalled and t is not None]
    return waiting, stalled, None if waiting or not live else min(live)


def status_message(breakers: Mapping[str, str], waiting: list[str]) -> str:
    """The bot's status message: why each open breaker opened, and what a warming bot waits for."""
    reasons = list(breakers.values())
    if waiting:
        reasons.append(f"warming up: waiting for {', '.join(waiting)} candles to reach the present")
    return "; ".join(reasons)
