"""Replay source: a candle file played back as if it were live, `speed` times faster than
real time (speed 60 = one 1-minute candle per second; 0 = as fast as the database takes
them). The demo and the end-to-end tests run on it, so it goes through the same writer,
metrics and notifications as the live stream."""

from __future__ import annotations

import asyncio
import time

import pandas as pd

from botrader.core.candles import SeriesKey
from botrader.core.data.files import frame_to_candles
from botrader.core.intervals import interval_ms
from botrader.services.collector.writer import CandleWriter


class ReplaySource:
    """One or more series (a portfolio's pairs) played back together, minute by minute: every
    pair's candle of a minute is written before any of the next minute's."""

    def __init__(self, series: dict[SeriesKey, pd.DataFrame], speed: float, writer: CandleWriter) -> None:
        self.keys = list(series)
        merged = [
            (c.open_time, i, c) for i, frame in enumerate(series.values()) for c in frame_to_candles(frame)
        ]
        merged.sort(key=lambda m: (m[0], m[1]))
        self.candles = [(self.keys[i], c) for _, i, c in merged]
        self.speed = speed
        self.writer = writer
        self.step = interval_ms(self.keys[0].interval)
        self.position = 0
        first = self.candles[0][1].open_time if self.candles else 0
        self.virtual_now = first  # the replayed market's clock, in epoch ms

    def clock(self) -> int:
        return self.virtual_now

    async def run(self) -> None:
        """Play every candle once, in order, then return."""
        if not self.candles:
            return
        wall_start, first_close = time.monotonic(), self.candles[0][1].open_time + self.step
        for index, (key, candle) in enumerate(self.candles):
            close = candle.open_time + self.step
            if self.speed > 0:
                due = wall_start + (close - first_close) / 1000 / self.speed
                await asyncio.sleep(max(0.0, due - time.monotonic()))
            elif index % 1000 == 0:
                await asyncio.sleep(0)
            self.virtual_now = close
            await self.writer.put(key, [candle])
            self.position = index + 1
