"""A user's strategy in the cluster, end to end on the API stand-in: the operator mounts the
ConfigMap's file into the trader pod and points the trader at it; when the file does not
import, the real trader command (run here as the kubelet would run the pod) writes why, and
the bot becomes Failed with StrategyReady=False carrying that one line, a Warning Event, and
the trader held at zero replicas — no crash loop. Fixing the file rolls the trader."""

import asyncio
import importlib
import subprocess
import sys
from pathlib import Path

import httpx
import kmock
import pytest
import yaml

from tests.support.kube import Emulator, objects, register_crds, write_kubeconfig
from tests.support.paths import SAMPLE
from tests.support.waiting import eventually

NS = "/api/v1/namespaces/default"
BOTS = "/apis/botrader.io/v1alpha1/namespaces/default/tradingbots"
MERGE = {"Content-Type": "application/merge-patch+json"}
BROKEN = "from botrader.core.strategy import Strategy\n\nclass Mine(Strategy)\n    pass\n"
FIXED = (
    "from botrader.core.strategy import Strategy\n\n"
    "class Mine(Strategy):\n    def on_candle(self, candle, ind, account):\n        return None\n"
)


def bot() -> dict:
    return {
        "apiVersion": "botrader.io/v1alpha1",
        "kind": "TradingBot",
        "metadata": {"name": "mine", "namespace": "default"},
        "spec": {
            "symbol": "BTCUSDT",
            "source": "replay",
            "replay": {"path": str(SAMPLE), "speed": 0},
            "strategy": {
                "type": "custom",
                "ref": "mine.py:Mine",
                "source": {"configMap": "strategies", "key": "mine.py"},
            },
        },
    }


def run_trader_pod(found: dict, mount: Path, db_url: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """What the kubelet would start: the Deployment's container args, with the two volumes
    (the bot's ConfigMap at /config, the strategy's at /strategies) as local folders."""
    pod = found[("Deployment", "mine-trader")]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert {v["name"]: v.get("configMap", {}).get("name") for v in pod["volumes"]} == {
        "tmp": None,
        "config": "mine-config",
        "strategy": "strategies",
    }
    assert {"name": "strategy", "mountPath": "/strategies", "readOnly": True} in container["volumeMounts"]
    doc = found[("ConfigMap", "mine-config")]["data"]["bot.yaml"].replace("/strategies/", f"{mount}/")
    (tmp_path / "bot.yaml").write_text(doc)
    args = [a if a != "/config/bot.yaml" else str(tmp_path / "bot.yaml") for a in container["args"]]
    args = [*args[: args.index("--port")], "--port", "0", "--db", db_url, "--until-caught-up"]
    return subprocess.run(
        [sys.executable, "-m", "botrader.core", *args], capture_output=True, text=True, timeout=60
    )


@pytest.mark.slow
async def test_a_broken_strategy_file_fails_the_bot_with_its_message(tmp_path: Path, monkeypatch) -> None:
    import kubernetes
    from kopf.testing import KopfRunner

    mount = tmp_path / "strategies"
    mount.mkdir()
    async with Emulator() as emulator, kmock.Server(emulator):
        register_crds(emulator)
        url = str(emulator.url).rstrip("/")
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", url)
        monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
        monkeypatch.setattr(kubernetes.config.kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(kubeconfig))
        monkeypatch.setenv("BOTRADER_STATUS_INTERVAL", "0.3")
        db_url = f"sqlite:///{tmp_path / 'bots.db'}"
        monkeypatch.setenv("BOTRADER_DB_URL", db_url)
        import botrader.operator.handlers as handlers

        importlib.reload(handlers)
        async with httpx.AsyncClient(base_url=url) as api:
            cm = {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "strategies", "namespace": "default"},
            }
            assert (
                await api.post(f"{NS}/configmaps", json={**cm, "data": {"mine.py": BROKEN}})
            ).status_code in (200, 201)
            assert (await api.post(BOTS, json=bot())).status_code in (200, 201)
            runner = KopfRunner(
                ["run", "--all-namespaces", "--standalone", "-m", "botrader.operator.handlers"]
            )
            await asyncio.to_thread(runner.__enter__)
            try:
                found = await eventually(
                    lambda: objects(emulator) if ("Deployment", "mine-trader") in objects(emulator) else {}
                )
                first_hash = found[("Deployment", "mine-trader")]["spec"]["template"]["metadata"][
                    "annotations"
                ]["botrader.io/strategy-hash"]
                assert (
                    "ref: /strategies/mine.py:Mine" in found[("ConfigMap", "mine-config")]["data"]["bot.yaml"]
                )

                def stale() -> dict:  # no trader has migrated the database yet: status goes on
                    tb = objects(emulator)[("TradingBot", "mine")].get("status", {})
                    found = {c["type"]: c for c in tb.get("conditions", [])}.get("TradingSummaryStale", {})
                    return found if found.get("status") == "True" and tb.get("phase") else {}

                assert "no such table: bots" in (await eventually(stale))["message"]
                (mount / "mine.py").write_text(BROKEN)
                done = await asyncio.to_thread(run_trader_pod, found, mount, db_url, tmp_path)
                assert done.returncode == 2 and "cannot import strategy file" in done.stderr, done.stderr

                def failed() -> dict:
                    tb = objects(emulator)[("TradingBot", "mine")]["status"]
                    ready = {c["type"]: c for c in tb["conditions"]}["StrategyReady"]
                    return tb if tb["phase"] == "Failed" and ready["status"] == "False" else {}

                status = await eventually(failed)
                ready = {c["type"]: c for c in status["conditions"]}["StrategyReady"]
                assert (
                    ready["reason"] == "StrategyInvalid" and "cannot import strategy file" in ready["message"]
                )
                assert "(line 3)" in ready["message"] and "\n" not in ready["message"]
                assert await eventually(
                    lambda: objects(emulator)[("Deployment", "mine-trader")]["spec"]["replicas"] == 0
                )
                warnings = [o for o in objects(emulator).values() if o.get("reason") == "StrategyInvalid"]
                assert warnings and warnings[0]["type"] == "Warning"

                await api.patch(
                    f"{NS}/configmaps/strategies", json={"data": {"mine.py": FIXED}}, headers=MERGE
                )

                def rolled() -> bool:
                    trader = objects(emulator)[("Deployment", "mine-trader")]
                    annotations = trader["spec"]["template"]["metadata"]["annotations"]
                    return (
                        trader["spec"]["replicas"] == 1
                        and annotations["botrader.io/strategy-hash"] != first_hash
                    )

                assert await eventually(rolled)
                (mount / "mine.py").write_text(FIXED)
                done = await asyncio.to_thread(run_trader_pod, objects(emulator), mount, db_url, tmp_path)
                assert done.returncode == 0, done.stderr
            finally:
                await asyncio.to_thread(runner.__exit__, None, None, None)
    assert runner.exception is None, runner.output[-2000:]
    assert yaml  # manifests above are plain dicts; yaml is the ConfigMap's format
