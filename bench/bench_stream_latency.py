"""Latency from a final kline message leaving the (local) Binance server to its committed
row, p50/p99, on SQLite and PostgreSQL 15 (durable). Target: p99 < 50 ms.

The server and the collector share one process and one clock (perf_counter): the server
stamps each `x: true` message as it sends it; the collector's commit hook stamps the row
right after COMMIT returns. Candles stream at `--rate` per second.

    python bench/bench_stream_latency.py [--candles 1000] [--rate 50]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time

from _common import percentile, tiled_candles

from botrader.core.data.files import frame_to_candles
from botrader.services.collector import CollectorConfig, run_collector
from tests.support.fake_binance import FakeBinance
from tests.support.servers import PostgresServer


async def measure(db_url: str, count: int, rate: float) -> list[float]:
    candles = frame_to_candles(tiled_candles(count + 100))
    server = await FakeBinance({("BTCUSDT", "1m"): candles}, start_index=100, pace=1 / rate).start()
    os.environ["BOTRADER_BINANCE_WS_URL"], os.environ["BOTRADER_BINANCE_REST_URL"] = (
        server.ws_url,
        server.rest_url,
    )
    latencies: list[float] = []

    def on_commit(_key: object, committed: list, _changed: int) -> None:
        now = time.perf_counter()
        latencies.extend(
            now - server.sent_at[c.open_time] for c in committed if c.open_time in server.sent_at
        )

    stop = asyncio.Event()
    cfg = CollectorConfig(
        symbols=["BTCUSDT"], db_url=db_url, port=None, start_ms=candles[0].open_time, clock=server.clock
    )
    task = asyncio.create_task(run_collector(cfg, stop=stop, on_commit=on_commit))
    while len(latencies) < count - 1 and not task.done():
        await asyncio.sleep(0.1)
    stop.set()
    await task
    await server.stop()
    return latencies


def report(name: str, latencies: list[float]) -> None:
    ms = [x * 1000 for x in latencies]
    print(
        f"{name:<11} n={len(ms):>5}  p50 {percentile(ms, 50):6.2f} ms  "
        f"p99 {percentile(ms, 99):6.2f} ms  max {max(ms):6.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--candles", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=50.0)
    args = parser.parse_args()
    print(f"{args.candles} final klines at {args.rate:g}/s")
    with tempfile.TemporaryDirectory() as tmp:
        report("sqlite", asyncio.run(measure(f"sqlite:///{tmp}/lat.db", args.candles, args.rate)))
    server = PostgresServer(durable=True).start()
    try:
        report("postgresql", asyncio.run(measure(server.create_database("lat"), args.candles, args.rate)))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
