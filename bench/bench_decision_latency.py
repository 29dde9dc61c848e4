"""Decision latency: a candle committed to PostgreSQL 15 (durable) → the trader's decision
on it (fills, order, equity mark, snapshot) committed. p50/p99. Target: p99 < 50 ms (the
original design polled every 5 s).

The trader wakes on NOTIFY, sent in the candle's own transaction. Candles arrive one at a
time at `--rate` per second; every candle counts (each one's decision is persisted), and
the candles that produced fills are reported separately.

    python bench/bench_decision_latency.py [--candles 1000] [--rate 20]
"""

from __future__ import annotations

import argparse
import asyncio
import time

from _common import percentile, tiled_candles

from botrader.core.candles import make_key
from botrader.core.data.files import frame_to_candles
from botrader.core.db import connect, upgrade
from botrader.core.db.candles import CandleStore
from botrader.core.engine.units import MarketRules
from botrader.core.manifests import parse_trading_bot
from botrader.services.trader.service import TraderSettings, run_trader
from tests.support.servers import PostgresServer

KEY = make_key("replay", "BTCUSDT", "1m")
BOT = {
    "apiVersion": "botrader.io/v1alpha1",
    "kind": "TradingBot",
    "metadata": {"name": "bench"},
    "spec": {
        "symbol": "BTCUSDT",
        "source": "replay",
        "replay": {"path": "unused.csv"},
        "strategy": {"type": "rsi", "params": {"oversold": 45, "overbought": 55}},
    },
}


async def measure(url: str, count: int, rate: float) -> tuple[list[float], list[float]]:
    store = CandleStore(connect(url))
    upgrade(store.engine)
    candles = frame_to_candles(tiled_candles(count))
    committed: dict[int, float] = {}
    every, trading = [], []

    def instrument(trader) -> None:
        original = trader.store.save_progress

        def timed(name, market, snapshot, summary, fills, orders, marks):
            original(name, market, snapshot, summary, fills, orders, marks)
            done = time.perf_counter()
            for t, *_ in marks:
                every.append(done - committed.get(t, done))
            if fills:
                trading.append(done - committed.get(marks[-1][0], done))

        trader.store.save_progress = timed

    stop = asyncio.Event()
    task = asyncio.create_task(
        run_trader(
            parse_trading_bot(BOT),
            TraderSettings(url, port=None, poll_interval=5.0, market=MarketRules()),
            stop=stop,
            on_start=instrument,
        )
    )
    await asyncio.sleep(1.0)

    def write(candle) -> None:
        store.upsert(KEY, [candle])
        committed[candle.open_time] = time.perf_counter()  # stamped in the writing thread, at once

    for candle in candles:
        await asyncio.to_thread(write, candle)
        await asyncio.sleep(1 / rate)
    await asyncio.sleep(0.5)
    stop.set()
    await task
    return every, trading


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--candles", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=20.0)
    args = parser.parse_args()
    server = PostgresServer(durable=True).start()
    try:
        every, trading = asyncio.run(measure(server.create_database("decide"), args.candles, args.rate))
    finally:
        server.stop()
    for name, values in (("every candle", every), ("candles with fills", trading)):
        ms = [v * 1000 for v in values]
        print(
            f"{name:<19} n={len(ms):>5}  p50 {percentile(ms, 50):6.2f} ms  p99 {percentile(ms, 99):6.2f} ms  "
            f"max {max(ms):6.2f} ms"
        )


if __name__ == "__main__":
    main()
