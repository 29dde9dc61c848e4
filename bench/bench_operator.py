"""Reconcile throughput and latency: 200 TradingBots created at once against the Kubernetes
API stand-in (kmock's emulator on loopback); per bot, the time from its creation until its
children exist and its status has a phase; p50/p99, and the operator process's peak RSS.
Target: p99 < 2 s and < 200 MiB RSS. The operator runs as its own process
(`botrader operator --standalone`), as in a cluster.

    python bench/bench_operator.py [--bots 200]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from _common import percentile
from kmock._internal import apps

from tests.support.kube import Emulator, objects, register_crds, write_kubeconfig
from tests.support.servers import free_port

BOTS = "/apis/botrader.io/v1alpha1/namespaces/default/tradingbots"
SYMBOLS = [
    "BTCUSDT",
    "ETHUSDT",
    "BNBUSDT",
    "SOLUSDT",
    "XRPUSDT",
    "ADAUSDT",
    "DOGEUSDT",
    "TRXUSDT",
    "LTCUSDT",
    "DOTUSDT",
]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):  # peak resident set size
            return int(line.split()[1]) / 1024
    return 0.0


async def main(count: int) -> None:
    async with Emulator() as emulator, apps.Server(emulator):
        register_crds(emulator)
        url = str(emulator.url).rstrip("/")
        with tempfile.TemporaryDirectory() as tmp:
            kubeconfig = write_kubeconfig(Path(tmp) / "kubeconfig", url)
            env = {**os.environ, "KUBECONFIG": str(kubeconfig), "BOTRADER_STATUS_INTERVAL": "30"}
            operator = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "botrader.core",
                    "operator",
                    "--standalone",
                    "--metrics-port",
                    str(free_port()),
                    "--liveness",
                    f"http://127.0.0.1:{free_port()}/healthz",
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=open(Path(tmp) / "operator.log", "wb"),
            )
            try:
                await asyncio.sleep(3)  # the operator starts and begins watching
                created: dict[str, float] = {}
                # aiohttp: httpx's pool costs O(queued x connections) per request on the stand-in's loop
                async with aiohttp.ClientSession(
                    base_url=url, connector=aiohttp.TCPConnector(limit=50)
                ) as api:

                    async def create(i: int) -> None:
                        name = f"bot-{i:03d}"
                        body = {
                            "apiVersion": "botrader.io/v1alpha1",
                            "kind": "TradingBot",
                            "metadata": {"name": name, "namespace": "default"},
                            "spec": {"symbol": SYMBOLS[i % len(SYMBOLS)], "budget": 1000 + i},
                        }
                        async with api.post(BOTS, json=body) as response:
                            response.raise_for_status()
                        # the object exists from here, as when `kubectl apply` returns; the
                        # client's own queueing of 200 requests is not the operator's latency
                        created[name] = time.perf_counter()

                    await asyncio.gather(*(create(i) for i in range(count)))
                done: dict[str, float] = {}
                deadline = time.perf_counter() + 120
                while len(done) < count and time.perf_counter() < deadline:
                    found = objects(emulator)
                    now = time.perf_counter()
                    for name in created:
                        if name in done:
                            continue
                        bot = found.get(("TradingBot", name), {})
                        if (bot.get("status") or {}).get("phase") and (
                            "Deployment",
                            f"{name}-trader",
                        ) in found:
                            done[name] = now - created[name]
                    await asyncio.sleep(0.1)  # polling shares the stand-in's event loop: keep it light
                peak = rss_mib(operator.pid)
                owners = sum(
                    len(o["metadata"].get("ownerReferences", []))
                    for (kind, name), o in objects(emulator).items()
                    if kind == "Deployment" and name.startswith("collector-")
                )
                if not done:
                    print((Path(tmp) / "operator.log").read_text()[-3000:])
            finally:
                operator.terminate()
                try:
                    operator.wait(20)
                except subprocess.TimeoutExpired:
                    operator.kill()
    latencies = [v * 1000 for v in done.values()]
    print(f"shared collectors list {owners} of {count} bots as owners (a lost update drops one)")
    print(f"{count} TradingBots created at once; {len(done)} reconciled (children + status phase)")
    print(
        f"per-bot latency p50 {percentile(latencies, 50):,.0f} ms, p99 {percentile(latencies, 99):,.0f} ms, "
        f"max {max(latencies):,.0f} ms; operator peak RSS {peak:.0f} MiB"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--bots", type=int, default=200)
    asyncio.run(main(parser.parse_args().bots))
