"""Live source: Binance's combined kline stream, with REST gap filling.

Ordering of trust: on every (re)connect we first backfill from REST everything that closed
since the last stored candle, then consume the stream (messages that arrived meanwhile
wait in the socket's buffer; writes are idempotent, so overlap is harmless). A closed
candle that skips ahead of the last one we know means the stream lost messages: the hole
is fetched from REST before the new candle is written. Reconnects back off exponentially
with jitter; a connection is renewed before Binance's 24-hour cut.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass

import websockets

from botrader.core.binance.messages import KlineEvent, MalformedMessage, kline_from_stream
from botrader.core.binance.rest import KLINES_PAGE, BinanceRestClient
from botrader.core.candles import Candle, SeriesKey
from botrader.core.intervals import interval_ms, last_closed_open_time
from botrader.core.timeutil import now_ms
from botrader.services.collector import metrics
from botrader.services.collector.writer import CandleWriter

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StreamSettings:
    ws_url: str
    start_ms: int | None = None  # where an empty table starts; default: one REST page back
    max_connection_age: float = 23.5 * 3600  # Binance cuts connections at 24 h
    backoff_initial: float = 0.5
    backoff_max: float = 30.0


class BinanceStream:
    def __init__(
        self,
        keys: list[SeriesKey],
        settings: StreamSettings,
        rest: BinanceRestClient,
        writer: CandleWriter,
        last_stored: dict[SeriesKey, int | None],
        *,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.keys = keys
        self.settings = settings
        self.rest = rest
        self.writer = writer
        self.clock = clock
        self.last: dict[SeriesKey, int | None] = dict(last_stored)
        self.live: dict[SeriesKey, Candle] = {}  # the forming candle, for the live price
        self.by_stream = {(k.symbol, k.interval): k for k in keys}
        self.connected = asyncio.Event()
        self.connections = 0

    @property
    def url(self) -> str:
        names = "/".join(f"{k.symbol.lower()}@kline_{k.interval}" for k in self.keys)
        return f"{self.settings.ws_url}/stream?streams={names}"

    async def run(self) -> None:
        """Until cancelled: connect, catch up, stream; on any failure back off and retry."""
        failures = 0
        while True:
            try:
                await self._session()
                failures = 0  # a planned renewal: reconnect at once
            except (OSError, websockets.WebSocketException, TimeoutError) as exc:
                if self.connected.is_set():
                    failures = 0  # it was up and streaming: this is a fresh failure
                delay = min(self.settings.backoff_max, self.settings.backoff_initial * 2**failures)
                delay *= 0.5 + random.random() / 2
                failures += 1
                log.warning(
                    "market-data stream lost (%s); reconnecting in %.2f s", exc or type(exc).__name__, delay
                )
                await asyncio.sleep(delay)
            finally:
                self.connected.clear()
                metrics.CONNECTED.set(0)

    async def _session(self) -> None:
        async with websockets.connect(self.url, open_timeout=10, max_size=2**20) as ws:
            self.connections += 1
            if self.connections > 1:
                for symbol in {k.symbol for k in self.keys}:
                    metrics.RECONNECTS.labels(symbol).inc()
            await self.catch_up()
            self.connected.set()
            metrics.CONNECTED.set(1)
            try:
                async with asyncio.timeout(self.settings.max_connection_age):
                    async for raw in ws:
                        await self.handle(raw)
            except TimeoutError:
                log.info("renewing the stream connection before the 24-hour cut")
                return
            raise websockets.ConnectionClosedOK(None, None)  # server ended the stream

    async def catch_up(self) -> None:
        """Fetch over REST every candle that closed since the last one we know of."""
        now = self.clock()
        for key in self.keys:
            step = interval_ms(key.interval)
            last = self.last.get(key)
            if last is None:
                start = self.settings.start_ms
                if start is None:
                    start = last_closed_open_time(now, key.interval) - (KLINES_PAGE - 1) * step
            else:
                start = last + step
            await self.fill(key, start, last_closed_open_time(now, key.interval))

    async def fill(self, key: SeriesKey, start: int, end: int) -> None:
        if start > end:
            return
        async for page in self.rest.iter_klines(key.symbol, key.interval, start, end):
            await self.writer.put(key, page, from_rest=True)
            self._advance(key, page[-1].open_time)

    async def handle(self, raw: str | bytes) -> None:
        """One stream message. Bad ones are counted and logged, never fatal."""
        try:
            event = kline_from_stream(json.loads(raw))
        except json.JSONDecodeError:
            self._invalid("json", raw)
            return
        except MalformedMessage as exc:
            self._invalid(exc.reason, raw)
            return
        key = self.by_stream.get((event.symbol, event.interval))
        if key is None:
            self._invalid("unexpected_stream", raw)
            return
        if not event.closed:
            self.live[key] = event.candle
            metrics.LIVE_PRICE.labels(key.symbol, key.interval).set(event.candle.close)
            return
        await self._closed(key, event)

    async def _closed(self, key: SeriesKey, event: KlineEvent) -> None:
        step, last = interval_ms(key.interval), self.last.get(key)
        opened = event.candle.open_time
        if last is not None and opened > last + step:
            log.info("%s: stream skipped %d candle(s); filling from REST", key, (opened - last) // step - 1)
            await self.fill(key, last + step, opened - step)
        await self.writer.put(key, [event.candle])
        self._advance(key, opened)

    def _advance(self, key: SeriesKey, open_time: int) -> None:
        last = self.last.get(key)
        if last is None or open_time > last:
            self.last[key] = open_time

    @staticmethod
    def _invalid(reason: str, raw: str | bytes) -> None:
        metrics.INVALID_MESSAGES.labels(reason).inc()
        log.warning("ignoring %s message: %.200r", reason, raw)
