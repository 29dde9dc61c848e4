"""Push latency: 200 WebSocket clients subscribed to one bot while a replay commits 100 candles a
second through a real PaperTrader, on PostgreSQL 15, served by `botrader api --workers 2`.

Latency is commit → client: the writer notes the wall-clock time each candle's trader
transaction committed; every client notes when the update carrying that candle's equity mark
arrived. Also the server's CPU (both workers, from /proc) over the run. Target: p99 < 100 ms.
The clients run in a second process, the writer in this one, all on this machine.

    python bench/bench_ws.py [--clients 200] [--rate 100] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from _common import cpu_seconds, percentile, tiled_candles

from botrader.core.candles import make_key
from botrader.core.data.files import frame_to_candles
from botrader.core.db import connect, upgrade
from botrader.core.db.candles import CandleStore
from botrader.core.db.trading import TradingStore
from botrader.core.engine.units import MarketRules
from botrader.core.manifests import parse_trading_bot
from botrader.core.timeutil import datetime_to_ms
from botrader.services.trader.trader import PaperTrader
from tests.support.servers import PostgresServer, free_port, wait_for_port

BOT = {
    "apiVersion": "botrader.io/v1alpha1",
    "kind": "TradingBot",
    "metadata": {"name": "ws-bot"},
    "spec": {"symbol": "BTCUSDT", "source": "replay", "replay": {"path": "x.csv"}, "budget": 10000},
}
KEY = make_key("replay", "BTCUSDT", "1m")
WARM = 300  # candles the bot has seen before the clients connect (its indicators warm up)


async def clients(url: str, n: int, seconds: float, out: Path) -> None:
    """`n` sockets on one bot; each notes (arrival, mark time) for every equity mark pushed."""
    import websockets

    arrivals: list[tuple[float, int]] = []
    ready = 0

    async def one() -> None:
        nonlocal ready
        async with websockets.connect(url, max_size=None) as ws:
            ready += 1
            deadline = time.time() + seconds
            while (left := deadline - time.time()) > 0:
                try:
                    raw = await asyncio.wait_for(ws.recv(), left)
                except TimeoutError:
                    break
                now = time.time()
                msg = json.loads(raw)
                if msg["type"] == "bot":
                    arrivals.extend((now, _ms(p["time"])) for p in msg["equity"])

    tasks = [asyncio.create_task(one()) for _ in range(n)]
    while ready < n:
        await asyncio.sleep(0.05)
    Path(str(out) + ".ready").touch()
    await asyncio.gather(*tasks, return_exceptions=True)
    out.write_text(json.dumps(arrivals))


def _ms(iso: str) -> int:
    from datetime import datetime

    return datetime_to_ms(datetime.fromisoformat(iso.replace("Z", "+00:00")))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--rate", type=float, default=100, help="candles per second")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--client-process", nargs=2, metavar=("URL", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client_process:
        asyncio.run(
            clients(args.client_process[0], args.clients, args.seconds + 5, Path(args.client_process[1]))
        )
        return
    server = PostgresServer(durable=True).start()
    api = watchers = None
    try:
        url = server.create_database("ws")
        engine = connect(url)
        upgrade(engine)
        total = WARM + int(args.rate * args.seconds)
        rows = frame_to_candles(tiled_candles(total))
        store = CandleStore(engine)
        store.upsert(KEY, rows[:WARM])
        trader = PaperTrader(parse_trading_bot(BOT), store, TradingStore(engine), MarketRules(), batch=1)
        trader.start(actor="bench")
        while trader.step():
            pass
        port = free_port()
        cmd = [
            sys.executable,
            "-m",
            "botrader.core",
            "api",
            "--db",
            url,
            "--port",
            str(port),
            "--workers",
            "2",
        ]
        api = subprocess.Popen(
            [*cmd, "--host", "127.0.0.1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_for_port(port, 30)
        out = Path(f"/tmp/bench-ws-{os.getpid()}.json")
        target = f"ws://127.0.0.1:{port}/ws?bot=ws-bot"
        clients_cmd = [
            sys.executable,
            __file__,
            "--clients",
            str(args.clients),
            "--seconds",
            str(args.seconds),
        ]
        watchers = subprocess.Popen([*clients_cmd, "--client-process", target, str(out)])
        while not Path(str(out) + ".ready").exists():
            time.sleep(0.05)
        committed: dict[int, float] = {}
        cpu0, wall0 = cpu_seconds(api.pid), time.time()
        for i, candle in enumerate(rows[WARM:]):
            time.sleep(max(0.0, wall0 + i / args.rate - time.time()))
            store.upsert(KEY, [candle])
            while trader.step():
                committed[candle.open_time] = time.time()
        cpu, wall = cpu_seconds(api.pid) - cpu0, time.time() - wall0
        watchers.wait(60)
        arrivals = json.loads(out.read_text())
        latencies = [(t - committed[m]) * 1000 for t, m in arrivals if m in committed]
        expected = len(committed) * args.clients
        print(
            f"PostgreSQL 15, botrader api --workers 2: {args.clients} clients on one bot, "
            f"{args.rate:g} candles/s for {args.seconds:g} s through a PaperTrader"
        )
        print(
            f"delivered {len(latencies):,} of {expected:,} marks; commit -> client "
            f"p50 {percentile(latencies, 50):.1f} ms  p99 {percentile(latencies, 99):.1f} ms  "
            f"max {max(latencies):.1f} ms"
        )
        print(f"server CPU {cpu:.1f} s over {wall:.1f} s = {cpu / wall:.0%} of one core (2 workers)")
        engine.dispose()
    finally:
        for proc in (watchers, api):
            if proc and proc.poll() is None:
                proc.terminate()
                proc.wait(10)
        server.stop()


if __name__ == "__main__":
    main()
