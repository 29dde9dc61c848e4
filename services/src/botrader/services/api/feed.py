"""The API process's view of what is committed: topics (see `botrader.core.db.changes`) as they
land, from PostgreSQL's LISTEN, from the writers in this process (embedded mode on SQLite), or —
for a standalone API on SQLite, where writers live in other processes — from polling.

`authoritative` says whether every commit reaches this feed: only then may a cache trust that
an answer without a topic since is still the answer. A dropped LISTEN connection or polling
clears it; listeners get `*` (anything may have changed) whenever it is regained.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from botrader.core.candles import SeriesKey
from botrader.core.db import changes
from botrader.core.db.candles import CandleStore
from botrader.core.db.listen import libpq_dsn, listen
from botrader.core.db.trading import AUDIT, BOTS

log = logging.getLogger(__name__)
EVERYTHING = "*"

Listener = Callable[[str], None]


class ChangeFeed:
    def __init__(self, engine: Engine, *, in_process: bool = False, poll_interval: float = 0.5) -> None:
        self.engine = engine
        self.in_process = in_process
        self.poll_interval = poll_interval
        self.authoritative = False
        self.watched_series: set[str] = set()  # what polling looks at (standalone SQLite)
        self._listeners: list[Listener] = []
        self._task: asyncio.Task[None] | None = None
        self._unsubscribe: Callable[[], None] | None = None

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def _dispatch(self, topic: str) -> None:
        for listener in self._listeners:
            listener(topic)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        if self.engine.dialect.name == "postgresql":
            self._task = asyncio.create_task(self._listen(), name="change-feed")
        elif self.in_process:
            self._unsubscribe = changes.HUB.subscribe(
                changes.database_of(self.engine),
                lambda topic: loop.call_soon_threadsafe(self._dispatch, topic),
            )
            self.authoritative = True
        else:
            self._task = asyncio.create_task(self._poll(), name="change-poller")

    async def stop(self) -> None:
        self.authoritative = False
        if self._unsubscribe is not None:
            self._unsubscribe()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _listen(self) -> None:
        def note(channel: str, payload: str) -> None:
            candles = channel == changes.CANDLES_CHANNEL
            self._dispatch(changes.candles_topic(payload) if candles else payload)

        def connected() -> None:
            self.authoritative = True
            self._dispatch(EVERYTHING)  # what landed while we were not listening

        def lost(exc: Exception) -> None:
            self.authoritative = False
            log.warning("change notifications lost (%s); no caching until they return", exc)

        await listen(
            libpq_dsn(self.engine.url),
            (changes.CHANNEL, changes.CANDLES_CHANNEL),
            note,
            on_connected=connected,
            on_lost=lost,
            retry_s=self.poll_interval,
        )

    async def _poll(self) -> None:
        seen: dict[str, object] = {}
        while True:
            try:
                now = await asyncio.to_thread(self._versions)
            except Exception as exc:  # a locked or vanished file: try again next round
                log.warning("polling for changes failed: %s", exc)
                now = {}
            for topic, version in now.items():
                if seen.get(topic, version) != version:
                    self._dispatch(topic)
            seen.update(now)
            await asyncio.sleep(self.poll_interval)

    def _versions(self) -> dict[str, object]:
        """One cheap read per round: each bot's updated_at, the newest audit row, the newest
        candle of each watched series (an index seek)."""
        with self.engine.connect() as conn:
            found: dict[str, object] = {
                changes.bot_topic(name): stamp
                for name, stamp in conn.execute(select(BOTS.c.name, BOTS.c.updated_at))
            }
            found["audit:*"] = conn.execute(select(func.max(AUDIT.c.id))).scalar()
        store = CandleStore(self.engine)
        for series in list(self.watched_series):
            found[changes.candles_topic(series)] = store.last_open_time(SeriesKey(*series.split(":")))
        return found
