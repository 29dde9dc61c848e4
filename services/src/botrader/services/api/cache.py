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
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from botrader.core.db.changes import kind_of
from botrader.services.api.feed import EVERYTHING, ChangeFeed

PER_TOPIC = 64  # distinct queries kept per topic (e.g. pages of trades); oldest dropped first


class ResponseCache:
    def __init__(self, feed: ChangeFeed, *, enabled: bool = True) -> None:
        self.feed, self.enabled = feed, enabled
        self.hits = self.misses = 0
        self._entries: dict[str, dict[str, bytes]] = {}
        self._topic_of: dict[str, str] = {}  # key -> the topic its answer is kept under
        self.routes: dict[str, Any] = {}  # key -> its route (the latency metric's label)
        self._generations: dict[str, int] = {}
        self._epoch = 0
        feed.subscribe(self.invalidate)

    def invalidate(self, topic: str) -> None:
        if topic == EVERYTHING:
            self._entries.clear()
            self._topic_of.clear()
            self.routes.clear()
            self._epoch += 1
            return
        for name in (topic, f"{kind_of(topic)}:*"):
            for key in self._entries.pop(name, {}):
                self._topic_of.pop(key, None)
                self.routes.pop(key, None)
            self._generations[name] = self._generations.get(name, 0) + 1

    def keeps(self, key: str) -> bool:
        return key in self._topic_of

    def peek(self, key: str) -> bytes | None:
        """The kept answer to `key`, if any (for answering before routing)."""
        if not (self.enabled and self.feed.authoritative) or key not in self._topic_of:
            return None
        self.hits += 1
        return self._entries[self._topic_of[key]][key]

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
                self._topic_of.pop(oldest := next(iter(entries)), None)
                self.routes.pop(oldest, None)
                entries.pop(oldest)
            entries[key] = body
            self._topic_of[key] = topic
        return body


def key_of(scope: Scope) -> str:
    """What identifies a GET's answer: its path and query, byte for byte."""
    return f"{scope['path']}?{scope['query_string'].decode('latin-1')}"


class CachedAnswers:
    """ASGI: a GET whose answer is kept is answered here, before routing, dependencies and
    validation — the same request was routed and validated when the answer was made, and
    none of the cached routes depends on headers. Everything else passes through."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            cache: ResponseCache = scope["app"].state.cache
            key = key_of(scope)
            body = cache.peek(key)
            if body is not None:
                scope["route"] = cache.routes.get(key)
                headers = [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ]
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
            await self.app(scope, receive, send)
            if "route" in scope and cache.keeps(key):
                cache.routes[key] = scope["route"]
            return
        await self.app(scope, receive, send)
