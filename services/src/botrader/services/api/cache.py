"""Encoded answers kept until what they were read from changes.

Dashboards ask the same few questions every couple of seconds, and the answers change only
when a candle, a fill or a control lands. Each answer is stored under the topic it was read
from (`bot:NAME`, `candles:SERIES`, `audit:*`, or `bot:*` for the list of bots) and dropped
when the feed reports that topic. Nothing is kept unless the feed is authoritative, and an
answer computed while its topic changed is served once but not kept (generation check), so a
hit is never older than the last commit the feed delivered.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.concurrency import run_in_threadpool

from botrader.core.db.changes import kind_of
from botrader.services.api.feed import EVERYTHING, ChangeFeed

PER_TOPIC = 64  # distinct queries kept per topic (e.g. pages of trades); oldest dropped first


class ResponseCache:
    def __init__(self, feed: ChangeFeed, *, enabled: bool = True) -> None:
        self.feed, self.enabled = feed, enabled
        self.hits = self.misses = 0
        self._entries: dict[str, dict[str, bytes]] = {}
        self._generations: dict[str, int] = {}
        self._epoch = 0
        feed.subscribe(self.invalidate)

    def invalidate(self, topic: str) -> None:
        if topic == EVERYTHING:
            self._entries.clear()
            self._epoch += 1
            return
        for key in (topic, f"{kind_of(topic)}:*"):
            self._entries.pop(key, None)
            self._generations[key] = self._generations.get(key, 0) + 1

    def _stamp(self, topic: str) -> tuple[int, int]:
        return self._epoch, self._generations.get(topic, 0)

    async def get(self, topic: str, key: str, compute: Callable[[], bytes]) -> bytes:
        """The answer to `key` (the request's path and query), read from `topic`."""
        if not (self.enabled and self.feed.authoritative):
            return await run_in_threadpool(compute)
        found = self._entries.get(topic, {}).get(key)
        if found is not None:
            self.hits += 1
            return found
        self.misses += 1
        stamp = self._stamp(topic)
        body = await run_in_threadpool(compute)
        if self.feed.authoritative and self._stamp(topic) == stamp:
            entries = self._entries.setdefault(topic, {})
            if len(entries) >= PER_TOPIC:
                entries.pop(next(iter(entries)))
            entries[key] = body
        return body
