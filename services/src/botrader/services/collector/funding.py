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
from dataclasses import dataclass

from botrader.core.db.funding_rates import FundingRateStore
from botrader.services.collector.polling import Poller

log = logging.getLogger(__name__)
PAGE = 1000  # fundingRate's most rows per request


@dataclass
class FundingPoller(Poller):
    store: FundingRateStore | None = None

    async def catch_up(self) -> int:
        """Every rate that settled since the last one stored (or `start_ms`); how many were new."""
        new = 0
        for symbol in self.symbols:
            assert self.store is not None
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
        return new
