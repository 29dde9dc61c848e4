"""The collector as Kubernetes runs it: a process with probes and metrics that a real
Prometheus scrapes, which stops cleanly and quickly on SIGTERM."""

import asyncio
import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import time

import httpx
import pytest

from botrader.core.candles import Candle, make_key
from botrader.core.db import connect
from botrader.core.db.candles import CandleStore
from botrader.core.intervals import last_closed_open_time
from botrader.core.timeutil import now_ms
from tests.support.servers import PrometheusServer, free_port

KEY = make_key("binance", "BTCUSDT", "1m")


def rebased(candles: list[Candle], history: int) -> list[Candle]:
    """The same candles moved in time so that `history` of them have closed by now."""
    shift = last_closed_open_time(now_ms(), "1m") - candles[history - 1].open_time
    return [dataclasses.replace(c, open_time=c.open_time + shift) for c in candles]


async def start_collector(server, db_url: str, port: int) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "BOTRADER_BINANCE_WS_URL": server.ws_url,
        "BOTRADER_BINANCE_REST_URL": server.rest_url,
    }
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "botrader.core",
        "collect",
        "--symbol",
        "btcusdt",
        "--db",
        db_url,
        "--port",
        str(port),
        "--log-level",
        "WARNING",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def wait_ready(port: int, proc: asyncio.subprocess.Process, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            assert proc.returncode is None, (await proc.stderr.read()).decode()  # type: ignore[union-attr]
            try:
                if (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("collector never became ready")


async def wait_rows(store: CandleStore, count: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while store.coverage(KEY).count < count:
        assert time.monotonic() < deadline, f"only {store.coverage(KEY).count} of {count} rows"
        await asyncio.sleep(0.05)


@pytest.mark.slow
async def test_probes_metrics_and_sigterm(sqlite_url, candles_slice, fake_binance_factory) -> None:
    server = await fake_binance_factory(
        {("BTCUSDT", "1m"): rebased(candles_slice(0, 1000), 300)}, start_index=300, pace=0.02
    )
    port = free_port()
    proc = await start_collector(server, sqlite_url, port)
    await wait_ready(port, proc)
    store = CandleStore(connect(sqlite_url))
    await wait_rows(store, 320)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        assert (await client.get("/healthz")).status_code == 200
        body = (await client.get("/metrics")).text
    assert 'botrader_candles_ingested_total{interval="1m",symbol="BTCUSDT"}' in body
    assert "botrader_collector_lag_seconds" in body and "_created" not in body
    lint = subprocess.run(["promtool", "check", "metrics"], input=body.encode(), capture_output=True)
    assert lint.returncode == 0 and not lint.stdout.strip(), lint.stdout.decode() + lint.stderr.decode()

    began = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    rc = await asyncio.wait_for(proc.wait(), 10)
    assert rc == 0 and time.monotonic() - began < 5.0
    cov = store.coverage(KEY)
    assert cov.count == (cov.last - cov.first) // 60_000 + 1  # no holes in what was stored
    assert (
        store.load(KEY)
        == [dataclasses.replace(c, quote_volume=0.0, trades=0) for c in server.closed(("BTCUSDT", "1m"))][
            : cov.count
        ]
    )


@pytest.mark.slow
@pytest.mark.prometheus
async def test_real_prometheus_scrapes_the_collector(sqlite_url, candles_slice, fake_binance_factory) -> None:
    assert shutil.which("prometheus"), "prometheus is installed by .ci/run"
    server = await fake_binance_factory(
        {("BTCUSDT", "1m"): rebased(candles_slice(0, 600), 100)}, start_index=100, pace=0.05
    )
    port = free_port()
    proc = await start_collector(server, sqlite_url, port)
    prom = await asyncio.to_thread(lambda: PrometheusServer([f"127.0.0.1:{port}"]).start())
    try:
        await wait_ready(port, proc)
        query = 'botrader_candles_ingested_total{symbol="BTCUSDT",interval="1m"}'
        deadline, value = time.monotonic() + 30, 0.0
        async with httpx.AsyncClient(base_url=prom.url) as client:
            while time.monotonic() < deadline and value < 105:
                answer = (await client.get("/api/v1/query", params={"query": query})).json()
                results = answer["data"]["result"]
                value = float(results[0]["value"][1]) if results else 0.0
                await asyncio.sleep(0.25)
            up = (await client.get("/api/v1/query", params={"query": "up"})).json()["data"]["result"]
        assert value >= 105  # 100 backfilled over REST + streamed ones, as scraped by Prometheus
        assert up and up[0]["value"][1] == "1"
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 10)
        await asyncio.to_thread(prom.stop)
