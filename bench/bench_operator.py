"""Reconcile latency at scale: N TradingBots created at once, the operator running as its own
process (`botrader operator --standalone`, as the chart's ServiceAccount), per bot:

- *applied*: from its creation until its trader Deployment exists and its status has a phase;
- *Running*: until `status.phase` is Running — on the real control plane the controller
  manager rolls the Deployment out into a ReplicaSet and a pod, the scheduler places it on a
  kwok node, kwok runs it and the Deployment reports it ready, and the operator follows.

Also the operator's peak RSS and its API requests per bot (every request of its
ServiceAccount, from the API server's audit log). The peer, in the same run with `--emulator`:
kmock's emulator (`tests/support/kube.py`), which has no controllers — nothing ever becomes
ready there, so it has only the *applied* figure.

    python bench/bench_operator.py [--bots 200] [--emulator]

Targets (issue 13): p99 < 2 s to Running at 200 bots, operator < 200 MiB; 1,000 reported.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import ssl
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from _common import REPO, percentile

from tests.support import testenv
from tests.support.cluster import apply, kubectl, render, service_account_kubeconfig, stop
from tests.support.servers import free_port

BOTS = "/apis/botrader.io/v1alpha1/namespaces/default/tradingbots"
DEPLOYMENTS = "/apis/apps/v1/namespaces/default/deployments"
OPERATOR = "system:serviceaccount:botrader:botrader-operator"
QUIET = 30.0  # seconds of settled bots to count the operator's steady requests over
INTERVAL = 10  # the operator's status refresh (its default)
SYMBOLS = ["BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT", "XRPUSDT", "ADAUSDT", "DOGEUSDT", "TRXUSDT"]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):  # peak resident set size
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class Seen:
    """When each bot's phase, first Running and trader Deployment were first seen."""

    phase: dict[str, float] = field(default_factory=dict)
    running: dict[str, float] = field(default_factory=dict)
    trader: dict[str, float] = field(default_factory=dict)
    ready: dict[str, float] = field(default_factory=dict)  # the trader Deployment reports ready
    collectors: dict[str, int] = field(default_factory=dict)  # owners each lists, last seen

    def bot(self, name: str, phase: str, at: float) -> None:
        if phase:
            self.phase.setdefault(name, at)
        if phase == "Running":
            self.running.setdefault(name, at)

    def deployment(self, name: str, owners: int, ready: bool, at: float) -> None:
        if name.endswith("-trader"):
            self.trader.setdefault(name.removesuffix("-trader"), at)
            if ready:
                self.ready.setdefault(name.removesuffix("-trader"), at)
        elif name.startswith("collector-"):
            self.collectors[name] = owners

    @property
    def owners(self) -> int:
        return sum(self.collectors.values())


@dataclass
class World:
    """Where the bots go: the API's address, how to talk to it, and how to see what happens."""

    url: str
    kubeconfig: Path
    headers: dict[str, str]
    ssl: ssl.SSLContext | bool
    observe: Callable[[aiohttp.ClientSession, Seen], Awaitable[None]]  # runs until cancelled
    requests: Callable[[], Counter[str] | None]  # the operator's API requests so far, where countable
    controllers: bool  # whether Deployments roll out (and bots can become Running)
    cpu: Callable[[], dict[str, float]] = dict  # CPU seconds of the servers' processes
    floor: Callable[[int], Awaitable[dict[str, float]]] | None = None  # the same children, no operator


async def watch(api: aiohttp.ClientSession, path: str, each: Callable[[dict[str, Any], float], None]) -> None:
    """LIST, then WATCH from its resourceVersion; again from a fresh LIST whenever the server
    ends the stream (a busy server closes watchers that fall behind, or answers 410 Gone). No
    polling: a LIST every 100 ms of 1,000 objects would load the server being measured."""
    while True:
        async with api.get(path) as answer:
            listing = await answer.json()
        now = time.perf_counter()
        for obj in listing["items"]:
            each(obj, now)
        params = {"watch": "1", "resourceVersion": listing["metadata"]["resourceVersion"]}
        try:
            async with api.get(path, params=params, timeout=aiohttp.ClientTimeout(total=None)) as answer:
                async for line in answer.content:
                    event = json.loads(line)
                    if event["type"] == "ERROR":
                        break
                    each(event["object"], time.perf_counter())
        except (TimeoutError, aiohttp.ClientError):
            pass


async def watched(api: aiohttp.ClientSession, seen: Seen) -> None:
    def bot(obj: dict[str, Any], at: float) -> None:
        seen.bot(obj["metadata"]["name"], (obj.get("status") or {}).get("phase") or "", at)

    def deployment(obj: dict[str, Any], at: float) -> None:
        ready = (obj.get("status") or {}).get("readyReplicas", 0) >= 1
        seen.deployment(obj["metadata"]["name"], len(obj["metadata"].get("ownerReferences") or []), ready, at)

    await asyncio.gather(watch(api, BOTS, bot), watch(api, DEPLOYMENTS, deployment))


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


@asynccontextmanager
async def real_plane(tmp: Path) -> AsyncIterator[tuple[World, Path]]:
    bin_dir = subprocess.run(
        ["bash", str(REPO / "scripts" / "testenv.sh"), "bin"], capture_output=True, text=True, check=True
    ).stdout.strip()
    began = time.perf_counter()
    plane = await asyncio.to_thread(testenv.start, str(tmp / "plane"), bin_dir, (OPERATOR,))
    print(f"control plane up in {time.perf_counter() - began:.1f} s")
    try:
        kubectl(plane, "apply", "-f", str(REPO / "crds"))
        kubectl(plane, "create", "namespace", "botrader")
        apply(plane, render("operator.replicas=1", show=("templates/operator/rbac.yaml",)))
        identity = service_account_kubeconfig(
            plane, "botrader", "botrader-operator", tmp / "operator.kubeconfig"
        )
        audit = Path(plane.dir) / "audit.log"

        def requests() -> Counter[str]:
            """The operator's requests by verb and resource, from the audit log."""
            found: Counter[str] = Counter()
            for line in audit.open() if audit.exists() else ():
                event = json.loads(line)
                ref = event.get("objectRef") or {}
                resource = ref.get("resource", event["requestURI"].split("?")[0])
                shed = "429 " if (event.get("responseStatus") or {}).get("code") == 429 else ""
                found[
                    f"{shed}{event['verb']} {resource}{'/' + ref['subresource'] if 'subresource' in ref else ''}"
                ] += 1
            return found

        def cpu() -> dict[str, float]:
            return {name: cpu_seconds(pid) for name, pid in plane.pids.items()}

        headers = {"Authorization": f"Bearer {plane.token}"}
        context = ssl.create_default_context(cafile=plane.ca)

        async def floor(count: int) -> dict[str, float]:
            return await kubectl_floor(plane, plane.url, headers, context, count, tmp)

        world = World(plane.url, identity, headers, context, watched, requests, True, cpu, floor)
        yield world, Path(plane.dir)
    finally:
        await asyncio.to_thread(testenv.stop, plane.dir)


@asynccontextmanager
async def emulator(tmp: Path) -> AsyncIterator[tuple[World, Path]]:
    from kmock import Server  # the peer only: kmock is a test tool

    from tests.support.kube import Emulator, objects, register_crds, write_kubeconfig

    async with Emulator() as stand_in, Server(stand_in):
        register_crds(stand_in)
        url = str(stand_in.url).rstrip("/")

        async def polled(_: aiohttp.ClientSession, seen: Seen) -> None:
            while True:  # in process: its objects, without sharing the stand-in's loop over HTTP
                now = time.perf_counter()
                for (kind, name), obj in objects(stand_in).items():
                    if kind == "TradingBot":
                        seen.bot(name, (obj.get("status") or {}).get("phase") or "", now)
                    elif kind == "Deployment":
                        owners = len(obj["metadata"].get("ownerReferences") or [])
                        seen.deployment(name, owners, False, now)
                await asyncio.sleep(0.1)

        kubeconfig = write_kubeconfig(tmp / "kubeconfig", url)
        yield World(url, kubeconfig, {}, False, polled, lambda: None, False), tmp


FLOOR = "floor"  # the namespace of the floor's children


def floor_children(count: int) -> list[dict[str, Any]]:
    """What the operator makes for `count` bots (ConfigMap, trader Deployment, Service, the
    shared collectors once each), from its own builders, without owners: the floor's objects."""
    from botrader.core.crds import validate
    from botrader.operator.builders import bot_children
    from botrader.operator.settings import OperatorSettings
    from botrader.operator.spec import Bot

    settings, found = OperatorSettings(), {}
    for i in range(count):
        doc = validate({**body(i), "metadata": {"name": f"bot-{i:04d}", "namespace": FLOOR}})
        for child in bot_children(Bot.of(doc["metadata"]["name"], FLOOR, doc["spec"]), settings):
            found[(child["kind"], child["metadata"]["name"])] = child
    return list(found.values())


async def kubectl_floor(
    plane: Any, url: str, headers: dict[str, str], context: Any, count: int, tmp: Path
) -> dict[str, float]:
    """The control plane's own floor: the same children applied by one `kubectl apply` of a
    list, no operator — seconds from the apply until each trader Deployment is available."""
    kubectl(plane, "create", "namespace", FLOOR)
    listing = tmp / "floor.json"
    listing.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": floor_children(count)}))
    ready: dict[str, float] = {}
    path = f"/apis/apps/v1/namespaces/{FLOOR}/deployments"

    def each(obj: dict[str, Any], at: float) -> None:
        name = obj["metadata"]["name"]
        if name.endswith("-trader") and (obj.get("status") or {}).get("availableReplicas", 0) >= 1:
            ready.setdefault(name, at)

    connector = aiohttp.TCPConnector(ssl=context)
    async with aiohttp.ClientSession(base_url=url, headers=headers, connector=connector) as api:
        observer = asyncio.create_task(watch(api, path, each))
        began = time.perf_counter()
        await asyncio.to_thread(kubectl, plane, "apply", "-f", str(listing))
        deadline = began + 60 + count * 0.3
        while len(ready) < count and time.perf_counter() < deadline:
            await asyncio.sleep(0.1)
        observer.cancel()
    kubectl(plane, "delete", "namespace", FLOOR, "--wait=true", "--timeout=300s")
    return {name: at - began for name, at in ready.items()}


def spawn_operator(world: World, log: Path, metrics_port: int) -> subprocess.Popen[bytes]:
    """The operator with its default settings, or as BOTRADER_API_QPS, BOTRADER_API_BURST and
    BOTRADER_WORKERS in this environment say (how its defaults were chosen)."""
    env = {**os.environ, "KUBECONFIG": str(world.kubeconfig), "BOTRADER_STATUS_INTERVAL": str(INTERVAL)}
    from botrader.operator.settings import OperatorSettings

    chosen = OperatorSettings.from_env()
    print(
        f"operator pace: {chosen.api_qps:g} requests/s after a burst of {chosen.api_burst}, "
        f"{chosen.workers or 'unbounded'} workers"
    )
    args = [sys.executable, "-m", "botrader.core", "operator", "--standalone"]
    args += ["--metrics-port", str(metrics_port), "--liveness", f"http://127.0.0.1:{free_port()}/healthz"]
    return subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=log.open("wb"))


def body(i: int) -> dict[str, Any]:
    return {
        "apiVersion": "botrader.io/v1alpha1",
        "kind": "TradingBot",
        "metadata": {"name": f"bot-{i:04d}", "namespace": "default"},
        "spec": {"symbol": SYMBOLS[i % len(SYMBOLS)], "budget": 1000 + i},
    }


async def handler_seconds(port: int) -> tuple[float, float, float]:
    """The create handler's own time (the operator's share of the latency): mean, and the
    histogram buckets that hold its median and 99th percentile."""
    from prometheus_client.parser import text_string_to_metric_families

    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/metrics") as answer:
        text = await answer.text()
    buckets, total, count = [], 0.0, 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.labels.get("kind") != "TradingBot":
                continue
            if sample.name.endswith("_bucket"):
                buckets.append((float(sample.labels["le"]), sample.value))
            elif sample.name.endswith("_sum"):
                total = sample.value
            elif sample.name.endswith("_count"):
                count = sample.value

    def quantile(q: float) -> float:
        return next((le for le, n in sorted(buckets) if n >= q * count), float("inf"))

    return (total / count if count else 0.0), quantile(0.5), quantile(0.99)


def since(created: dict[str, float], seen: dict[str, float]) -> dict[str, float]:
    return {name: seen[name] - at for name, at in created.items() if name in seen}


def session(world: World) -> aiohttp.ClientSession:
    """The bench's own client to the API server (as the admin, 50 connections)."""
    connector = aiohttp.TCPConnector(limit=50, ssl=world.ssl)
    return aiohttp.ClientSession(base_url=world.url, headers=world.headers, connector=connector)


async def create_bots(api: aiohttp.ClientSession, count: int, created: dict[str, float]) -> None:
    """`count` TradingBots at once; `created`: when each exists, as when `kubectl apply` returns."""

    async def create(i: int) -> None:
        async with api.post(BOTS, json=body(i)) as answer:
            answer.raise_for_status()
        created[body(i)["metadata"]["name"]] = time.perf_counter()

    await asyncio.gather(*(create(i) for i in range(count)))


async def measure(world: World, count: int, log: Path, seconds: float) -> dict[str, Any]:
    metrics_port = free_port()
    operator = spawn_operator(world, log, metrics_port)
    created: dict[str, float] = {}
    seen = Seen()
    try:
        await asyncio.sleep(3)  # the operator starts and begins watching
        before, cpu_before = world.requests(), world.cpu()
        operator_cpu = cpu_seconds(operator.pid)
        async with session(world) as api:
            observer = asyncio.create_task(world.observe(api, seen))
            await create_bots(api, count, created)
            deadline = time.perf_counter() + seconds
            goal = seen.running if world.controllers else seen.trader
            while len(goal) < count and time.perf_counter() < deadline:
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.5)  # the last owners
            observer.cancel()
        used, cpu_after = world.requests(), world.cpu()
        await asyncio.sleep(INTERVAL + 2)  # the last refreshes of the settling bots
        settled, settled_cpu = world.requests(), cpu_seconds(operator.pid)
        await asyncio.sleep(QUIET)  # all settled: what the status refresh costs from here on
        quiet = None if settled is None else world.requests() - settled
        quiet_cpu = cpu_seconds(operator.pid) - settled_cpu
        cpu = {name: cpu_after[name] - cpu_before.get(name, 0.0) for name in cpu_after}
        cpu["operator"] = cpu_seconds(operator.pid) - operator_cpu
        applied = {
            name: max(seen.phase[name], seen.trader[name]) - at
            for name, at in created.items()
            if name in seen.phase and name in seen.trader
        }
        return {
            "applied": applied,
            "running": since(created, seen.running),
            "ready": since(created, seen.ready),
            "rss": rss_mib(operator.pid),
            "owners": seen.owners,
            "requests": None if used is None else used - before,  # Counter: what was added
            "controllers": world.controllers,
            "quiet": quiet,
            "quiet_cpu": quiet_cpu,
            "handler": await handler_seconds(metrics_port),
            "cpu": cpu,
        }
    finally:
        stop(operator, 20)


def report(label: str, count: int, result: dict[str, Any]) -> float | None:
    def line(what: str, values: dict[str, float]) -> float | None:
        if not values:
            print(f"  {what}: none of {count}")
            return None
        ms = [v * 1000 for v in values.values()]
        p99 = percentile(ms, 99)
        print(
            f"  {what}: {len(ms)} of {count}; p50 {percentile(ms, 50):,.0f} ms, p99 {p99:,.0f} ms, "
            f"max {max(ms):,.0f} ms"
        )
        return p99

    print(f"{label}: {count} TradingBots created at once")
    p99 = line("children applied + phase", result["applied"])
    if result["controllers"]:
        line("trader Deployment ready", result["ready"])
        line("phase Running", result["running"])
    if result["requests"] is not None:
        total = sum(result["requests"].values())
        kinds = ", ".join(f"{what} {n / count:.1f}" for what, n in result["requests"].most_common(8))
        print(f"  operator API requests: {total:,} ({total / count:.1f} per bot: {kinds})")
        shed = sum(n for what, n in result["requests"].items() if what.startswith("429 "))
        print(f"  answered 429 (the API server shedding load): {shed:,}")
    if result["quiet"] is not None:
        idle = sum(result["quiet"].values()) / count / QUIET * 60
        print(f"  settled, status refresh every {INTERVAL} s: {idle:.2f} API requests per bot per minute")
    per_bot = result["quiet_cpu"] / count / QUIET * 60 * 1000
    print(f"  settled: operator CPU {per_bot:.2f} ms per bot per minute")
    mean, median, tail = result["handler"]

    def bound(seconds: float) -> str:
        return "> 10 s" if seconds == float("inf") else f"<= {seconds:g} s"

    print(
        f"  create handler (the operator's own share): mean {mean * 1000:,.0f} ms; "
        f"p50 {bound(median)}, p99 {bound(tail)} (histogram buckets)"
    )
    print(f"  operator peak RSS {result['rss']:.0f} MiB; shared collectors list {result['owners']} owners")
    cpu = ", ".join(
        f"{name} {seconds:.1f}" for name, seconds in sorted(result["cpu"].items(), key=lambda x: -x[1])
    )
    print(f"  CPU seconds while it ran: {cpu}")
    return p99


def report_floor(count: int, floor: dict[str, float], real: dict[str, Any]) -> None:
    """The floor beside the operator's figures: the ratio the issue's target is stated in."""
    if not floor:
        print(f"kubectl floor: none of {count} trader Deployments available")
        return
    ms = [v * 1000 for v in floor.values()]
    p99 = percentile(ms, 99)
    print(
        f"kubectl floor (the same children, one `kubectl apply` of a list, no operator): "
        f"{len(ms)} of {count} available; p50 {percentile(ms, 50):,.0f} ms, p99 {p99:,.0f} ms, "
        f"all by {max(ms):,.0f} ms"
    )
    running = [v * 1000 for v in real["running"].values()]
    if running:
        print(f"  operator p99 to Running / floor p99: {percentile(running, 99) / p99:.2f}x (target <= 1.3x)")


async def restart(world: World, count: int, log: Path) -> tuple[float, Counter[str]] | None:
    """A rolling restart with every bot settled: a new operator process, until it makes no
    request for 15 s. (seconds to quiet, its requests) — None without an audit log."""
    if world.requests() is None:
        return None
    operator = spawn_operator(world, log, free_port())
    began, before = time.perf_counter(), world.requests()
    try:
        last, quiet_since = before, time.perf_counter()
        while time.perf_counter() - quiet_since < 15 and time.perf_counter() - began < 600:
            await asyncio.sleep(1)
            now = world.requests()
            if now != last:
                last, quiet_since = now, time.perf_counter()
        return quiet_since - began, last - before
    finally:
        stop(operator, 20)


async def kill_during_burst(world: World, count: int, log: Path, fraction: float) -> None:
    """The operator SIGKILLed once `fraction` of a burst of bots have a phase, and started
    again: when every bot is Running, and whether any bot lacks a child (its ConfigMap,
    trader Deployment or Service) — the children's names are deterministic, so none can be
    doubled, only missing."""
    operator = spawn_operator(world, log, free_port())
    seen, created = Seen(), time.perf_counter()
    try:
        await asyncio.sleep(3)
        async with session(world) as api:
            observer = asyncio.create_task(world.observe(api, seen))
            await create_bots(api, count, {})
            created = time.perf_counter()
            while len(seen.phase) < fraction * count:
                await asyncio.sleep(0.05)
            operator.kill()
            operator.wait(10)
            killed_at = len(seen.phase)
            operator = spawn_operator(world, log.with_suffix(".second.log"), free_port())
            deadline = time.perf_counter() + 60 + count * 0.3
            while len(seen.running) < count and time.perf_counter() < deadline:
                await asyncio.sleep(0.1)
            observer.cancel()
            missing: dict[str, int] = {}
            for kind, path, suffix in (
                ("ConfigMap", "/api/v1/namespaces/default/configmaps", "-config"),
                ("Deployment", DEPLOYMENTS, "-trader"),
                ("Service", "/api/v1/namespaces/default/services", "-metrics"),
            ):
                async with api.get(path) as answer:
                    names = {item["metadata"]["name"] for item in (await answer.json())["items"]}
                missing[kind] = sum(1 for i in range(count) if f"bot-{i:04d}{suffix}" not in names)
        last = max(seen.running.values(), default=created) - created
        print(
            f"operator killed after {killed_at} of {count} bots had a phase, started again: "
            f"{len(seen.running)} of {count} Running, the last {last:.0f} s after creation; bots missing a child: "
            + ", ".join(f"{kind} {n}" for kind, n in missing.items())
        )
    finally:
        stop(operator, 20)


def report_restart(count: int, found: tuple[float, Counter[str]] | None) -> None:
    if found is None:
        return
    seconds, requests = found
    total = sum(requests.values())
    kinds = ", ".join(f"{what} {n / count:.1f}" for what, n in requests.most_common(5))
    print(
        f"operator restarted with {count} settled bots: {total:,} requests ({total / count:.1f} per bot: "
        f"{kinds or 'none'}), quiet again after {seconds:.0f} s"
    )


def workdir(keep: bool) -> Any:
    """A scratch folder; with --keep it stays (the operator's log, the audit log) and is named."""
    if not keep:
        return tempfile.TemporaryDirectory()
    where = tempfile.mkdtemp(prefix="bench-operator-")
    print(f"keeping {where}")
    return contextlib.nullcontext(where)


async def main(count: int, with_emulator: bool, keep: bool, kill_at: float | None = None) -> None:
    seconds = 60 + count * 0.3
    if kill_at is not None:
        with workdir(keep) as tmp:
            async with real_plane(Path(tmp)) as (world, where):
                await kill_during_burst(world, count, where / "operator.log", kill_at)
        return
    with workdir(keep) as tmp:
        async with real_plane(Path(tmp)) as (world, where):
            assert world.floor is not None
            floor = await world.floor(count)  # first, its namespace deleted before the operator runs
            real = await measure(world, count, where / "operator.log", seconds)
            restarted = await restart(world, count, where / "operator-restarted.log")
        real_p99 = report(
            "real control plane (kube-apiserver 1.37, etcd, controller manager, scheduler, kwok)", count, real
        )
        report_floor(count, floor, real)
        report_restart(count, restarted)
    if not with_emulator:
        return
    with workdir(keep) as tmp:
        async with emulator(Path(tmp)) as (world, where):
            emulated = await measure(world, count, where / "operator.log", seconds)
        emulated_p99 = report("kmock emulator (no controllers)", count, emulated)
    if real_p99 and emulated_p99:
        print(f"children applied p99, real / emulator: {real_p99 / emulated_p99:.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bots", type=int, default=200)
    parser.add_argument("--emulator", action="store_true", help="also run the kmock emulator peer")
    parser.add_argument("--keep", action="store_true", help="keep the logs (operator, audit) and say where")
    parser.add_argument(
        "--kill-at",
        type=float,
        default=None,
        help="instead: SIGKILL the operator once this fraction of the bots have a phase, start it again",
    )
    args = parser.parse_args()
    asyncio.run(main(args.bots, args.emulator, args.keep, args.kill_at))
