"""The operator end to end, through real HTTP, against kmock's Kubernetes API stand-in with
the CRDs loaded, driven by kopf.testing.KopfRunner. The test plays the kubelet and the Job
controller by patching children's status, as no controllers run here."""

import asyncio
from pathlib import Path

import httpx
import kmock
import pytest
import yaml

from tests.support.kube import Emulator, collect_garbage, objects, register_crds, write_kubeconfig
from tests.support.paths import REPO
from tests.support.waiting import eventually

BOTS = "/apis/botrader.io/v1alpha1/namespaces/default/tradingbots"
RUNS = "/apis/botrader.io/v1alpha1/namespaces/default/trainingruns"
MERGE = {"Content-Type": "application/merge-patch+json"}


@pytest.mark.slow
async def test_bots_and_training_runs_are_reconciled(tmp_path: Path, monkeypatch) -> None:
    import kubernetes
    from kopf.testing import KopfRunner

    async with Emulator() as emulator, kmock.Server(emulator):
        register_crds(emulator)
        url = str(emulator.url).rstrip("/")
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", url)
        monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
        monkeypatch.setattr(kubernetes.config.kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(kubeconfig))
        monkeypatch.setenv("BOTRADER_STATUS_INTERVAL", "0.3")
        db_url = f"sqlite:///{tmp_path / 'bots.db'}"
        monkeypatch.setenv("BOTRADER_DB_URL", db_url)
        _trader_wrote_state(db_url)
        import importlib

        import botrader.operator.handlers as handlers

        importlib.reload(handlers)  # pick up the short status interval
        bot = yaml.safe_load((REPO / "examples" / "tradingbot-rsi.yaml").read_text())
        bot["metadata"]["namespace"] = "default"
        async with httpx.AsyncClient(base_url=url) as api:
            assert (await api.post(BOTS, json=bot)).status_code in (200, 201)
            runner = KopfRunner(
                ["run", "--all-namespaces", "--standalone", "-m", "botrader.operator.handlers"]
            )
            await asyncio.to_thread(runner.__enter__)
            try:
                await _check_bot(emulator, api)
                await _check_training_run(emulator, api)
                await _check_model_ref(emulator, api)
                await _check_rayjob_when_kuberay_is_installed(emulator, api)
                await _check_deletion(emulator, api)
            finally:
                await asyncio.to_thread(runner.__exit__, None, None, None)
    assert runner.exception is None, runner.output[-2000:]


def _trader_wrote_state(db_url: str) -> None:
    """What a running trader leaves in the `bots` table."""
    from datetime import UTC, datetime

    from botrader.core.db import connect, upgrade
    from botrader.core.db.trading import BOTS as BOT_ROWS
    from botrader.core.db.trading import TradingStore

    engine = connect(db_url)
    upgrade(engine)
    TradingStore(engine).register("btc-rsi", "default", {"symbol": "BTCUSDT"})
    with engine.begin() as conn:
        conn.execute(
            BOT_ROWS.update()
            .where(BOT_ROWS.c.name == "btc-rsi")
            .values(
                equity=10250.5,
                cash=250.5,
                position=0.1,
                pnl_percent=2.505,
                trades=12,
                phase="Running",
                last_candle_time=datetime(2025, 6, 1, 12, tzinfo=UTC),
            )
        )
    engine.dispose()


async def _check_bot(emulator, api: httpx.AsyncClient) -> None:
    def children() -> dict:
        found = objects(emulator)
        return (
            found
            if ("Deployment", "btc-rsi-trader") in found and ("Job", "btc-rsi-backfill") in found
            else {}
        )

    found = await eventually(children)
    bot_uid = found[("TradingBot", "btc-rsi")]["metadata"]["uid"]
    for key in [
        ("ConfigMap", "btc-rsi-config"),
        ("Deployment", "btc-rsi-trader"),
        ("Service", "btc-rsi-metrics"),
        ("Job", "btc-rsi-backfill"),
        ("Deployment", "collector-binance-btcusdt-1m"),
    ]:
        owners = found[key]["metadata"]["ownerReferences"]
        assert [o["uid"] for o in owners] == [bot_uid], key
    assert (
        found[("Deployment", "collector-binance-btcusdt-1m")]["metadata"]["ownerReferences"][0]["controller"]
        is False
    )
    assert found[("Deployment", "btc-rsi-trader")]["spec"]["replicas"] == 1

    def phase() -> str:
        return objects(emulator)[("TradingBot", "btc-rsi")].get("status", {}).get("phase")

    assert await eventually(lambda: phase() == "Pending")
    for name in ("btc-rsi-trader", "collector-binance-btcusdt-1m"):  # the kubelet reports ready pods
        response = await api.patch(
            f"/apis/apps/v1/namespaces/default/deployments/{name}/status",
            json={"status": {"readyReplicas": 1}},
            headers=MERGE,
        )
        assert response.status_code == 200
    assert await eventually(lambda: phase() == "Running")
    bot_status = objects(emulator)[("TradingBot", "btc-rsi")]["status"]
    conditions = {c["type"]: c for c in bot_status["conditions"]}
    assert conditions["TraderReady"]["status"] == "True" and conditions["CollectorReady"]["status"] == "True"
    assert conditions["CircuitBreakerOpen"]["status"] == "False"
    # the trading summary comes from the trader's persisted state (kubectl get tb shows it)
    assert (bot_status["equity"], bot_status["pnlPercent"], bot_status["trades"]) == (10250.5, 2.505, 12)
    assert bot_status["lastCandleTime"] == "2025-06-01T12:00:00Z"

    await api.patch(f"{BOTS}/btc-rsi", json={"spec": {"paused": True}}, headers=MERGE)
    assert await eventually(
        lambda: objects(emulator)[("Deployment", "btc-rsi-trader")]["spec"]["replicas"] == 0
    )
    assert await eventually(lambda: phase() == "Paused")

    def events(reason: str) -> list[dict]:
        return [
            o
            for (kind, _), o in objects(emulator).items()
            if "involvedObject" in o and o.get("reason") == reason
        ]

    paused = await eventually(lambda: events("Paused"))
    assert paused[0]["message"] == "paused: false → true (by k8s:kubernetes)"
    assert paused[0]["involvedObject"]["name"] == "btc-rsi"
    audit = _audit_rows()
    assert (audit[-1]["actor"], audit[-1]["action"], audit[-1]["before"], audit[-1]["after"]) == (
        "k8s:kubernetes",
        "spec",
        {"paused": False},
        {"paused": True},
    )
    trader = objects(emulator)[("Deployment", "btc-rsi-trader")]
    hash_paused = trader["spec"]["template"]["metadata"]["annotations"]["botrader.io/config-hash"]
    await api.patch(f"{BOTS}/btc-rsi", json={"spec": {"paused": False, "budget": 20000}}, headers=MERGE)

    def rolled() -> bool:
        """a spec change rolls the trader (new config hash) and scales it back up"""
        t = objects(emulator)[("Deployment", "btc-rsi-trader")]
        return (
            t["spec"]["replicas"] == 1
            and t["spec"]["template"]["metadata"]["annotations"]["botrader.io/config-hash"] != hash_paused
        )

    assert await eventually(rolled)

    import os

    from sqlalchemy import create_engine

    from botrader.core.db.trading import BOTS as BOT_ROWS

    with create_engine(os.environ["BOTRADER_DB_URL"]).begin() as conn:  # the trader's breaker trips
        conn.execute(
            BOT_ROWS.update().values(breakers={"max_drawdown": "equity 8,000.00 is more than 20.0% below"})
        )
    assert await eventually(lambda: phase() == "Halted")
    conditions = {c["type"]: c for c in objects(emulator)[("TradingBot", "btc-rsi")]["status"]["conditions"]}
    assert conditions["CircuitBreakerOpen"]["status"] == "True"
    assert conditions["CircuitBreakerOpen"]["reason"] == "max_drawdown"


def _audit_rows() -> list[dict]:
    import os

    from botrader.core.db import connect
    from botrader.core.db.trading import TradingStore

    return TradingStore(connect(os.environ["BOTRADER_DB_URL"])).audit_log(bot="btc-rsi")


async def _check_training_run(emulator, api: httpx.AsyncClient) -> None:
    run = yaml.safe_load((REPO / "examples" / "trainingrun-btc.yaml").read_text())
    run["metadata"]["namespace"] = "default"
    assert (await api.post(RUNS, json=run)).status_code in (200, 201)
    job = await eventually(lambda: objects(emulator).get(("Job", "btc-ppo-train")))  # no KubeRay here: a Job
    assert "botrader train" in job["spec"]["template"]["spec"]["containers"][0]["command"][2]

    def run_status() -> dict:
        return objects(emulator)[("TrainingRun", "btc-ppo")].get("status", {})

    assert await eventually(lambda: run_status().get("jobName") == "btc-ppo-train")
    await api.patch(
        "/apis/batch/v1/namespaces/default/jobs/btc-ppo-train/status",
        headers=MERGE,
        json={"status": {"startTime": "2026-01-01T00:00:00Z", "active": 1}},
    )
    assert await eventually(lambda: run_status().get("phase") == "Running")
    await api.patch(
        "/apis/batch/v1/namespaces/default/jobs/btc-ppo-train/status",
        headers=MERGE,
        json={
            "status": {
                "completionTime": "2026-01-01T01:00:00Z",
                "active": 0,
                "conditions": [{"type": "Complete", "status": "True"}],
            }
        },
    )
    assert await eventually(lambda: run_status().get("phase") == "Succeeded")
    assert run_status()["completionTime"] == "2026-01-01T01:00:00Z"

    def conditions() -> dict:
        return {c["type"]: c for c in run_status().get("conditions", [])}

    assert await eventually(lambda: conditions()["JobComplete"]["status"] == "True")
    assert (
        conditions()["ResultsAvailable"]["reason"] == "NoTrackingServer"
    )  # MLflow: jobs/tests/test_train.py


async def _check_rayjob_when_kuberay_is_installed(emulator, api: httpx.AsyncClient) -> None:
    """Once the cluster serves KubeRay's rayjobs, a TrainingRun (ray.mode auto) becomes a
    RayJob, and its status follows KubeRay's jobDeploymentStatus (with its failure reason)."""
    from kmock import ResourceInfo

    emulator.resources["ray.io/v1/rayjobs"] = ResourceInfo(
        kind="RayJob",
        namespaced=True,
        singular="rayjob",
        subresources={"status"},
        verbs={"create", "delete", "get", "list", "patch", "update", "watch"},
    )
    run = yaml.safe_load((REPO / "examples" / "trainingrun-btc.yaml").read_text())
    run["metadata"] = {"name": "btc-ray", "namespace": "default"}
    assert (await api.post(RUNS, json=run)).status_code in (200, 201)
    job = await eventually(lambda: objects(emulator).get(("RayJob", "btc-ray-train")))
    assert "botrader train" in job["spec"]["entrypoint"] and "--ray-address auto" in job["spec"]["entrypoint"]
    assert ("Job", "btc-ray-train") not in objects(emulator)
    head = job["spec"]["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]["containers"][0]
    assert head["ports"] == [{"name": "metrics", "containerPort": 9104}]  # the driver's training metrics

    def run_status() -> dict:
        return objects(emulator)[("TrainingRun", "btc-ray")].get("status", {})

    await api.patch(
        "/apis/ray.io/v1/namespaces/default/rayjobs/btc-ray-train/status",
        headers=MERGE,
        json={"status": {"jobDeploymentStatus": "Failed", "reason": "AppFailed", "message": "exit code 1"}},
    )
    assert await eventually(lambda: run_status().get("phase") == "Failed")
    complete = next(c for c in run_status()["conditions"] if c["type"] == "JobComplete")
    assert (complete["status"], complete["reason"], complete["message"]) == (
        "False",
        "AppFailed",
        "exit code 1",
    )


async def _check_deletion(emulator, api: httpx.AsyncClient) -> None:
    """kubectl delete: the bot goes (no finalizer holds it), the garbage collector takes its
    children, and the shared collector stays until the last bot on its market is gone."""
    from prometheus_client import REGISTRY

    second = yaml.safe_load((REPO / "examples" / "tradingbot-rsi.yaml").read_text())
    second["metadata"] = {"name": "btc-rsi-2", "namespace": "default"}
    assert (await api.post(BOTS, json=second)).status_code in (200, 201)
    collector = ("Deployment", "collector-binance-btcusdt-1m")

    def owners() -> list[str]:
        return [o["name"] for o in objects(emulator)[collector]["metadata"]["ownerReferences"]]

    assert await eventually(lambda: owners() == ["btc-rsi", "btc-rsi-2"])
    assert (
        REGISTRY.get_sample_value(
            "botrader_resource_phase",
            {"kind": "TradingBot", "namespace": "default", "name": "btc-rsi", "phase": "Halted"},
        )
        == 1
    )
    assert (await api.delete(f"{BOTS}/btc-rsi")).status_code == 200
    assert await eventually(lambda: ("TradingBot", "btc-rsi") not in objects(emulator))
    assert await collect_garbage(emulator, api) == 4  # config, trader, metrics service, backfill job
    left = objects(emulator)
    assert not [k for k in left if k[1].startswith("btc-rsi-") and not k[1].startswith("btc-rsi-2")]
    assert owners() == ["btc-rsi-2"]
    assert await eventually(
        lambda: (
            REGISTRY.get_sample_value(
                "botrader_resource_phase",
                {"kind": "TradingBot", "namespace": "default", "name": "btc-rsi", "phase": "Halted"},
            )
            is None
        )
    )
    assert (await api.delete(f"{BOTS}/btc-rsi-2")).status_code == 200
    assert await eventually(lambda: ("TradingBot", "btc-rsi-2") not in objects(emulator))
    await collect_garbage(emulator, api)
    assert collector not in objects(emulator)


async def _check_model_ref(emulator, api: httpx.AsyncClient) -> None:
    """A PPO bot naming a TrainingRun waits (trader at zero, ModelReady=False and a Warning
    Event saying why) until the run has a model for its budget, then trades with it."""
    bot = yaml.safe_load((REPO / "examples" / "tradingbot-ppo.yaml").read_text())
    bot["metadata"] = {"name": "ppo-bot", "namespace": "default"}
    bot["spec"]["strategy"]["modelRef"] = "btc-ppo-2"
    assert (await api.post(BOTS, json=bot)).status_code in (200, 201)

    def model_condition() -> dict:
        conditions = objects(emulator)[("TradingBot", "ppo-bot")]["status"]["conditions"]
        return next(c for c in conditions if c["type"] == "ModelReady")

    assert await eventually(lambda: model_condition()["reason"] == "TrainingRunNotFound")
    assert model_condition()["status"] == "False"
    assert model_condition()["message"] == "TrainingRun btc-ppo-2 not found in namespace default"
    warned = await eventually(
        lambda: [
            o
            for o in objects(emulator).values()
            if o.get("reason") == "TrainingRunNotFound"
            and o.get("involvedObject", {}).get("name") == "ppo-bot"
        ]
    )
    assert warned[0]["type"] == "Warning"
    assert objects(emulator)[("Deployment", "ppo-bot-trader")]["spec"]["replicas"] == 0
    assert objects(emulator)[("TradingBot", "ppo-bot")]["status"]["phase"] == "Pending"

    run = yaml.safe_load((REPO / "examples" / "trainingrun-btc.yaml").read_text())
    run["metadata"] = {"name": "btc-ppo-2", "namespace": "default"}
    assert (await api.post(RUNS, json=run)).status_code in (200, 201)
    assert await eventually(lambda: model_condition()["reason"] == "WaitingForTraining")
    results = [
        {"budget": b, "runId": f"r{b}", "modelUri": f"models:/botrader-ppo-BTCUSDT-1m-{b}/1"}
        for b in (1000, 10000)
    ]
    response = await api.patch(
        f"{RUNS}/btc-ppo-2/status", json={"status": {"results": results}}, headers=MERGE
    )
    assert response.status_code == 200
    assert await eventually(lambda: model_condition()["status"] == "True")
    assert (
        objects(emulator)[("TradingBot", "ppo-bot")]["status"]["modelUri"]
        == "models:/botrader-ppo-BTCUSDT-1m-10000/1"
    )
    assert await eventually(
        lambda: objects(emulator)[("Deployment", "ppo-bot-trader")]["spec"]["replicas"] == 1
    )
    config = yaml.safe_load(objects(emulator)[("ConfigMap", "ppo-bot-config")]["data"]["bot.yaml"])
    assert config["spec"]["strategy"]["modelRef"] == "models:/botrader-ppo-BTCUSDT-1m-10000/1"
    for name in ("ppo-bot", "btc-ppo-2"):
        plural = BOTS if name == "ppo-bot" else RUNS
        assert (await api.delete(f"{plural}/{name}")).status_code == 200
    assert await eventually(
        lambda: not {("TradingBot", "ppo-bot"), ("TrainingRun", "btc-ppo-2")} & set(objects(emulator))
    )
    assert await collect_garbage(emulator, api) == 5  # config, trader, service, its collector; the Job
