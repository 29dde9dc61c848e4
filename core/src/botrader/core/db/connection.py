"""Engines for the two supported databases, with their sharp edges filed off.

SQLite is the embedded default (one file, WAL so the API can read while the collector
writes); PostgreSQL is the server. `connect` proves the database answers before any
work starts, so a bad URL fails in one line instead of half-way through a job.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from botrader.core.errors import UserError

_BUSY_MS = 5000
_DRIVERS = {"postgresql": "postgresql+psycopg", "postgres": "postgresql+psycopg"}


def redact_url(url: str) -> str:
    """The URL with its password masked: URLs end up in logs and error lines."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable url>"


def _normalize(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise UserError(f"bad database URL {url!r}: expected sqlite:///FILE or postgresql://…")
    return f"{_DRIVERS.get(scheme, scheme)}://{rest}"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    """Switching a new file to WAL takes an exclusive lock that SQLite answers "database is
    locked" without waiting on the busy handler when another connection is opening the same new
    file at that moment (two readers racing to a database nobody created yet: seen in CI), so
    that one statement is retried for up to the busy timeout."""
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout={_BUSY_MS}")
    deadline = time.monotonic() + _BUSY_MS / 1000
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            break
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def connect(url: str) -> Engine:
    """An engine whose database has answered a `SELECT 1`; UserError otherwise."""
    normalized = _normalize(url)
    try:
        if normalized.startswith("sqlite"):
            engine = create_engine(normalized, connect_args={"check_same_thread": False})
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(
                normalized, pool_pre_ping=True, pool_size=5, connect_args={"connect_timeout": 5}
            )
    except (ArgumentError, ImportError) as exc:
        raise UserError(f"bad database URL {redact_url(url)!r}: {exc}") from None
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        engine.dispose()
        reason = str(exc.orig if getattr(exc, "orig", None) else exc).strip().splitlines()[0]
        raise UserError(f"cannot connect to database {redact_url(url)}: {reason}") from None
    return engine


def connect_to_read(url: str, table: str, nothing: str, what_to_do: str) -> Engine:
    """For commands that only read `table`: a SQLite file that does not exist is not created
    (a read leaves no empty database behind), and a database without the table is one line —
    `nothing` (e.g. "no BTCUSDT 1m candles"), where, why, and `what_to_do` — not a traceback."""
    parsed = make_url(_normalize(url))
    file = parsed.database if parsed.drivername.startswith("sqlite") else None
    if file and file != ":memory:" and not Path(file).exists():
        raise UserError(f"{nothing} in {redact_url(url)} (no such file): {what_to_do}")
    engine = connect(url)
    if not inspect(engine).has_table(table):
        engine.dispose()
        raise UserError(f"{nothing} in {redact_url(url)} (it has no {table} table): {what_to_do}")
    return engine
