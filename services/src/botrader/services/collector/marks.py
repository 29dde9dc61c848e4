"""A USD-M perpetual's mark-price klines (`/fapi/v1/markPriceKlines`) into `mark_prices`,
beside its candles: fetched on start from where the candles start, then every `every`
seconds what closed since — a live perpetual bot waits for a candle's mark before trading it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from botrader.core.binance.rest import BinanceRestClient
from botrader.core.db.mark_prices import MarkPriceStore
from botrader.core.intervals import interval_ms, last_closed_open_time
from botrader.core.timeutil import now_ms

log = logging.getLogger(__name__)


class MarkPoller:
    def __init__(
        self,
        exchange: str,
        symbols: list[str],
        interval: str,
        rest: BinanceRestClient,
        store: MarkPriceStore,
        *,
        start_ms: int,
        every: float = 5.0,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.exchange, self.symbols, self.interval = exchange, symbols, interval
        self.rest, self.store = rest, store
        self.start_ms, self.every, self.clock = start_ms, every, clock
        self.stored = 0

    async def run(self) -> None:
        """Until cancelled."""
        while True:
            await self.catch_up()
            await asyncio.sleep(self.every)

    async def catch_up(self) -> int:
        """Every mark kline closed since the last stored one (or `start_ms`); how many were new."""
        new, step = 0, interval_ms(self.interval)
        end = last_closed_open_time(self.clock(), self.interval)
        for symbol in self.symbols:
            last = await asyncio.to_thread(self.store.last_open_time, self.exchange, symbol, self.interval)
            start = self.start_ms if last is None else last + step
            if start > end:
                continue
            pages = self.rest.iter_klines(symbol, self.interval, start, end, kind="markPriceKlines")
            async for page in pages:
                new += await asyncio.to_thread(self.store.upsert, self.exchange, symbol, self.interval, page)
        self.stored += new
        return new
