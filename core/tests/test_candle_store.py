"""The candle store on real SQLite and real PostgreSQL 15: idempotent bulk upserts."""

import dataclasses

import psycopg
import pytest
from sqlalchemy import inspect

from botrader.core.candles import make_key
from botrader.core.db import connect, upgrade
from botrader.core.db.candles import NOTIFY_CHANNEL, CandleStore
from botrader.core.db.migrate import current_revision
from botrader.core.errors import UserError

KEY = make_key("binance", "BTCUSDT", "1m")


def test_migrations_create_the_candles_table_and_are_repeatable(db_url: str) -> None:
    engine = connect(db_url)
    upgrade(engine)
    upgrade(engine)
    assert current_revision(engine) == "0007"
    columns = [c["name"] for c in inspect(engine).get_columns("candles")]
    assert columns[:4] == ["exchange", "symbol", "interval", "open_time"]
    pk = inspect(engine).get_pk_constraint("candles")["constrained_columns"]
    assert pk == ["exchange", "symbol", "interval", "open_time"]
    for table in ("venue_orders", "venue_fills", "venue_cursors"):  # 0004, matching the models
        from botrader.core.db.models import SQLModel

        declared = [c.name for c in SQLModel.metadata.tables[table].columns]
        assert [c["name"] for c in inspect(engine).get_columns(table)] == declared, table


def test_upsert_is_idempotent_and_applies_corrections(store: CandleStore, candles_slice) -> None:
    candles = candles_slice(0, 2500)
    assert store.upsert(KEY, candles) == 2500
    assert store.upsert(KEY, candles) == 0  # a replay changes nothing
    assert store.upsert(KEY, candles[100:200]) == 0
    fixed = dataclasses.replace(candles[5], close=candles[5].close + 1.0)
    assert store.upsert(KEY, [fixed, *candles[6:10]]) == 1
    loaded = store.load(KEY)
    assert len(loaded) == 2500
    assert loaded[5] == fixed
    assert loaded[0] == candles[0] and loaded[-1] == candles[-1]


def test_ranges_coverage_and_newest(store: CandleStore, candles_slice) -> None:
    candles = candles_slice(0, 300)
    store.upsert(KEY, candles)
    store.upsert(make_key("binance", "ETHUSDT", "1m"), candles[:10])
    cov = store.coverage(KEY)
    assert (cov.count, cov.first, cov.last) == (300, candles[0].open_time, candles[-1].open_time)
    middle = store.load(KEY, candles[10].open_time, candles[19].open_time)
    assert middle == candles[10:20]
    assert store.load(KEY, limit=3, newest=True) == candles[-3:]
    frame = store.load_frame(KEY, candles[0].open_time, candles[4].open_time)
    assert list(frame["open_time"]) == [c.open_time for c in candles[:5]]
    assert store.last_open_time(make_key("binance", "BTCUSDT", "5m")) is None


def test_postgres_commits_notify_listeners(pg_url: str, candles_slice) -> None:
    engine = connect(pg_url)
    upgrade(engine)
    store = CandleStore(engine)
    with psycopg.connect(pg_url, autocommit=True) as listener:
        listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
        store.upsert(KEY, candles_slice(0, 3))
        store.upsert(KEY, candles_slice(0, 3))  # nothing changed: no wake-up
        notes = list(listener.notifies(timeout=1.0, stop_after=2))
    assert [n.payload for n in notes] == ["binance:BTCUSDT:1m"]


def test_unreachable_database_is_one_clear_line(pg_server) -> None:
    with pytest.raises(
        UserError, match=r"cannot connect to database postgresql://bot:\*\*\*@127.0.0.1:1/x"
    ) as info:
        connect("postgresql://bot:secret@127.0.0.1:1/x")
    assert "secret" not in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(UserError, match="bad database URL"):
        connect("not a url")
