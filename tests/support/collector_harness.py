"""Drives the collector against FakeBinance until the served candles are all stored."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from botrader.core.candles import SeriesKey, make_key
from botrader.core.db import connect
from botrader.core.db.candles import CandleStore
from botrader.services.collector import CollectorConfig, run_collector
from botrader.services.collector.service import CollectorResult
from tests.support.fake_binance import FakeBinance


def point_at(monkeypatch: pytest.MonkeyPatch, server: FakeBinance) -> None:
    monkeypatch.setenv("BOTRADER_BINANCE_WS_URL", server.ws_url)
    monkeypatch.setenv("BOTRADER_BINANCE_REST_URL", server.rest_url)


def keys_of(server: FakeBinance, source: str = "binance") -> list[SeriesKey]:
    return [make_key(source, s, i) for s, i in server.series]


async def collect_all(
    server: FakeBinance,
    db_url: str,
    timeout: float = 30.0,
    also: Callable[[], bool] | None = None,
    **overrides: object,
) -> CollectorResult:
    """Run the collector until the server has streamed everything, the table holds every
    closed candle (and `also` holds); then stop it the way SIGTERM would."""
    first = min(s[0].open_time for s in server.series.values())
    source = str(overrides.pop("source", "binance"))
    cfg = CollectorConfig(
        symbols=sorted({s for s, _ in server.series}),
        interval=next(iter(server.series))[1],
        source=source,
        db_url=db_url,
        port=None,
        start_ms=first,
        clock=server.clock,
        **overrides,  # type: ignore[arg-type]
    )
    stop = asyncio.Event()
    task = asyncio.create_task(run_collector(cfg, stop=stop))
    store = CandleStore(connect(db_url))
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if task.done():
                task.result()
            if (
                server.exhausted()
                and all(_complete(store, k, server) for k in keys_of(server, source))
                and (also is None or also())
            ):
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("collector did not store every served candle in time")
    finally:
        stop.set()
        result = await asyncio.wait_for(task, 10)
        store.engine.dispose()
    return result


def _complete(store: CandleStore, key: SeriesKey, server: FakeBinance) -> bool:
    served = server.closed((key.symbol, key.interval))
    cov = store.coverage(key)
    return cov.count == len(served) and cov.last == served[-1].open_time


def assert_table_equals_served(db_url: str, server: FakeBinance, source: str = "binance") -> None:
    store = CandleStore(connect(db_url))
    for key in keys_of(server, source):
        stored = store.load(key)
        served = server.closed((key.symbol, key.interval))
        assert [c.open_time for c in stored] == [c.open_time for c in served]
        assert [(c.open, c.high, c.low, c.close, c.volume) for c in stored] == [
            (c.open, c.high, c.low, c.close, c.volume) for c in served
        ]
    store.engine.dispose()
