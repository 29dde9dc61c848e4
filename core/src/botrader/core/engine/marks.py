"""Mark prices for a perpetual: Binance's `markPriceKlines` (the same kline format as trades'
candles), read instead of the last price where Binance reads the mark — funding payments and
liquidation. A candle with no mark candle at its open time falls back to its own prices."""

from __future__ import annotations

from dataclasses import dataclass
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
