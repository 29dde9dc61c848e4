"""Mark prices for a perpetual: Binance's `markPriceKlines` (the same kline format as trades'
candles), read instead of the last price where Binance reads the mark — funding payments and
liquidation. A candle with no mark candle at its open time falls back to its own prices."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class MarkPrices:
    times: tuple[int, ...]  # open times, ascending
    opens: tuple[float, ...]
    highs: tuple[float, ...]
    lows: tuple[float, ...]

    def find(self, time: int, cursor: int) -> tuple[int, int]:
        """(index of the mark candle opening at `time` or −1, the cursor to pass next time):
        candles come in time order, so the search only ever moves forward."""
        times, n = self.times, len(self.times)
        while cursor < n and times[cursor] < time:
            cursor += 1
        return (cursor if cursor < n and times[cursor] == time else -1), cursor

    @classmethod
    def from_frame(cls, frame: Any) -> MarkPrices:
        """From a candle frame (`data.files.read_candles_frame` of a markPriceKlines dump)."""
        return cls(
            tuple(int(t) for t in frame["open_time"]),
            tuple(float(x) for x in frame["open"]),
            tuple(float(x) for x in frame["high"]),
            tuple(float(x) for x in frame["low"]),
        )


@dataclass(slots=True)
class StoredMarks:
    """The mark klines a live bot has been told so far (its collector's `mark_prices`),
    extended by its trader before each batch; the same reading surface as `MarkPrices`. The
    trader never feeds a candle whose mark kline is not stored yet (`first_without`): it waits,
    so the live bot and a later backtest of the same stored data read the same marks."""

    times: list[int] = field(default_factory=list)
    opens: list[float] = field(default_factory=list)
    highs: list[float] = field(default_factory=list)
    lows: list[float] = field(default_factory=list)

    def find(self, time: int, cursor: int) -> tuple[int, int]:
        return MarkPrices.find(self, time, cursor)  # type: ignore[arg-type]

    @property
    def last(self) -> int | None:
        return self.times[-1] if self.times else None

    def extend(self, more: MarkPrices) -> None:
        """Add mark klines not known yet, keeping time order (a late one lands in its place)."""
        if more.times and (not self.times or more.times[0] > self.times[-1]):  # the usual case
            self.times += more.times
            self.opens += more.opens
            self.highs += more.highs
            self.lows += more.lows
            return
        known = set(self.times)
        for t, o, h, low in zip(more.times, more.opens, more.highs, more.lows, strict=True):
            if t not in known:
                i = bisect.bisect_left(self.times, t)
                self.times.insert(i, t)
                self.opens.insert(i, o)
                self.highs.insert(i, h)
                self.lows.insert(i, low)

    def first_without(self, times: list[int]) -> int | None:
        """The first of these candle open times with no mark kline stored, or None."""
        if not times:
            return None
        i = bisect.bisect_left(self.times, times[0])  # both ascending: look at that stretch only
        have = set(self.times[i : i + len(times)])
        return next((t for t in times if t not in have), None)
