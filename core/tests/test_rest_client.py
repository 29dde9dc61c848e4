"""The REST client against the local Binance double: pagination, rate limits, errors."""

import time

import pytest

from botrader.core.binance.rest import BinanceRestClient
from botrader.core.errors import SourceUnavailable, UserError
from tests.support.fake_binance import Faults
from tests.support.servers import free_port


async def test_pages_cover_a_range_longer_than_one_page(fake_binance_factory, candles_slice) -> None:
    candles = candles_slice(0, 2500)
    server = await fake_binance_factory({("BTCUSDT", "1m"): candles}, start_index=2499)
    async with BinanceRestClient(server.rest_url, clock=server.clock) as rest:
        pages = [
            p async for p in rest.iter_klines("BTCUSDT", "1m", candles[0].open_time, candles[-1].open_time)
        ]
    assert [len(p) for p in pages] == [1000, 1000, 499]  # the forming candle is left out
    got = [c for p in pages for c in p]
    assert [c.open_time for c in got] == [c.open_time for c in candles[:2499]]
    assert [c.close for c in got] == [c.close for c in candles[:2499]]


async def test_429_and_418_are_waited_out_as_retry_after_says(fake_binance_factory, candles_slice) -> None:
    server = await fake_binance_factory(
        {("BTCUSDT", "1m"): candles_slice(0, 50)},
        start_index=49,
        faults=Faults(rest_429=2, rest_418=1, retry_after="3"),
    )
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)

    async with BinanceRestClient(server.rest_url, clock=server.clock, sleep=fake_sleep) as rest:
        got = await rest.klines("BTCUSDT", "1m", 0)
    assert len(got) == 49
    assert waits == [3.0, 3.0, 3.0] and rest.rate_limited == 3


async def test_real_retry_after_is_honoured(fake_binance_factory, candles_slice) -> None:
    server = await fake_binance_factory(
        {("BTCUSDT", "1m"): candles_slice(0, 5)}, start_index=4, faults=Faults(rest_429=1, retry_after="1")
    )
    async with BinanceRestClient(server.rest_url, clock=server.clock) as rest:
        began = time.monotonic()
        assert len(await rest.klines("BTCUSDT", "1m", 0)) == 4
    assert time.monotonic() - began >= 1.0


async def test_used_weight_near_the_limit_pauses_until_the_next_minute(
    fake_binance_factory, candles_slice
) -> None:
    server = await fake_binance_factory({("BTCUSDT", "1m"): candles_slice(0, 5)}, start_index=4)
    server.used_weight = 95
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)

    async with BinanceRestClient(
        server.rest_url, weight_limit=100, clock=lambda: 30_000, sleep=fake_sleep
    ) as rest:
        await rest.klines("BTCUSDT", "1m", 0)  # answer says 97 used: above 90% of 100
        assert rest.used_weight == 97
        await rest.klines("BTCUSDT", "1m", 0)
    assert waits == [pytest.approx(30.05)]


async def test_unknown_symbol_and_interval_are_user_errors(fake_binance_factory, candles_slice) -> None:
    server = await fake_binance_factory({("BTCUSDT", "1m"): candles_slice(0, 5)})
    async with BinanceRestClient(server.rest_url) as rest:
        with pytest.raises(UserError, match="unknown symbol 'NOPEUSDT'"):
            await rest.exchange_info("NOPEUSDT")
        with pytest.raises(UserError, match="unknown symbol 'NOPEUSDT'"):
            await rest.klines("NOPEUSDT", "1m", 0)
        with pytest.raises(UserError, match="unknown interval '5m'"):
            await rest.klines("BTCUSDT", "5m", 0)
        info = await rest.exchange_info("BTCUSDT")
    assert {f["filterType"] for f in info["filters"]} >= {"LOT_SIZE", "NOTIONAL"}


async def test_unreachable_endpoint_is_source_unavailable() -> None:
    async def no_sleep(_: float) -> None:
        return None

    url = f"http://127.0.0.1:{free_port()}"
    async with BinanceRestClient(url, max_retries=2, sleep=no_sleep) as rest:
        with pytest.raises(SourceUnavailable, match=f"cannot reach Binance REST at {url}"):
            await rest.klines("BTCUSDT", "1m", 0)
