"""How the trader learns that candles landed: PostgreSQL NOTIFY (sent by the candle store
in the same transaction as the rows), a direct poke in embedded mode, and a polling
interval as the fallback for SQLite across processes."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from botrader.core.db.listen import listen

log = logging.getLogger(__name__)


class Waker:
    def __init__(self, channel_payload: str | set[str], *, poll_interval: float = 0.5) -> None:
        """`channel_payload`: the series (`str(key)`) whose new candles wake the trader."""
        self.payloads = {channel_payload} if isinstance(channel_payload, str) else set(channel_payload)
        self.poll_interval = poll_interval
        self.event = asyncio.Event()
        self._listener: asyncio.Task[None] | None = None

    def poke(self) -> None:
        self.event.set()

    async def wait(self) -> None:
        """Until poked, notified, or the poll interval passes."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.event.wait(), self.poll_interval)
        self.event.clear()

    def listen_postgres(self, dsn: str, channel: str) -> None:
        self._listener = asyncio.create_task(self._listen(dsn, channel), name="candle-listener")

    async def _listen(self, dsn: str, channel: str) -> None:
        def note(_channel: str, payload: str) -> None:
            if payload in self.payloads:
                self.event.set()

        def lost(exc: Exception) -> None:
            log.warning("candle notifications lost (%s); polling until they return", exc)

        await listen(dsn, (channel,), note, on_lost=lost, retry_s=self.poll_interval)

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
