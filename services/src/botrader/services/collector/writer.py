"""The collector's single writer: every closed candle, from the stream or from a REST gap
fill, goes through one queue into the store.

Whatever is waiting when the writer wakes is committed in one transaction (group commit):
one candle costs one round trip, so latency stays in milliseconds, and a burst of 1000
from a gap fill costs one COPY rather than 1000 commits. The database call runs in a
thread so the event loop keeps answering pings meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from botrader.core.candles import Candle, SeriesKey
from botrader.core.db.candles import CandleStore
from botrader.core.intervals import interval_ms
from botrader.core.timeutil import now_ms
from botrader.services.collector import metrics

log = logging.getLogger(__name__)

CommitHook = Callable[[SeriesKey, Sequence[Candle], int], None]


@dataclass(slots=True)
class _Item:
    key: SeriesKey
    candles: Sequence[Candle]
    received: float  # perf_counter at arrival
    from_rest: bool


class CandleWriter:
    def __init__(
        self, store: CandleStore, *, clock: Callable[[], int] = now_ms, on_commit: CommitHook | None = None
    ) -> None:
        self.store = store
        self.clock = clock
        self.on_commit = on_commit
        self.queue: asyncio.Queue[_Item] = asyncio.Queue()
        self.written = 0

    async def put(self, key: SeriesKey, candles: Sequence[Candle], *, from_rest: bool = False) -> None:
        if candles:
            await self.queue.put(_Item(key, candles, time.perf_counter(), from_rest))

    async def run(self) -> None:
        """Forever: take what is queued, commit it, account for it. Cancel to stop."""
        while True:
            batch = [await self.queue.get()]
            while not self.queue.empty():
                batch.append(self.queue.get_nowait())
            try:
                await self._commit(batch)
            finally:
                for _ in batch:
                    self.queue.task_done()

    async def drain(self) -> None:
        """Wait until everything queued so far is committed (used on shutdown)."""
        await self.queue.join()

    async def _commit(self, batch: list[_Item]) -> None:
        # REST gap fills and stream candles are written apart so the gaps-filled counter is exact
        groups: dict[tuple[SeriesKey, bool], dict[int, Candle]] = defaultdict(dict)
        for item in batch:
            for candle in item.candles:
                groups[(item.key, item.from_rest)][candle.open_time] = candle  # a later copy wins
        for (key, from_rest), by_time in sorted(groups.items(), key=lambda g: not g[0][1]):
            candles = [by_time[t] for t in sorted(by_time)]
            changed = await self._write(key, candles)
            self._account(key, candles, changed, from_rest)
        done = time.perf_counter()
        for item in batch:
            if not item.from_rest:
                metrics.WRITE_LATENCY.observe(done - item.received)

    async def _write(self, key: SeriesKey, candles: list[Candle]) -> int:
        delay = 0.5
        while True:
            try:
                return await asyncio.to_thread(self.store.upsert, key, candles)
            except Exception as exc:  # a database blip must not lose candles: retry, then resume
                log.warning(
                    "writing %d candles of %s failed (%s); retrying in %.1f s", len(candles), key, exc, delay
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    def _account(self, key: SeriesKey, candles: list[Candle], changed: int, from_rest: bool) -> None:
        self.written += changed
        metrics.CANDLES_INGESTED.labels(key.symbol, key.interval).inc(changed)
        if from_rest:
            metrics.GAPS_FILLED.labels(key.symbol, key.interval).inc(changed)
        newest = candles[-1]
        newest_close = newest.open_time + interval_ms(key.interval)
        metrics.LAG.labels(key.symbol, key.interval).set(max(0.0, (self.clock() - newest_close) / 1000))
        metrics.LAST_CLOSE.labels(key.symbol, key.interval).set(newest_close / 1000)
        for field in ("open", "high", "low", "close"):
            metrics.CANDLE_PRICE.labels(key.symbol, key.interval, field).set(getattr(newest, field))
        if self.on_commit is not None:
            self.on_commit(key, candles, changed)
