"""API latency under load: `/bots/{name}` and `/candles?limit=500` at a fixed request rate
from a second process on loopback, against PostgreSQL 15 holding 500,000 candles and a bot
with 100,000 trades. Target: p99 < 50 ms at 200 requests/s for both.

    python bench/bench_api.py [--rate 200] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import httpx
from _common import percentile, tiled_candles
from sqlalchemy import text

from botrader.core.candles import make_key
from botrader.core.data.files import frame_to_candles
from botrader.core.db import connect, upgrade
from botrader.core.db.candles import CandleStore
from botrader.core.db.trading import TRADES, TradingStore
from tests.support.servers import PostgresServer, free_port, wait_for_port


def seed(url: str, candles: int, trades: int) -> None:
    engine = connect(url)
    upgrade(engine)
    store = CandleStore(engine)
    rows = frame_to_candles(tiled_candles(candles))
    for i in range(0, len(rows), 10_000):
        store.upsert(make_key("binance", "BTCUSDT", "1m"), rows[i : i + 10_000])
    TradingStore(engine).register(
        "bench-bot", "default", {"symbol": "BTCUSDT", "budget": 10000, "strategy": {"type": "rsi"}}
    )
    t0 = datetime(2025, 6, 1, tzinfo=UTC)
    batch = [
        {
            "bot": "bench-bot",
            "seq": i,
            "order_id": i,
            "time": t0 + timedelta(minutes=i),
            "side": "buy" if i % 2 == 0 else "sell",
            "quantity": 0.1,
            "price": 100000.0,
            "fee": 10.0,
            "pnl": 0.0,
        }
        for i in range(trades)
    ]
    with engine.begin() as conn:
        conn.execute(TRADES.insert(), batch)
        conn.execute(text("UPDATE bots SET trades = :n WHERE name = 'bench-bot'"), {"n": trades})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))  # statistics as autovacuum would have them in service
    engine.dispose()


async def load(base: str, path: str, rate: float, seconds: float) -> tuple[list[float], int]:
    latencies: list[float] = []
    errors = 0
    async with httpx.AsyncClient(
        base_url=base, timeout=10, limits=httpx.Limits(max_connections=100)
    ) as client:

        async def one() -> None:
            nonlocal errors
            began = time.perf_counter()
            response = await client.get(path)
            latencies.append(time.perf_counter() - began)
            errors += response.status_code != 200

        tasks, start = [], time.perf_counter()
        for i in range(int(rate * seconds)):  # open loop: requests leave on schedule
            await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)
    return latencies, errors


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    server = PostgresServer(durable=True).start()
    api = None
    try:
        url = server.create_database("api")
        seed(url, 500_000, 100_000)
        port = free_port()
        api = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "botrader.core",
                "api",
                "--db",
                url,
                "--port",
                str(port),
                "--host",
                "127.0.0.1",
                "--workers",
                "2",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=dict(os.environ),
        )
        wait_for_port(port, 30)
        base = f"http://127.0.0.1:{port}"
        print(
            f"PostgreSQL 15: 500,000 candles, 100,000 trades; {args.rate:g} req/s for {args.seconds:g} s each"
        )
        for path in (
            "/bots/bench-bot",
            "/candles?symbol=BTCUSDT&interval=1m&limit=500",
            "/bots/bench-bot/trades?limit=100",
        ):
            asyncio.run(load(base, path, 20, 1))  # warm-up
            latencies, errors = asyncio.run(load(base, path, args.rate, args.seconds))
            ms = [x * 1000 for x in latencies]
            print(
                f"{path:<50} n={len(ms):>5} errors={errors}  p50 {percentile(ms, 50):6.2f} ms  "
                f"p99 {percentile(ms, 99):6.2f} ms"
            )
    finally:
        if api:
            api.terminate()
            api.wait(10)
        server.stop()


if __name__ == "__main__":
    main()
