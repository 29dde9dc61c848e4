"""One LISTEN loop for every process that waits on commits, against a real PostgreSQL: it hears
notifications, says when its connection is lost and when it is back (so the listener catches
up by reading), and reconnects by itself."""

from __future__ import annotations

import asyncio

import psycopg

from botrader.core.db.listen import libpq_dsn, listen


def test_a_sqlalchemy_url_becomes_a_libpq_dsn_with_its_password() -> None:
    assert (
        libpq_dsn("postgresql+psycopg://bot:s3cret@db:5432/botrader")
        == "postgresql://bot:s3cret@db:5432/botrader"
    )


def test_it_hears_notifications_and_reconnects_after_the_server_drops_it(pg_url: str) -> None:
    dsn = libpq_dsn(pg_url)
    heard: list[tuple[str, str]] = []
    events: list[str] = []

    async def scenario() -> None:
        task = asyncio.create_task(
            listen(
                dsn,
                ("one", "two"),
                lambda channel, payload: heard.append((channel, payload)),
                on_connected=lambda: events.append("connected"),
                on_lost=lambda exc: events.append("lost"),
                retry_s=0.05,
            )
        )
        async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
            await until(lambda: events == ["connected"])
            await conn.execute("NOTIFY one, 'a'")
            await conn.execute("NOTIFY two, 'b'")
            await until(lambda: len(heard) == 2)
            await conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE query LIKE 'LISTEN%' AND pid <> pg_backend_pid()"
            )
            await until(lambda: events[-1] == "connected" and "lost" in events)
            await conn.execute("NOTIFY one, 'c'")
            await until(lambda: len(heard) == 3)
        task.cancel()

    asyncio.run(scenario())
    assert heard == [("one", "a"), ("two", "b"), ("one", "c")]
    assert events == ["connected", "lost", "connected"]


async def until(ready, timeout: float = 10.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if ready():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("timed out")
