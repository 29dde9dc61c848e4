"""Bulk backfill insert throughput (candles/s) into SQLite and PostgreSQL 15.

Writes go through `CandleStore.upsert` in 1000-candle pages, as the backfill job writes
them (one page per REST answer, one commit per page). PostgreSQL runs durable (fsync on).
Peer, in the same run: SQLAlchemy Core `executemany` of the same `INSERT … ON CONFLICT`
without COPY — what one gets without the staging table. Target: ≥ 50,000 candles/s into
PostgreSQL.

    python bench/bench_ingest.py [--candles 525600]
"""

from __future__ import annotations

import argparse
import tempfile
import time

from _common import tiled_candles
from sqlalchemy.dialects.postgresql import insert as pg_insert

from botrader.core.candles import make_key
from botrader.core.data.files import frame_to_candles
from botrader.core.db import connect, upgrade
from botrader.core.db.candles import CandleStore
from botrader.core.db.models import CANDLES
from tests.support.servers import PostgresServer

KEY = make_key("binance", "BTCUSDT", "1m")
PAGE = 1000


def timed_upserts(store: CandleStore, candles: list) -> float:
    began = time.perf_counter()
    for i in range(0, len(candles), PAGE):
        store.upsert(KEY, candles[i : i + PAGE])
    return time.perf_counter() - began


def timed_executemany(store: CandleStore, candles: list) -> float:
    stmt = pg_insert(CANDLES)
    stmt = stmt.on_conflict_do_nothing(index_elements=["exchange", "symbol", "interval", "open_time"])
    names = [c.name for c in CANDLES.columns]
    began = time.perf_counter()
    for i in range(0, len(candles), PAGE):
        rows = [dict(zip(names, r, strict=True)) for r in store._rows(KEY, candles[i : i + PAGE])]
        with store.engine.begin() as conn:
            conn.execute(stmt, rows)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--candles", type=int, default=525_600)
    args = parser.parse_args()
    candles = frame_to_candles(tiled_candles(args.candles))
    n = len(candles)
    print(f"{n:,} candles, pages of {PAGE}")

    with tempfile.TemporaryDirectory() as tmp:
        engine = connect(f"sqlite:///{tmp}/bench.db")
        upgrade(engine)
        store = CandleStore(engine)
        secs = timed_upserts(store, candles)
        again = timed_upserts(store, candles)
        print(f"sqlite      upsert (new rows)       {n / secs:>10,.0f} candles/s")
        print(f"sqlite      upsert (replay, no-op)  {n / again:>10,.0f} candles/s")

    server = PostgresServer(durable=True).start()
    try:
        store = CandleStore(connect(server.create_database("bench")))
        upgrade(store.engine)
        secs = timed_upserts(store, candles)
        again = timed_upserts(store, candles)
        peer_store = CandleStore(connect(server.create_database("peer")))
        upgrade(peer_store.engine)
        peer = timed_executemany(peer_store, candles)
        print(f"postgresql  upsert COPY (new rows)  {n / secs:>10,.0f} candles/s")
        print(f"postgresql  upsert (replay, no-op)  {n / again:>10,.0f} candles/s")
        print(f"postgresql  peer: executemany       {n / peer:>10,.0f} candles/s")
        print(f"ratio COPY upsert / executemany     {peer / secs:>10.1f}x")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
