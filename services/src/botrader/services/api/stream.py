"""Live updates for WebSocket clients: a snapshot when they subscribe, then what each commit
added, read once per topic however many clients watch it.

Per topic (`topics.py`: what a bot, a candle series, an audit log or an MLflow experiment sends)
the broadcaster keeps one channel: its watchers, its snapshot until the next delta, and one
delivery at a time: commits that land while a delivery reads are folded into the next one, so
a burst costs one query, not one per commit. A subscription takes the channel's lock, so a
client's snapshot is always older than the first delta it receives (deltas carry keys — fill
`seq`, candle `time`, audit `id` — and apply idempotently). The server never waits on a client:
messages go into a bounded queue per client, and a client that lets it fill is disconnected with
the reason. Polled topics (MLflow's runs) ride the same path.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from botrader.core.db.candles import CandleStore
from botrader.core.db.trading import TradingStore
from botrader.services.api import run_updates
from botrader.services.api.feed import EVERYTHING, ChangeFeed
from botrader.services.api.topics import Sources, Topic, message, topic_for

__all__ = ["Broadcaster", "Client", "message"]

QUEUE = 256  # messages a client may fall behind before it is disconnected
SPACING = 0.025  # seconds between a topic's reads at least: commits in between share a message
CLOSE_SLOW = 1008  # policy violation: the reason says why (slow consumer, too many topics)


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
class Channel:
    """One watched topic: who watches it and where its delivery stands."""

    topic: Topic
    watchers: set[Client] = field(default_factory=set)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    started: bool = False
    snapshot: str | None = None  # until its next delta: a crowd subscribing at once shares one read
    delivery: asyncio.Task[None] | None = None
    dirty: bool = False  # a change landed while the delivery read
    read_at: float = -1e9  # loop time of the last read
    poll: asyncio.Task[None] | None = None


class Broadcaster:
    def __init__(self, engine: Engine, feed: ChangeFeed, tracking_uri: str | None = None) -> None:
        self.sources = Sources(TradingStore(engine), CandleStore(engine), feed, tracking_uri)
        self.channels: dict[str, Channel] = {}
        self.delivered = self.dropped = 0
        feed.subscribe(self.changed)

    # -- subscriptions -------------------------------------------------------------------
    async def subscribe(self, client: Client, name: str) -> None:
        """Register `client` for the topic `name` and queue its snapshot (LookupError: nothing
        there, or no such kind of topic)."""
        channel = self.channels.get(name)
        if channel is None:
            channel = self.channels[name] = Channel(topic_for(name, self.sources))
        async with channel.lock:
            try:
                if not channel.started:
                    await asyncio.to_thread(channel.topic.start)
                    channel.started = True
                if channel.snapshot is None:
                    channel.snapshot = await asyncio.to_thread(channel.topic.snapshot)
            except LookupError:
                if not channel.watchers and self.channels.get(name) is channel:
                    del self.channels[name]
                raise
            if not channel.watchers:
                channel.topic.watched(True)
            channel.watchers.add(client)
            if channel.topic.polled and channel.poll is None:
                channel.poll = asyncio.create_task(self._poll(name, channel))
            snapshot = channel.snapshot
        client.offer(snapshot)

    async def _poll(self, name: str, channel: Channel) -> None:
        while self.channels.get(name) is channel:
            await asyncio.sleep(run_updates.POLL)
            self._schedule(name, channel)

    def unsubscribe(self, client: Client, name: str | None = None) -> None:
        for topic in [name] if name else list(self.channels):
            channel = self.channels.get(topic)
            if channel is None or client not in channel.watchers:
                continue
            channel.watchers.discard(client)
            if not channel.watchers:
                del self.channels[topic]
                channel.topic.watched(False)
                if channel.poll is not None:
                    channel.poll.cancel()

    # -- deliveries ----------------------------------------------------------------------
    def changed(self, name: str) -> None:
        for topic, channel in list(self.channels.items()):
            if channel.started and channel.topic.hears(name):
                if name == EVERYTHING:
                    channel.snapshot = None  # anything may have changed while unseen
                self._schedule(topic, channel)

    def _schedule(self, name: str, channel: Channel) -> None:
        if channel.delivery is not None:
            channel.dirty = True
        else:
            channel.delivery = asyncio.create_task(self._deliver(name, channel))

    async def _deliver(self, name: str, channel: Channel) -> None:
        """Read what the topic gained and offer it to its watchers; again while commits landed
        meanwhile, but never sooner than `SPACING` after the last read: at 100 commits a second
        a client gets one message per ~`SPACING` holding several, not one per commit — every
        message costs a send per client on each side, which is what saturates first."""
        loop = asyncio.get_running_loop()
        try:
            while True:
                wait = channel.read_at + SPACING - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                channel.read_at, channel.dirty = loop.time(), False
                async with channel.lock:
                    if self.channels.get(name) is not channel:
                        return
                    found = await asyncio.to_thread(channel.topic.delta)
                    if found is not None:
                        channel.snapshot = None
                        for client in list(channel.watchers):
                            client.offer(found)
                        self.delivered += 1
                if not channel.dirty:
                    return
        finally:
            channel.delivery = None

    async def close(self) -> None:
        tasks = [t for c in self.channels.values() for t in (c.delivery, c.poll) if t is not None]
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
