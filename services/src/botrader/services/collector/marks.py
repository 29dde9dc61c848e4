"""A USD-M perpetual's mark-price klines (`/fapi/v1/markPriceKlines`) into `mark_prices`,
beside its candles: fetched on start from where the candles start, then every `every`
seconds what closed since — a live perpetual bot waits for a candle's mark before trading it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from botrader.core.db.mark_prices import MarkPriceStore
from botrader.core.intervals import interval_ms, last_closed_open_time
from botrader.services.collector.polling import Poller


@dataclass
class MarkPoller(Poller):
    interval: str = "1m"
    store: MarkPriceStore | None = None

    async def catch_up(self) -> int:
        """Every mark kline closed since the last stored one (or `start_ms`); how many were new."""
        new, step = 0, interval_ms(self.interval)
        end = last_closed_open_time(self.clock(), self.interval)
        assert self.store is not None
        for symbol in self.symbols:
            last = await asyncio.to_thread(self.store.last_open_time, self.exchange, symbol, self.interval)
            start = self.start_ms if last is None else last + step
            if start > end:
                continue
            pages = self.rest.iter_klines(symbol, self.interval, start, end, kind="markPriceKlines")
            async for page in pages:
                new += await asyncio.to_thread(self.store.upsert, self.exchange, symbol, self.interval, page)
        return new
