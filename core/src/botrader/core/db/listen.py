"""PostgreSQL LISTEN, for every process that waits on commits (the trader's waker, the API's
change feed): one connection, one reconnect loop, one DSN rule. Notifications are hints — a
listener that lost its connection is told (`on_lost`), and told again when it is back
(`on_connected`), so it can catch up on what it missed by reading, never by trusting the gap."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from sqlalchemy.engine import URL, make_url


def libpq_dsn(url: str | URL) -> str:
    """A SQLAlchemy URL (`postgresql+psycopg://…`) as libpq wants it: no driver, password kept."""
    found = make_url(url.render_as_string(hide_password=False) if isinstance(url, URL) else url)
    return found.set(drivername="postgresql").render_as_string(hide_password=False)


async def listen(
    dsn: str,
    channels: Sequence[str],
    on_note: Callable[[str, str], None],
    *,
    on_connected: Callable[[], None] = lambda: None,
    on_lost: Callable[[Exception], None] = lambda _exc: None,
    retry_s: float = 0.5,
) -> None:
    """LISTEN on `channels` until cancelled; `on_note(channel, payload)` for each notification.
    A dropped or refused connection is retried every `retry_s` seconds."""
    import psycopg

    while True:
        try:
            async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
                for channel in channels:
                    await conn.execute(f"LISTEN {channel}")
                on_connected()
                async for note in conn.notifies():
                    on_note(note.channel, note.payload)
        except (OSError, psycopg.Error) as exc:
            on_lost(exc)
            await asyncio.sleep(retry_s)
