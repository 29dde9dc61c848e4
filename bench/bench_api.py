"""API latency under load: `/bots/{name}`, `/candles?limit=500` and `/bots/{name}/trades?limit=100`
at a fixed request rate (open loop) from this process on loopback, against PostgreSQL 15 holding
500,000 candles and a bot with 100,000 trades, served by `botrader api --workers 2`. Target:
p99 < 50 ms at 200 requests/s for each.

`--writes N`: a writer commits N times a second meanwhile (a new candle and the bot's row), so
the answers cached by the API are dropped and recomputed at that rate — a live 1m bot commits
once a minute, a replay far more often. `--find-max`: then steps the rate up until p99 passes
50 ms and reports the highest rate that stayed under.

    python bench/bench_api.py [--rate 200] [--seconds 20] [--writes 1] [--find-max] [--before DIR]

`--before DIR` measures another checkout's API with the same load and data, e.g.
`git worktree add /tmp/before 0509f00` for the API as it was before the change feed.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import httpx
from _common import cpu_seconds, machine_speed, percentile, tiled_candles
from sqlalchemy import text

from botrader.core.candles import make_key
from botrader.core.data.files import frame_to_candles
from botrader.core.db import connect, upgrade
from botrader.core.db.candles import CandleStore
from botrader.core.db.trading import TRADES, TradingStore
from tests.support.servers import PostgresServer, free_port, wait_for_port

PATHS = (
    "/bots/bench-bot",
    "/candles?symbol=BTCUSDT&interval=1m&limit=500",
    "/bots/bench-bot/trades?limit=100",
)


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
            try:
                response = await client.get(path)
                errors += response.status_code != 200
            except httpx.HTTPError:  # an overloaded server may drop the connection: an error, timed
                errors += 1
            latencies.append(time.perf_counter() - began)

        tasks, start = [], time.perf_counter()
        for i in range(int(rate * seconds)):  # open loop: requests leave on schedule
            await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)
    return latencies, errors


def write_steadily(url: str, per_second: float, stop: threading.Event) -> None:
    """A new candle after the seeded ones and the bot's row, `per_second` commits a second."""
    engine = connect(url)
    candles, bots = CandleStore(engine), TradingStore(engine)
    key = make_key("binance", "BTCUSDT", "1m")
    last = candles.last_open_time(key) or 0
    template = candles.load(key, limit=1, newest=True)[0]
    i = 0
    while not stop.wait(1 / per_second):
        i += 1
        candles.upsert(key, [dataclasses.replace(template, open_time=last + i * 60_000)])
        bots.set_phase("bench-bot", "Running", f"write {i}")
    engine.dispose()


def serve(url: str, *, cache: bool, checkout: str | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """`botrader api --workers 2`; from `checkout`'s sources when given (an earlier commit's
    worktree: its packages shadow the installed ones)."""
    port = free_port()
    cmd = [sys.executable, "-m", "botrader.core", "api", "--db", url, "--port", str(port)]
    cmd += ["--host", "127.0.0.1", "--workers", "2"] + ([] if cache else ["--no-cache"])
    env = dict(os.environ)
    if checkout:
        env["PYTHONPATH"] = os.pathsep.join(f"{checkout}/{p}/src" for p in ("core", "services"))
    api = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    wait_for_port(port, 30)
    return api, f"http://127.0.0.1:{port}"


def measure(base: str, path: str, rate: float, seconds: float, pid: int | None = None) -> dict[str, float]:
    """p50/p99 in ms, requests, errors and, with the server's `pid`, its CPU ms per request."""
    cpu0, mine0 = (cpu_seconds(pid) if pid else 0.0), time.process_time()
    latencies, errors = asyncio.run(load(base, path, rate, seconds))
    cpu = (cpu_seconds(pid) - cpu0) if pid else float("nan")
    mine = time.process_time() - mine0  # the load generator's own CPU, on the same cores
    ms = [x * 1000 for x in latencies]
    n = len(ms)
    return {
        "p50": percentile(ms, 50),
        "p99": percentile(ms, 99),
        "n": n,
        "errors": errors,
        "cpu": cpu * 1000 / n,
        "client": mine * 1000 / n,
    }


def run(
    url: str, args: argparse.Namespace, *, cache: bool, checkout: str | None = None
) -> dict[str, dict[str, float]]:
    api, base = serve(url, cache=cache, checkout=checkout)
    found: dict[str, dict[str, float]] = {}
    try:
        print(
            f"-- botrader api --workers 2{'' if cache else ' --no-cache'}{f' from {checkout}' if checkout else ''}"
        )
        for path in PATHS:
            measure(base, path, min(args.rate, 50), 2)  # warm-up: both workers, their caches, the pool
            m = found[path] = measure(base, path, args.rate, args.seconds, api.pid)
            print(
                f"{path:<50} n={m['n']:>5} errors={m['errors']}  p50 {m['p50']:7.2f} ms  "
                f"p99 {m['p99']:8.2f} ms  server CPU {m['cpu']:6.2f} ms/request (load generator {m['client']:.2f})"
            )
        if args.find_max:
            for path in PATHS:
                best = 0
                for rate in (25, 50, 100, 150, 200, 300, 400, 500, 600, 800, 1000):
                    m = measure(base, path, rate, max(5.0, args.seconds / 2))
                    print(
                        f"  {path:<48} {rate:>5} req/s  p50 {m['p50']:7.2f} ms  p99 {m['p99']:8.2f} ms  "
                        f"load generator CPU {m['client']:.2f} ms/request"
                    )
                    if m["p99"] >= 50 or m["errors"]:
                        break
                    best = rate
                found[path]["max"] = best
                print(f"{path:<50} sustains {best} req/s with p99 < 50 ms")
    finally:
        api.terminate()
        api.wait(10)
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--writes", type=float, default=0, help="commits per second meanwhile")
    parser.add_argument("--find-max", action="store_true", help="then step the rate up until p99 >= 50 ms")
    parser.add_argument("--no-peer", action="store_true", help="skip the uncached server (--no-cache)")
    parser.add_argument(
        "--before",
        metavar="CHECKOUT",
        help="also measure this checkout's API (e.g. a worktree of an earlier commit)",
    )
    args = parser.parse_args()
    server = PostgresServer(durable=True).start()
    stop = threading.Event()
    try:
        url = server.create_database("api")
        seed(url, 500_000, 100_000)
        print(machine_speed())
        print(
            f"PostgreSQL 15: 500,000 candles, 100,000 trades; {args.rate:g} req/s for {args.seconds:g} s each; "
            f"{args.writes:g} commits/s meanwhile; load generator (httpx) in this process"
        )
        if args.writes:
            threading.Thread(target=write_steadily, args=(url, args.writes, stop), daemon=True).start()
        cached = run(url, args, cache=True)
        peers = {} if args.no_peer else {"uncached (--no-cache)": run(url, args, cache=False)}
        if args.before:
            peers[f"before ({args.before})"] = run(url, args, cache=True, checkout=args.before)
        for name, peer in peers.items():
            print(f"-- cached / {name}")
            for path in PATHS:
                a, b = cached[path], peer[path]
                print(
                    f"{path:<50} server CPU per request {a['cpu'] / b['cpu']:.2f}x  p99 {a['p99'] / b['p99']:.2f}x"
                )
    finally:
        stop.set()
        server.stop()


if __name__ == "__main__":
    main()
