"""Two operator replicas (as the chart's StatefulSet runs them: same peering object, distinct
priorities) against the Kubernetes API stand-in: only the higher-priority one acts; when it
stops, the other takes over."""

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx
import kmock
import pytest
import yaml
from kmock import ResourceInfo

from tests.support.kube import Emulator, objects, register_crds, write_kubeconfig
from tests.support.paths import REPO
from tests.support.servers import free_port
from tests.support.waiting import eventually

BOTRADER = str(Path(sys.executable).with_name("botrader"))
PEERINGS = "/apis/kopf.dev/v1/clusterkopfpeerings"
BOTS = "/apis/botrader.io/v1alpha1/namespaces/default/tradingbots"
MERGE = {"Content-Type": "application/merge-patch+json"}


def reconciles(port: int) -> float:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    for line in text.splitlines():
        if line.startswith('botrader_reconcile_total{kind="TradingBot",result="ok"}'):
            return float(line.split()[-1])
    return 0.0


@pytest.mark.slow
async def test_only_the_higher_priority_replica_acts_and_the_other_takes_over(tmp_path: Path) -> None:
    async with Emulator() as emulator, kmock.Server(emulator):
        register_crds(emulator)
        emulator.resources["kopf.dev/v1/clusterkopfpeerings"] = ResourceInfo(
            kind="ClusterKopfPeering",
            namespaced=False,
            singular="clusterkopfpeering",
            verbs={"create", "delete", "get", "list", "patch", "update", "watch"},
        )
        url = str(emulator.url).rstrip("/")
        env = {
            **os.environ,
            "KUBECONFIG": str(write_kubeconfig(tmp_path / "kubeconfig", url)),
            "BOTRADER_STATUS_INTERVAL": "0.5",
        }
        env.pop("BOTRADER_DB_URL", None)
        async with httpx.AsyncClient(base_url=url) as api:
            peering = {
                "apiVersion": "kopf.dev/v1",
                "kind": "ClusterKopfPeering",
                "metadata": {"name": "botrader"},
            }
            assert (await api.post(PEERINGS, json=peering)).status_code in (200, 201)
            metrics = {100: free_port(), 90: free_port()}
            replicas = {
                priority: subprocess.Popen(
                    [
                        BOTRADER,
                        "operator",
                        f"--priority={priority}",
                        f"--metrics-port={port}",
                        f"--liveness=http://127.0.0.1:{free_port()}/healthz",
                    ],
                    env=env,
                    stdout=(tmp_path / f"operator-{priority}.log").open("wb"),
                    stderr=subprocess.STDOUT,
                )
                for priority, port in metrics.items()
            }
            try:

                def peers() -> dict:
                    return objects(emulator)[("ClusterKopfPeering", "botrader")].get("status") or {}

                assert await eventually(lambda: len(peers()) == 2, timeout=30)
                await asyncio.sleep(1.0)  # the lower one has seen the higher one and paused
                bot = yaml.safe_load((REPO / "examples" / "tradingbot-rsi.yaml").read_text())
                bot["metadata"]["namespace"] = "default"
                assert (await api.post(BOTS, json=bot)).status_code in (200, 201)
                assert await eventually(
                    lambda: ("Deployment", "btc-rsi-trader") in objects(emulator), timeout=20
                )
                assert await eventually(
                    lambda: objects(emulator)[("TradingBot", "btc-rsi")].get("status", {}).get("phase")
                )
                await asyncio.sleep(1.0)
                counts = {p: await asyncio.to_thread(reconciles, port) for p, port in metrics.items()}
                assert counts == {100: 1.0, 90: 0.0}, counts

                replicas[100].terminate()  # the acting replica goes away (a rollout, a node drain)
                await asyncio.to_thread(replicas[100].wait, 30)
                assert await eventually(lambda: len(peers()) == 1, timeout=30)
                await api.patch(f"{BOTS}/btc-rsi", json={"spec": {"budget": 20000}}, headers=MERGE)
                assert await eventually(lambda: reconciles(metrics[90]) == 1.0, timeout=30), (
                    tmp_path / "operator-90.log"
                ).read_text()[-3000:]
            finally:
                for proc in replicas.values():
                    proc.terminate()
                for proc in replicas.values():
                    try:
                        await asyncio.to_thread(proc.wait, 15)
                    except subprocess.TimeoutExpired:
                        proc.kill()
