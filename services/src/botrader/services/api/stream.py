"""Live updates for WebSocket clients: a snapshot when they subscribe, then what each commit
added, read once per topic however many clients watch it.

Per topic the broadcaster keeps a cursor (the last fill, equity mark, candle or audit row it
sent) and one delivery at a time: commits that land while a delivery reads are folded into the
next one, so a burst costs one query, not one per commit. A subscription takes the topic's
lock, so a client's snapshot is always older than the first delta it receives (deltas carry
keys — fill `seq`, candle `time`, audit `id` — and apply idempotently). The server never waits
on a client: messages go into a bounded queue per client, and a client that lets it fill is
disconnected with the reason. An MLflow experiment's runs (`run_updates`) ride the same path,
polled instead of notified.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from pydantic_core import to_json
from sqlalchemy.engine import Engine

from botrader.core.candles import SeriesKey
from botrader.core.db import changes
from botrader.core.db.candles import CandleStore
from botrader.core.db.trading import TradingStore
from botrader.core.timeutil import datetime_to_ms
from botrader.services.api import run_updates
from botrader.services.api.answers import adapter
from botrader.services.api.feed import EVERYTHING, ChangeFeed
from botrader.services.api.schemas import (
    AuditEntry,
    BotDetail,
    BotSummary,
    CandleOut,
    EquityPoint,
    Trade,
    TradesPage,
)
from botrader.services.api.views import candle_out, detail, summary

QUEUE = 256  # messages a client may fall behind before it is disconnected
SPACING = 0.025  # seconds between a topic's reads at least: commits in between share a message
CLOSE_SLOW = 1008  # policy violation: the reason says why (slow consumer, too many topics)
SNAPSHOT_CANDLES, SNAPSHOT_TRADES, SNAPSHOT_AUDIT = 500, 100, 20
SUMMARY, DETAIL, PAGE = adapter(BotSummary), adapter(BotDetail), adapter(TradesPage)
TRADES, POINTS, CANDLES, AUDITS = (adapter(list[t]) for t in (Trade, EquityPoint, CandleOut, AuditEntry))


def message(kind: str, **parts: Any) -> str:
    """One JSON text frame; bytes values are already-encoded JSON (pydantic's), spliced in."""
    fields = [f'"type":{json.dumps(kind)}']
    for name, value in parts.items():
        encoded = (value if isinstance(value, bytes) else to_json(value)).decode()
        fields.append(f"{json.dumps(name)}:{encoded}")
    return "{" + ",".join(fields) + "}"


class Client:
    def __init__(self, size: int = QUEUE) -> None:
        self.queue: asyncio.Queue[str] = asyncio.Queue(size)
        self.dropped = asyncio.Event()
        self.reason, self.code = "", CLOSE_SLOW
        self.topics: set[str] = set()

    def offer(self, text: str) -> None:
        if self.dropped.is_set():
            return
        try:
            self.queue.put_nowait(text)
        except asyncio.QueueFull:
            self.drop(f"slow consumer: {self.queue.maxsize} messages queued")

    def drop(self, reason: str, code: int = CLOSE_SLOW) -> None:
        """Disconnect this client, telling it why (the close frame's reason)."""
        if not self.dropped.is_set():
            self.reason, self.code = reason, code
            self.dropped.set()


@dataclass
class Cursor:
    seq: int = -1  # bot: last fill sent
    mark: int = -1  # bot: last equity mark sent (ms); candles: last open time sent
    audit: int = 0  # audit: last row id sent
    last: dict[str, Any] = field(default_factory=dict)  # bot: the summary sent last


class Broadcaster:
    def __init__(self, engine: Engine, feed: ChangeFeed, tracking_uri: str | None = None) -> None:
        self.trading, self.candles = TradingStore(engine), CandleStore(engine)
        self.feed, self.tracking_uri = feed, tracking_uri
        self.watchers: dict[str, set[Client]] = defaultdict(set)
        self.cursors: dict[str, Cursor] = {}
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._running: dict[str, asyncio.Task[None]] = {}
        self._dirty: set[str] = set()
        self._snapshots: dict[str, str] = {}  # topic -> its snapshot, until its next delta
        self._polls: dict[str, asyncio.Task[None]] = {}  # runs topics: MLflow is read, not told
        self._read_at: dict[str, float] = {}  # topic -> when its last delivery read (loop time)
        self.delivered = self.dropped = 0
        feed.subscribe(self.changed)

    # -- subscriptions -------------------------------------------------------------------
    async def subscribe(self, client: Client, topic: str) -> None:
        """Register `client` for `topic` and queue its snapshot (LookupError: nothing there)."""
        async with self._locks[topic]:
            if topic not in self.cursors:
                self.cursors[topic] = await asyncio.to_thread(self._start, topic)
            snapshot = self._snapshots.get(topic)
            if snapshot is None:  # a crowd subscribing at once shares one read
                snapshot = self._snapshots[topic] = await asyncio.to_thread(self._snapshot, topic)
            self.watchers[topic].add(client)
            if changes.kind_of(topic) == "candles":
                self.feed.watched_series.add(topic.partition(":")[2])
            if changes.kind_of(topic) == run_updates.KIND and topic not in self._polls:
                self._polls[topic] = asyncio.create_task(self._poll(topic))
        client.offer(snapshot)

    async def _poll(self, topic: str) -> None:
        try:
            while topic in self.cursors:
                await asyncio.sleep(run_updates.POLL)
                self.changed(topic)
        finally:
            self._polls.pop(topic, None)

    def unsubscribe(self, client: Client, topic: str | None = None) -> None:
        for name in [topic] if topic else list(self.watchers):
            watching = self.watchers.get(name)
            if watching is None:
                continue
            watching.discard(client)
            if not watching:
                del self.watchers[name]
                self.cursors.pop(name, None)
                self._read_at.pop(name, None)
                self._snapshots.pop(name, None)
                self.feed.watched_series.discard(name.partition(":")[2])

    # -- deliveries ----------------------------------------------------------------------
    def changed(self, topic: str) -> None:
        if topic == EVERYTHING:
            targets = list(self.cursors)
            self._snapshots.clear()
        elif topic == "audit:*":
            targets = [t for t in self.cursors if changes.kind_of(t) == "audit"]
        else:
            targets = [topic] if topic in self.cursors else []
        for target in targets:
            if target in self._running:
                self._dirty.add(target)
            else:
                self._running[target] = asyncio.create_task(self._deliver(target))

    async def _deliver(self, topic: str) -> None:
        """Read what `topic` gained and offer it to its watchers; again while commits landed
        meanwhile, but never sooner than `SPACING` after the last read: at 100 commits a second
        a client gets one message per ~`SPACING` holding several, not one per commit — every
        message costs a send per client on each side, which is what saturates first."""
        loop = asyncio.get_running_loop()
        try:
            while True:
                wait = self._read_at.get(topic, -SPACING) + SPACING - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                self._read_at[topic] = loop.time()
                self._dirty.discard(topic)
                async with self._locks[topic]:
                    cursor = self.cursors.get(topic)
                    if cursor is None:
                        return
                    found = await asyncio.to_thread(self._delta, topic, cursor)
                    if found is not None:
                        self._snapshots.pop(topic, None)
                        for client in list(self.watchers.get(topic, ())):
                            client.offer(found)
                        self.delivered += 1
                if topic not in self._dirty:
                    return
        finally:
            self._running.pop(topic, None)

    async def close(self) -> None:
        for task in [*self._running.values(), *self._polls.values()]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -- reads (worker threads) ----------------------------------------------------------
    def _start(self, topic: str) -> Cursor:
        kind, _, key = topic.partition(":")
        if kind == "bot":
            row = self.trading.bot(key)
            if row is None:
                raise LookupError(f"no bot named {key!r}")
            seq, mark = self.trading.newest(key)
            return Cursor(seq=seq, mark=mark, last=summary(row))
        if kind == "candles":
            last = self.candles.last_open_time(SeriesKey(*key.split(":")))
            return Cursor(mark=-1 if last is None else last)
        if kind == run_updates.KIND:
            return Cursor(last=run_updates.read(key, self.tracking_uri))
        newest = self.trading.audit_log(key, limit=1, newest=True)
        return Cursor(audit=newest[0]["id"] if newest else 0)

    def _snapshot(self, topic: str) -> str:
        kind, _, key = topic.partition(":")
        if kind == "bot":
            rows, total = self.trading.trades_page(key, limit=SNAPSHOT_TRADES)
            page = {"items": rows, "total": total, "limit": SNAPSHOT_TRADES, "offset": 0}
            return message(
                "snapshot",
                bot=key,
                detail=DETAIL.dump_json(DETAIL.validate_python(detail(self.trading, key))),
                trades=PAGE.dump_json(PAGE.validate_python(page)),
            )
        if kind == "candles":
            rows = self.candles.load(SeriesKey(*key.split(":")), limit=SNAPSHOT_CANDLES, newest=True)
            return message("snapshot", series=key, candles=[candle_out(c) for c in rows])
        if kind == run_updates.KIND:
            return message("snapshot", experiment=key, runs=list(self.cursors[topic].last.values()))
        rows = self.trading.audit_log(key, limit=SNAPSHOT_AUDIT, newest=True)
        return message("snapshot", audit=key, items=AUDITS.dump_json(AUDITS.validate_python(rows)))

    def _delta(self, topic: str, cursor: Cursor) -> str | None:
        kind, _, key = topic.partition(":")
        if kind == "bot":
            return self._bot_delta(key, cursor)
        if kind == "candles":
            rows = self.candles.load(SeriesKey(*key.split(":")), start=max(cursor.mark, 0), limit=5000)
            fresh = [candle_out(c) for c in rows]  # the last one again: a live candle may be revised
            if not fresh or (len(fresh) == 1 and fresh[0]["time"] == cursor.mark):
                return None
            cursor.mark = fresh[-1]["time"]
            return message("candles", series=key, items=fresh)
        if kind == run_updates.KIND:
            cursor.last, runs = run_updates.changed(key, cursor.last, self.tracking_uri)
            return message("runs", experiment=key, runs=runs) if runs else None
        rows = self.trading.audit_log(key, after=cursor.audit)
        if not rows:
            return None
        cursor.audit = rows[-1]["id"]
        return message("audit", audit=key, items=AUDITS.dump_json(AUDITS.validate_python(rows)))

    def _bot_delta(self, name: str, cursor: Cursor) -> str | None:
        row, fills, marks = self.trading.since(name, cursor.seq, cursor.mark)
        if row is None:
            return None
        now = summary(row)
        changed = [k for k, v in now.items() if cursor.last.get(k) != v]
        if not changed and not fills and not marks:
            return None
        cursor.last = now
        if fills:
            cursor.seq = fills[-1]["seq"]
        if marks:
            cursor.mark = datetime_to_ms(marks[-1]["time"])
        return message(
            "bot",
            bot=name,
            changed=changed,
            summary=SUMMARY.dump_json(SUMMARY.validate_python(now)),
            fills=TRADES.dump_json(TRADES.validate_python(fills)),
            equity=POINTS.dump_json(POINTS.validate_python(marks)),
        )
