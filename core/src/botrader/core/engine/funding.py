"""When funding is paid: a perpetual's funding times and their rates (the schedule the
engine asks between two candles; `data.funding` reads Binance's files into one)."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Protocol

from botrader.core.engine.margin import funding_rate_e8

MINUTE_MS = 60_000


def funding_time(published_ms: int) -> int:
    """A funding time as Binance publishes it (`fundingTime`, a dump's `calc_time`: the
    settlement's moment plus a few milliseconds of noise) → the whole minute it settled at."""
    return published_ms - published_ms % MINUTE_MS


class Funding(Protocol):
    """What the engine asks of a perpetual's funding: the payments between two candles and
    the next time to ask again."""

    def between(self, after: int, upto: int) -> list[tuple[int, int]]: ...

    def next_after(self, time: int) -> int: ...


@dataclass(frozen=True, slots=True)
class FundingSchedule:
    """Funding times (epoch ms, ascending, unique) and their rates in 1e-8."""

    times: tuple[int, ...]
    rates: tuple[int, ...]

    def between(self, after: int, upto: int) -> list[tuple[int, int]]:
        """The (time, rate) of each funding time in (after, upto]."""
        lo = bisect.bisect_right(self.times, after)
        hi = bisect.bisect_right(self.times, upto)
        return list(zip(self.times[lo:hi], self.rates[lo:hi], strict=True))

    def next_after(self, time: int) -> int:
        """The first funding time after `time` (past the last one: never)."""
        i = bisect.bisect_right(self.times, time)
        return self.times[i] if i < len(self.times) else 2**62

    def first_missing(self, start: int, end: int, interval_ms: int) -> int | None:
        """The first funding time of [start, end] at this interval without a rate (a backtest
        whose funding file stops early would otherwise pay nothing past its end), or None."""
        have = set(self.times)
        first = -(-start // interval_ms) * interval_ms
        return next((t for t in range(first, end + 1, interval_ms) if t not in have), None)


@dataclass(frozen=True, slots=True)
class ConstantFunding:
    """One rate at every multiple of the funding interval since the epoch (Binance's funding
    times: 00:00, 08:00, 16:00 UTC at 8 h), without end — a paper bot runs for months."""

    rate: int  # 1e-8
    interval_ms: int

    @classmethod
    def of(cls, rate: str, interval_ms: int) -> ConstantFunding:
        """From a published rate ("0.0001"; more than eight decimals is refused)."""
        return cls(funding_rate_e8(rate), interval_ms)

    def between(self, after: int, upto: int) -> list[tuple[int, int]]:
        first = (after // self.interval_ms + 1) * self.interval_ms
        return [(t, self.rate) for t in range(first, upto + 1, self.interval_ms)]

    def next_after(self, time: int) -> int:
        return (time // self.interval_ms + 1) * self.interval_ms

    def first_missing(self, start: int, end: int, interval_ms: int) -> int | None:
        return None


@dataclass(slots=True)
class StoredFunding:
    """The rates a live bot has been told so far (its collector's `funding_rates`), extended
    by its trader before each batch of candles. The trader never feeds a candle at or past a
    funding time whose rate is not stored yet (`missing`): that candle waits — never a silent
    zero."""

    interval_ms: int
    schedule: FundingSchedule = FundingSchedule((), ())

    def between(self, after: int, upto: int) -> list[tuple[int, int]]:
        return self.schedule.between(after, upto)

    def next_after(self, time: int) -> int:
        return (time // self.interval_ms + 1) * self.interval_ms

    @property
    def last(self) -> int | None:
        return self.schedule.times[-1] if self.schedule.times else None

    def extend(self, more: FundingSchedule) -> None:
        """Rates stored since the last extension (times after `last`)."""
        if more.times:
            known = self.schedule
            self.schedule = FundingSchedule(known.times + more.times, known.rates + more.rates)

    def missing(self, after: int, upto: int) -> int | None:
        """The first funding time in (after, upto] without a rate, or None."""
        have = set(self.schedule.times)
        t = self.next_after(after)
        while t <= upto:
            if t not in have:
                return t
            t += self.interval_ms
        return None
