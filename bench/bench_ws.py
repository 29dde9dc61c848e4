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
import base64
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from _common import cpu_seconds, machine_speed, percentile, tiled_candles

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


class Watcher(asyncio.Protocol):
    """One socket on the bot; notes (arrival, mark time) for every equity mark pushed. A few
    lines of asyncio.Protocol (handshake, unmasked server frames parsed from the buffer, the
    marks' times found in the text), not a WebSocket library: with 200 sockets on these two
    cores a library's per-message cost in the load generator would be what is measured."""

    def __init__(self, i: int, request: bytes, last: str, log: Log) -> None:
        self.i, self.request, self.last, self.log = i, request, last, log
        self.buffer = bytearray()
        self.upgraded = self.snapshot = False
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.transport.write(self.request)  # type: ignore[union-attr]

    def connection_lost(self, exc: Exception | None) -> None:
        self.finish(f"connection ended: {type(exc).__name__ if exc else 'EOF'}")

    def finish(self, reason: str | None = None) -> None:
        if not self.done.done():
            if reason:
                self.log.closed.append(reason)
            self.done.set_result(None)

    def data_received(self, data: bytes) -> None:
        now = time.time()
        buffer = self.buffer
        buffer += data
        if not self.upgraded:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            del buffer[: end + 4]
            self.upgraded = True
        while len(buffer) >= 2:
            size, start = buffer[1] & 0x7F, 2
            if size == 126:
                size, start = int.from_bytes(buffer[2:4], "big"), 4
            elif size == 127:
                size, start = int.from_bytes(buffer[2:10], "big"), 10
            if len(buffer) < start + size:
                return
            opcode, body = buffer[0] & 0x0F, bytes(buffer[start : start + size])
            del buffer[: start + size]
            self.frame(opcode, body, now)

    def frame(self, opcode: int, body: bytes, now: float) -> None:
        if opcode == 8:  # close: note the reason (e.g. "slow consumer")
            self.finish(body[2:].decode(errors="replace"))
        elif opcode == 9:  # uvicorn pings every 20 s: answer as a client must (masked pong)
            mask = os.urandom(4)
            pong = bytes(b ^ mask[i % 4] for i, b in enumerate(body))
            self.transport.write(bytes([0x8A, 0x80 | len(body)]) + mask + pong)  # type: ignore[union-attr]
        elif opcode == 1:
            self.log.frames += 1
            text = body.decode()
            if not self.snapshot:  # ready once subscribed: what is measured is the steady state
                self.snapshot = True
                self.log.ready += 1
            for message in text.split('{"type":')[1:]:  # a frame may hold several
                if message.startswith('"bot"'):
                    marks = message[message.index('"equity":[') :]
                    self.log.arrivals.extend((self.i, now, m[:19]) for m in marks.split('"time":"')[1:])
            if self.log.arrivals and f'"time":"{self.last}' in text:
                self.finish()  # the replay's last mark: this client has seen it all


@dataclass
class Log:
    arrivals: list[tuple[int, float, str]] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    ready: int = 0
    frames: int = 0


async def clients(url: str, n: int, seconds: float, out: Path, last: str) -> None:
    host, _, rest = url.removeprefix("ws://").partition("/")
    address, port = host.split(":")
    loop, log = asyncio.get_running_loop(), Log()
    watchers = []
    for i in range(n):
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET /{rest} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
        watcher = Watcher(i, request, last, log)
        await loop.create_connection(lambda w=watcher: w, address, int(port))
        watchers.append(watcher)
    while log.ready < n:
        await asyncio.sleep(0.05)
    Path(str(out) + ".ready").touch()
    waiting = [w.done for w in watchers]
    _, late = await asyncio.wait(waiting, timeout=seconds)
    log.closed.extend("client deadline" for _ in late)
    for w in watchers:
        w.transport.close()  # type: ignore[union-attr]
    out.write_text(json.dumps({"arrivals": log.arrivals, "closed": log.closed, "frames": log.frames}))


def _iso(ms: int) -> str:
    from botrader.core.timeutil import ms_to_datetime

    return ms_to_datetime(ms).strftime("%Y-%m-%dT%H:%M:%S")


def _ms(iso: str) -> int:
    from datetime import UTC, datetime

    return datetime_to_ms(datetime.fromisoformat(iso).replace(tzinfo=UTC))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--rate", type=float, default=100, help="candles per second")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--client-process", nargs=3, metavar=("URL", "OUT", "LAST"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client_process:
        url, out, last = args.client_process
        asyncio.run(clients(url, args.clients, args.seconds * 2 + 10, Path(out), last))
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
        watchers = subprocess.Popen(
            [*clients_cmd, "--client-process", target, str(out), _iso(rows[-1].open_time)]
        )
        while not Path(str(out) + ".ready").exists():
            if watchers.poll() is not None:
                raise SystemExit(f"the clients exited ({watchers.returncode}) before connecting")
            time.sleep(0.05)
        committed: dict[int, float] = {}
        cpu0, wall0, watch0, mine0 = (
            cpu_seconds(api.pid),
            time.time(),
            cpu_seconds(watchers.pid),
            time.process_time(),
        )
        for i, candle in enumerate(rows[WARM:]):
            time.sleep(max(0.0, wall0 + i / args.rate - time.time()))
            store.upsert(KEY, [candle])
            while trader.step():
                committed[candle.open_time] = time.time()
        cpu, wall = cpu_seconds(api.pid) - cpu0, time.time() - wall0
        watching, writing = cpu_seconds(watchers.pid) - watch0, time.process_time() - mine0
        watchers.wait(args.seconds * 2 + 30)
        found = json.loads(out.read_text())
        arrivals, closed = found["arrivals"], found["closed"]
        latencies = [(t - committed[_ms(m)]) * 1000 for _, t, m in arrivals if _ms(m) in committed]
        last = _iso(max(committed))
        complete = len({i for i, _, m in arrivals if m == last})
        expected = len(committed) * args.clients
        print(machine_speed())
        print(
            f"PostgreSQL 15, botrader api --workers 2: {args.clients} clients on one bot, "
            f"{args.rate:g} candles/s for {args.seconds:g} s through a PaperTrader"
        )
        print(
            f"delivered {len(latencies):,} of {expected:,} marks; commit -> client "
            f"p50 {percentile(latencies, 50):.1f} ms  p99 {percentile(latencies, 99):.1f} ms  "
            f"max {max(latencies):.1f} ms"
        )
        per_client = found["frames"] / args.clients
        print(f"{per_client:,.0f} frames per client for {len(committed):,} commits (deltas coalesce)")
        reasons = {r: closed.count(r) for r in set(closed)}
        print(
            f"{complete} of {args.clients} clients received the last mark; the server closed: {reasons or 'none'}"
        )
        print(f"server CPU {cpu:.1f} s over {wall:.1f} s = {cpu / wall:.0%} of one core (2 workers)")
        print(
            f"on the same 2 cores: the clients {watching / wall:.0%} of one core, the writer (trader) {writing / wall:.0%}"
        )
        engine.dispose()
    finally:
        for proc in (watchers, api):
            if proc and proc.poll() is None:
                proc.terminate()
                proc.wait(10)
        server.stop()


if __name__ == "__main__":
    main()
