"""Who is told that rows changed: the one rule every writer follows, so that caches and live
streams can trust it.

A change is a *topic*, `KIND:KEY` — `bot:NAME` (its row, fills, orders or equity marks),
`audit:BOT` (a control or spec change), `candles:EXCHANGE:SYMBOL:INTERVAL` (a series). On
PostgreSQL writers send the topic with `pg_notify` inside their own transaction, so it is
delivered at commit and never for a rollback, to every process that LISTENs. On SQLite there is
no such thing across processes; writers publish to this process's hub after they commit, which
is what embedded mode (`botrader up`: collector, traders and API in one process) listens to.
A topic says *what* changed, not the rows: readers fetch what is new themselves, once per topic,
however many clients they serve (payloads are capped at 8,000 bytes anyway).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

CHANNEL = "botrader_changes"
CANDLES_CHANNEL = "botrader_candles"  # payload: the series key alone (what traders wait for)
KINDS = ("bot", "audit", "candles")

Listener = Callable[[str], None]


def bot_topic(name: str) -> str:
    return f"bot:{name}"


def audit_topic(bot: str) -> str:
    return f"audit:{bot}"


def candles_topic(series: str) -> str:
    return f"candles:{series}"


def kind_of(topic: str) -> str:
    return topic.partition(":")[0]


def database_of(engine: Engine) -> str:
    """Which database an engine writes to, so two databases in one process (tests) stay apart."""
    return engine.url.render_as_string(hide_password=True)


class Hub:
    """In-process subscribers by database; callbacks run on the writer's thread, so they must
    only hand the topic over (e.g. `loop.call_soon_threadsafe`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: dict[str, list[Listener]] = {}

    def subscribe(self, database: str, listener: Listener) -> Callable[[], None]:
        with self._lock:
            self._listeners.setdefault(database, []).append(listener)

        def unsubscribe() -> None:
            with self._lock:
                found = self._listeners.get(database, [])
                if listener in found:
                    found.remove(listener)

        return unsubscribe

    def publish(self, database: str, topics: tuple[str, ...]) -> None:
        with self._lock:
            listeners = list(self._listeners.get(database, ()))
        for listener in listeners:
            for topic in topics:
                listener(topic)


HUB = Hub()


def notify(conn: Connection, *topics: str) -> None:
    """Inside the writer's transaction: PostgreSQL delivers the topics at commit."""
    if conn.dialect.name != "postgresql":
        return
    for topic in topics:
        conn.execute(text("SELECT pg_notify(:channel, :topic)"), {"channel": CHANNEL, "topic": topic})


def committed(engine: Engine, *topics: str) -> None:
    """After the writer's commit: this process's listeners (SQLite; PostgreSQL has `notify`)."""
    if engine.dialect.name != "postgresql":
        HUB.publish(database_of(engine), topics)
