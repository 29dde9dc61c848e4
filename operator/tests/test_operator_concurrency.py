"""Bots created at once on one market: every one of them must end up an owner of the shared
collector (a read-modify-write of the owner list lost half of them at 200 bots), so that the
collector lives exactly as long as its last bot."""

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx
import kmock
import pytest

from tests.support.kube import Emulator, objects, register_crds, write_kubeconfig
from tests.support.servers import free_port
from tests.support.waiting import eventually

BOTRADER = str(Path(sys.executable).with_name("botrader"))
BOTS = "/apis/botrader.io/v1alpha1/namespaces/default/tradingbots"
COLLECTOR = ("Deployment", "collector-binance-btcusdt-1m")


@pytest.mark.slow
async def test_bots_created_at_once_all_own_the_shared_collector(tmp_path: Path) -> None:
    async with Emulator() as emulator, kmock.Server(emulator):
        register_crds(emulator)
        url = str(emulator.url).rstrip("/")
        env = {**os.environ, "KUBECONFIG": str(write_kubeconfig(tmp_path / "kubeconfig", url))}
        env.pop("BOTRADER_DB_URL", None)
        operator = subprocess.Popen(
            [
                BOTRADER,
                "operator",
                "--standalone",
                f"--metrics-port={free_port()}",
                f"--liveness=http://127.0.0.1:{free_port()}/healthz",
            ],
            env=env,
            stdout=(tmp_path / "operator.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        try:
            await asyncio.sleep(2)
            async with httpx.AsyncClient(base_url=url) as api:
                bots = [
                    {
                        "apiVersion": "botrader.io/v1alpha1",
                        "kind": "TradingBot",
                        "metadata": {"name": f"bot-{i:02d}", "namespace": "default"},
                        "spec": {"symbol": "BTCUSDT", "budget": 1000 + i},
                    }
                    for i in range(24)
                ]
                responses = await asyncio.gather(*(api.post(BOTS, json=b) for b in bots))
                assert all(r.status_code in (200, 201) for r in responses)

            def owners() -> list[str]:
                return sorted(o["name"] for o in objects(emulator)[COLLECTOR]["metadata"]["ownerReferences"])

            assert await eventually(lambda: len(owners()) == 24, timeout=30), owners()
            assert owners() == [f"bot-{i:02d}" for i in range(24)]
            assert not any(
                o["controller"] for o in objects(emulator)[COLLECTOR]["metadata"]["ownerReferences"]
            )
        finally:
            operator.terminate()
            await asyncio.to_thread(operator.wait, 20)
