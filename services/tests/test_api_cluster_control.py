"""Control endpoints in a cluster: the API patches the TradingBot (as `kubectl patch` would)
through the Kubernetes API stand-in, names itself as the field manager, and audits the caller
with before/after; the operator then reconciles (operator/tests cover that half)."""

import asyncio
from pathlib import Path

import httpx
import kmock
from fastapi.testclient import TestClient

from botrader.core.db import connect, upgrade
from botrader.core.db.trading import TradingStore
from botrader.services.api.control import FIELD_MANAGER, KubernetesController
from botrader.services.api.main import create_app
from tests.support.kube import Emulator, objects, register_crds

BOTS = "/apis/botrader.io/v1alpha1/namespaces/trading/tradingbots"
AUTH = {"Authorization": "Bearer t0ken"}


async def test_control_patches_the_tradingbot_and_audits(tmp_path: Path) -> None:
    engine = connect(f"sqlite:///{tmp_path / 'bots.db'}")
    upgrade(engine)
    store = TradingStore(engine)
    store.register("btc-rsi", "trading", {"symbol": "BTCUSDT"})  # what the bot's trader wrote
    store.register("gone", "trading", {"symbol": "BTCUSDT"})  # a row whose resource was deleted
    async with Emulator() as emulator, kmock.Server(emulator):
        register_crds(emulator)
        url = str(emulator.url).rstrip("/")
        bot = {
            "apiVersion": "botrader.io/v1alpha1",
            "kind": "TradingBot",
            "metadata": {"name": "btc-rsi", "namespace": "trading"},
            "spec": {"symbol": "BTCUSDT", "budget": 10000},
        }
        async with httpx.AsyncClient(base_url=url) as api:
            assert (await api.post(BOTS, json=bot)).status_code in (200, 201)
        client = TestClient(
            create_app(engine, controller=KubernetesController(url, store=store), token="t0ken")
        )

        def post(path: str) -> tuple[int, dict]:
            response = client.post(path, headers=AUTH)
            return response.status_code, response.json()

        assert await asyncio.to_thread(post, "/bots/btc-rsi/stop") == (
            200,
            {"bot": "btc-rsi", "action": "stop", "phase": "Paused"},
        )
        spec = objects(emulator)[("TradingBot", "btc-rsi")]["spec"]
        assert spec == {"symbol": "BTCUSDT", "budget": 10000, "paused": True, "emergencyStop": False}
        assert (await asyncio.to_thread(post, "/bots/btc-rsi/emergency-stop"))[1]["phase"] == "Halted"
        assert objects(emulator)[("TradingBot", "btc-rsi")]["spec"]["emergencyStop"] is True
        patches = [r for r in emulator._requests if r.method == kmock.method.PATCH]
        assert patches and all(r.params.get("fieldManager") == FIELD_MANAGER for r in patches)
        audit = store.audit_log(bot="btc-rsi")
        assert [(a["actor"], a["action"], a["before"], a["after"]) for a in audit] == [
            (
                "api-token",
                "controls",
                {"paused": False, "emergencyStop": False},
                {"paused": True, "emergencyStop": False},
            ),
            (
                "api-token",
                "controls",
                {"paused": True, "emergencyStop": False},
                {"paused": False, "emergencyStop": True},
            ),
        ]
        status, body = await asyncio.to_thread(post, "/bots/gone/stop")
        assert status == 409 and body["detail"] == "TradingBot trading/gone is not in the cluster"
        assert store.audit_log(bot="gone") == []
    engine.dispose()
