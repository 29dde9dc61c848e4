"""A USD-M perpetual's settled funding rates into `funding_rates`, beside its candles.

Binance publishes a funding time's rate in `/fapi/v1/fundingRate` once it settles; a live
perpetual bot must not trade past a funding time whose rate is unknown (it would silently
pay nothing), so the collector fetches what settled since the last stored rate on start and
then every `every` seconds — a few requests an hour for a handful of symbols, well inside
the endpoint's shared budget.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from botrader.core.binance.rest import BinanceRestClient
from botrader.core.db.funding_rates import FundingRateStore
from botrader.core.timeutil import now_ms

log = logging.getLogger(__name__)
PAGE = 1000  # fundingRate's most rows per request


class FundingPoller:
    def __init__(
        self,
        exchange: str,
        symbols: list[str],
        rest: BinanceRestClient,
        store: FundingRateStore,
        *,
        start_ms: int,
        every: float = 60.0,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.exchange, self.symbols, self.rest, self.store = exchange, symbols, rest, store
        self.start_ms, self.every, self.clock = start_ms, every, clock
        self.stored = 0

    async def run(self) -> None:
        """Until cancelled."""
        while True:
            await self.catch_up()
            await asyncio.sleep(self.every)

    async def catch_up(self) -> int:
        """Every rate that settled since the last one stored (or `start_ms`); how many were new."""
        new = 0
        for symbol in self.symbols:
            last = await asyncio.to_thread(self.store.last_time, self.exchange, symbol)
            start = self.start_ms if last is None else last + 1
            while True:
                page = await self.rest.funding_rates(symbol, start)
                if not page:
                    break
                new += await asyncio.to_thread(self.store.upsert, self.exchange, symbol, page)
                if len(page) < PAGE:
                    break
                start = page[-1][0] + 1
        if new:
            log.info("stored %d funding rate(s)", new)
        self.stored += new
        return new
