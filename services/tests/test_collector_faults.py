"""Every closed candle lands exactly once, whatever the stream does (real DBs, local Binance)."""

import asyncio
import copy

import pytest
from prometheus_client import REGISTRY

from botrader.core.db import connect
from botrader.core.db.candles import CandleStore
from botrader.services.collector import CollectorConfig, run_collector
from tests.support.collector_harness import assert_table_equals_served, collect_all, keys_of, point_at
from tests.support.fake_binance import Faults


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


SCENARIOS = {
    "clean": Faults(),
    "dropped_connections": Faults(drop_after=[20, 15, 30], advance_while_down=7),
    "duplicates_and_out_of_order": Faults(duplicate_every=3, swap_every=4),
    "malformed_json": Faults(malformed_every=5),
    "lost_messages": Faults(withhold={0, 1}),  # filled in below with real open times
    "rate_limited_rest": Faults(drop_after=[10], advance_while_down=3, rest_429=1, retry_after="1"),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
async def test_table_equals_served_candles(
    scenario, db_url, candles_slice, fake_binance_factory, monkeypatch
) -> None:
    candles = candles_slice(0, 150)
    faults = copy.deepcopy(SCENARIOS[scenario])  # the server consumes its fault plan
    if scenario == "lost_messages":
        faults = Faults(withhold={candles[60].open_time, candles[61].open_time, candles[90].open_time})
    server = await fake_binance_factory({("BTCUSDT", "1m"): candles}, start_index=40, faults=faults)
    point_at(monkeypatch, server)
    invalid_before = metric("botrader_collector_invalid_messages_total", reason="json")
    reconnects_before = metric("botrader_collector_reconnects_total", symbol="BTCUSDT")

    result = await collect_all(server, db_url)

    assert_table_equals_served(db_url, server)
    assert result.written == 150
    if scenario == "dropped_connections":
        assert server.connections == 4 and result.connections == 4
        assert metric("botrader_collector_reconnects_total", symbol="BTCUSDT") - reconnects_before == 3
    if scenario == "malformed_json":
        assert metric("botrader_collector_invalid_messages_total", reason="json") - invalid_before >= 20
    if scenario == "rate_limited_rest":
        assert server.faults.rest_429 == 0  # the 429 was served and survived


async def test_two_symbols_on_one_connection(
    db_url, candles_slice, fake_binance_factory, monkeypatch
) -> None:
    btc = candles_slice(0, 80)
    eth = [
        c.__class__(
            c.open_time, *(round(p / 40, 2) for p in (c.open, c.high, c.low, c.close)), round(c.volume * 3, 3)
        )
        for c in btc
    ]
    server = await fake_binance_factory(
        {("BTCUSDT", "1m"): btc, ("ETHUSDT", "1m"): eth},
        start_index=30,
        faults=Faults(drop_after=[25], advance_while_down=4),
    )
    point_at(monkeypatch, server)
    await collect_all(server, db_url)
    assert_table_equals_served(db_url, server)
    assert len(keys_of(server)) == 2


async def test_restart_resumes_and_fills_the_downtime(
    sqlite_url, candles_slice, fake_binance_factory, monkeypatch
) -> None:
    candles = candles_slice(0, 120)
    # paced so that no candle closes during the REST catch-up: the gap counts are then exact
    server = await fake_binance_factory({("BTCUSDT", "1m"): candles[:60]}, start_index=50, pace=0.03)
    point_at(monkeypatch, server)
    await collect_all(server, sqlite_url)
    # the collector is down while 60 more candles close; a new process starts from the table
    later = await fake_binance_factory({("BTCUSDT", "1m"): candles}, start_index=100, pace=0.03)
    point_at(monkeypatch, later)
    gaps_before = metric("botrader_collector_gaps_filled_total", symbol="BTCUSDT", interval="1m")
    result = await collect_all(later, sqlite_url)
    assert_table_equals_served(sqlite_url, later)
    assert result.written == 60
    assert metric("botrader_collector_gaps_filled_total", symbol="BTCUSDT", interval="1m") - gaps_before == 40


async def test_server_pings_are_answered(
    sqlite_url, candles_slice, fake_binance_factory, monkeypatch
) -> None:
    """aiohttp closes a connection whose pings go unanswered; the stream must stay up."""
    server = await fake_binance_factory(
        {("BTCUSDT", "1m"): candles_slice(0, 60)}, start_index=10, faults=Faults(heartbeat=0.1), pace=0.03
    )
    point_at(monkeypatch, server)
    result = await collect_all(server, sqlite_url)
    assert result.connections == 1 and server.connections == 1
    assert_table_equals_served(sqlite_url, server)


async def test_connections_are_renewed_before_the_24h_cut(
    sqlite_url, candles_slice, fake_binance_factory, monkeypatch
) -> None:
    server = await fake_binance_factory({("BTCUSDT", "1m"): candles_slice(0, 60)}, start_index=10, pace=0.02)
    point_at(monkeypatch, server)
    result = await collect_all(server, sqlite_url, max_connection_age=0.3)
    assert result.connections >= 3
    assert_table_equals_served(sqlite_url, server)


async def test_unknown_symbol_fails_before_anything_is_written(
    sqlite_url, candles_slice, fake_binance_factory, monkeypatch
) -> None:
    from botrader.core.errors import UserError

    server = await fake_binance_factory({("BTCUSDT", "1m"): candles_slice(0, 10)})
    point_at(monkeypatch, server)
    cfg = CollectorConfig(symbols=["DOGEUSDT"], db_url=sqlite_url, port=None, clock=server.clock)
    with pytest.raises(UserError, match="unknown symbol 'DOGEUSDT'"):
        await asyncio.wait_for(run_collector(cfg), 10)
    assert CandleStore(connect(sqlite_url)).coverage(keys_of(server)[0]).count == 0
