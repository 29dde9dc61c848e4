"""Backfill from the local Binance double into real databases: complete, resumable, polite."""

import asyncio

import pytest

from botrader.core.binance.rest import BinanceRestClient
from botrader.core.candles import make_key
from botrader.core.cli.main import main
from botrader.core.db import connect, upgrade
from botrader.core.db.candles import CandleStore
from botrader.core.errors import UserError
from botrader.core.timeutil import format_ms
from botrader.services.backfill import plan_backfill, run_backfill
from tests.support.fake_binance import Faults

KEY = make_key("binance", "BTCUSDT", "1m")


async def test_backfill_is_complete_and_resumable(store, candles_slice, fake_binance_factory) -> None:
    candles = candles_slice(0, 2600)
    server = await fake_binance_factory({("BTCUSDT", "1m"): candles}, start_index=2599)
    start = candles[0].open_time
    async with BinanceRestClient(server.rest_url, clock=server.clock) as rest:
        first = plan_backfill(store, KEY, start, candles[1199].open_time, server.clock())
        assert (first.start, first.total) == (start, 1200)
        done = await run_backfill(store, rest, first)
        assert (done.fetched, done.written, done.stored_in_range) == (1200, 1200, 1200)

        # the job "crashed" after 1200 candles; a rerun continues from there
        requests_before = server.klines_requests
        ticks: list[int] = []
        resumed = plan_backfill(store, KEY, start, None, server.clock())
        assert resumed.start == candles[1200].open_time and resumed.total == 1399
        done = await run_backfill(store, rest, resumed, ticks.append)
        assert (done.fetched, done.written, done.stored_in_range) == (1399, 1399, 2599)
        assert sum(ticks) == 1399 and server.klines_requests - requests_before == 2
    assert store.load(KEY) == [
        c.__class__(c.open_time, c.open, c.high, c.low, c.close, c.volume, 0.0, 0) for c in candles[:2599]
    ]


async def test_hole_in_stored_range_makes_a_full_pass(store, candles_slice, fake_binance_factory) -> None:
    import dataclasses

    candles = [dataclasses.replace(c, quote_volume=0.0, trades=0) for c in candles_slice(0, 300)]  # as served
    store.upsert(KEY, candles[:100] + candles[150:250])
    plan = plan_backfill(store, KEY, candles[0].open_time, None, candles[-1].open_time + 60_000)
    assert plan.start == candles[0].open_time and plan.already_stored == 200
    server = await fake_binance_factory({("BTCUSDT", "1m"): candles})
    server.now_ms = candles[-1].open_time + 60_000
    async with BinanceRestClient(server.rest_url, clock=server.clock) as rest:
        done = await run_backfill(store, rest, plan)
    assert done.written == 100 and done.stored_in_range == 300


def test_bad_ranges_are_user_errors(sqlite_url) -> None:
    engine = connect(sqlite_url)
    upgrade(engine)
    store = CandleStore(engine)
    now = 1_750_000_000_000
    with pytest.raises(UserError, match="bad start"):
        plan_backfill(store, KEY, now + 3_600_000, None, now)
    with pytest.raises(UserError, match="bad range"):
        plan_backfill(store, KEY, now - 60_000_000, now - 120_000_000, now)


async def test_backfill_command_with_rate_limits(
    sqlite_url, candles_slice, fake_binance_factory, monkeypatch, capsys
) -> None:
    import dataclasses

    from botrader.core.intervals import last_closed_open_time
    from botrader.core.timeutil import now_ms

    raw = candles_slice(0, 1500)
    shift = last_closed_open_time(now_ms(), "1m") - raw[-1].open_time
    candles = [dataclasses.replace(c, open_time=c.open_time + shift) for c in raw]
    server = await fake_binance_factory(
        {("BTCUSDT", "1m"): candles}, start_index=1499, faults=Faults(rest_429=1, retry_after="1")
    )
    server.now_ms = candles[-1].open_time + 60_000  # every served candle has closed
    monkeypatch.setenv("BOTRADER_BINANCE_REST_URL", server.rest_url)
    start = format_ms(candles[0].open_time).replace(" ", "T")
    rc = await asyncio.to_thread(
        main, ["backfill", "--symbol", "BTCUSDT", "--start", start, "--db", sqlite_url]
    )
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "fetched 1500, wrote 1500, 1500 stored in range" in out
    assert server.faults.rest_429 == 0
    rc = await asyncio.to_thread(
        main, ["backfill", "--symbol", "BTCUSDT", "--start", start, "--db", sqlite_url]
    )
    assert rc == 0 and "fetched 0, wrote 0, 1500 stored in range" in capsys.readouterr().out
