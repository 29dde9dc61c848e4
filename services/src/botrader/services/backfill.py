"""Backfill job: historical candles from Binance REST into the candles table.

Resumable: when the table already holds the start of the range without holes, the job
continues after the last stored candle instead of starting over; otherwise it walks the
whole range (upserts make re-fetched candles free). Uses the same REST client as the
collector, so rate limits (429/418, used weight) are honoured the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from botrader.core.binance.rest import BinanceRestClient
from botrader.core.candles import SeriesKey
from botrader.core.db.candles import CandleStore
from botrader.core.errors import UserError
from botrader.core.intervals import interval_ms, last_closed_open_time
from botrader.core.timeutil import format_ms


@dataclass(frozen=True, slots=True)
class BackfillPlan:
    key: SeriesKey
    start: int  # first open time to fetch
    end: int  # last open time to fetch
    requested_start: int
    already_stored: int

    @property
    def total(self) -> int:
        return max(0, (self.end - self.start) // interval_ms(self.key.interval) + 1)


@dataclass(frozen=True, slots=True)
class BackfillResult:
    fetched: int
    written: int
    stored_in_range: int


def plan_backfill(store: CandleStore, key: SeriesKey, start: int, end: int | None, now: int) -> BackfillPlan:
    step = interval_ms(key.interval)
    newest = last_closed_open_time(now, key.interval)
    start = -(-start // step) * step  # first whole bucket at or after start
    end = newest if end is None else min(end - end % step, newest)
    if start > newest:
        raise UserError(f"bad start {format_ms(start)}: no closed {key.interval} candle after it yet")
    if start > end:
        raise UserError(f"bad range: start {format_ms(start)} is after end {format_ms(end)}")
    cov = store.coverage(key, start, end)
    contiguous = cov.first == start and cov.last is not None and cov.count == (cov.last - start) // step + 1
    resume = cov.last + step if contiguous and cov.last is not None else start
    return BackfillPlan(key, resume, end, start, cov.count)


async def run_backfill(
    store: CandleStore,
    rest: BinanceRestClient,
    plan: BackfillPlan,
    progress: Callable[[int], None] | None = None,
) -> BackfillResult:
    """Fetch the plan's range page by page; each page is committed before the next request,
    so an interrupted job loses at most one page of work."""
    fetched = written = 0
    if plan.start <= plan.end:
        async for page in rest.iter_klines(plan.key.symbol, plan.key.interval, plan.start, plan.end):
            written += store.upsert(plan.key, page)
            fetched += len(page)
            if progress:
                progress(len(page))
    stored = store.coverage(plan.key, plan.requested_start, plan.end).count
    return BackfillResult(fetched, written, stored)
