"""The operator on a real control plane (kube-apiserver, controller manager, scheduler, kwok
nodes — tests/support/testenv.py), running as the chart's ServiceAccount with the chart's
ClusterRole, rendered from the chart: real Deployments roll out into ReplicaSets and Running
pods, the bot's phase follows the real Deployment status, the real garbage collector removes
a deleted bot's children, TrainingRuns run real Jobs whose pods kwok succeeds or fails, and a
verb missing from the role fails with the server's 403."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from botrader.operator import builders
from tests.support.cluster import (
    apply,
    get,
    get_path,
    kubectl,
    operator_process,
    patch,
    render,
    service_account_kubeconfig,
    wait,
)
from tests.support.paths import REPO
from tests.support.testenv import free_port

NS = "botrader"


def bot(name: str, **spec: object) -> dict:
    doc = yaml.safe_load((REPO / "examples" / "tradingbot-rsi.yaml").read_text())
    doc["metadata"] = {"name": name, "namespace": "default"}
    doc["spec"].update(spec)
    return doc


def phase(plane, kind: str, name: str) -> str | None:
    found = get(plane, kind, name)
    return ((found or {}).get("status") or {}).get("phase")


def conditions(plane, kind: str, name: str) -> dict[str, dict]:
    return {c["type"]: c for c in (get(plane, kind, name).get("status") or {}).get("conditions", [])}


@pytest.fixture(scope="module")
def cluster(control_plane, tmp_path_factory):
    """CRDs (with Kopf's peering CRDs, from the chart) and the chart's operator RBAC applied."""
    kubectl(control_plane, "apply", "-f", str(REPO / "crds"))
    kubectl(
        control_plane, "apply", "-f", str(REPO / "charts" / "botrader" / "crds" / "kopf.dev_peerings.yaml")
    )
    kubectl(control_plane, "create", "namespace", NS)
    rbac = render("operator.replicas=1", show=("templates/operator/rbac.yaml",))
    apply(control_plane, rbac)
    workdir = tmp_path_factory.mktemp("operator")
    identity = service_account_kubeconfig(
        control_plane, NS, "botrader-operator", workdir / "operator.kubeconfig"
    )
    return control_plane, identity, workdir, rbac


@pytest.mark.slow
def test_bots_on_a_real_cluster(cluster) -> None:
    plane, identity, workdir, _ = cluster
    db = workdir / "bots.db"
    env = {"BOTRADER_DB_URL": f"sqlite:///{db}"}
    with operator_process(plane, identity, workdir, "--standalone", env=env):
        apply(plane, [bot("btc-one")])
        trader = wait(lambda: get(plane, "Deployment", "btc-one-trader"), "the trader Deployment")
        assert trader["spec"]["replicas"] == 1
        for name in ("btc-one-config",):
            assert get(plane, "ConfigMap", name)
        # the real controllers: ReplicaSet → pod → kwok runs it → the Deployment reports ready
        wait(lambda: phase(plane, "TradingBot", "btc-one") == "Running", "phase Running", 90)
        pods = [p for p in get(plane, "Pod") if p["metadata"]["name"].startswith("btc-one-trader")]
        assert pods and all(p["status"]["phase"] == "Running" for p in pods)
        assert conditions(plane, "TradingBot", "btc-one")["TraderReady"]["status"] == "True"

        patch(plane, "TradingBot", "btc-one", {"spec": {"paused": True}})
        wait(lambda: get(plane, "Deployment", "btc-one-trader")["spec"]["replicas"] == 0, "trader at 0")
        wait(lambda: phase(plane, "TradingBot", "btc-one") == "Paused", "phase Paused")

        patch(plane, "TradingBot", "btc-one", {"spec": {"paused": False, "budget": 20000}})

        def rolled() -> bool:
            sets = [
                r for r in get(plane, "ReplicaSet") if r["metadata"]["name"].startswith("btc-one-trader-")
            ]
            return len(sets) == 2 and any(r["status"].get("readyReplicas") == 1 for r in sets)

        wait(rolled, "a second ReplicaSet for the new spec", 90)
        wait(lambda: phase(plane, "TradingBot", "btc-one") == "Running", "Running again", 90)

        apply(plane, [bot("btc-two")])
        collector = "collector-binance-btcusdt-1m"
        wait(lambda: phase(plane, "TradingBot", "btc-two") == "Running", "the second bot Running", 90)
        assert "ownerReferences" not in get(plane, "Deployment", collector)["metadata"]  # no bot owns it
        kubectl(plane, "delete", "tradingbot", "btc-one", "--wait=true", "--timeout=60s")
        wait(
            lambda: get(plane, "Deployment", "btc-one-trader") is None, "the GC removed btc-one's trader", 90
        )
        wait(lambda: get(plane, "ConfigMap", "btc-one-config") is None, "and its ConfigMap", 90)
        assert get(plane, "Deployment", collector) is not None  # the shared collector stays for btc-two
        kubectl(plane, "delete", "tradingbot", "btc-two", "--wait=true", "--timeout=60s")
        wait(lambda: get(plane, "Deployment", collector) is None, "the collector went with the last bot", 90)


@pytest.mark.slow
def test_the_phase_follows_the_trader_deployment_not_the_refresh_timer(cluster) -> None:
    """With the status refresh ten minutes apart, the bot still turns Running when its trader's
    pod does: the operator watches its trader Deployments. Unpausing leaves the phase Pending
    (the handler cannot know the rollout's outcome); only the Deployment's watch event can
    make it Running in time."""
    plane, identity, workdir, _ = cluster
    env = {"BOTRADER_STATUS_INTERVAL": "600"}
    with operator_process(plane, identity, workdir, "--standalone", env=env):
        apply(plane, [bot("btc-follow", paused=True)])
        wait(lambda: phase(plane, "TradingBot", "btc-follow") == "Paused", "Paused", 60)
        wait(lambda: get(plane, "Deployment", "btc-follow-trader"), "the trader Deployment (0 replicas)")
        for turn in range(2):  # the second time long after the refresh's first (and only) run
            patch(plane, "TradingBot", "btc-follow", {"spec": {"paused": False}})
            wait(lambda: phase(plane, "TradingBot", "btc-follow") == "Running", f"Running ({turn})", 30)
            assert conditions(plane, "TradingBot", "btc-follow")["TraderReady"]["status"] == "True"
            patch(plane, "TradingBot", "btc-follow", {"spec": {"paused": True}})
            wait(lambda: phase(plane, "TradingBot", "btc-follow") == "Paused", f"Paused ({turn})", 30)
            wait(
                lambda: conditions(plane, "TradingBot", "btc-follow")["TraderReady"]["reason"] == "Paused",
                f"TraderReady says Paused ({turn})",
                30,
            )
        kubectl(plane, "delete", "tradingbot", "btc-follow", "--wait=true", "--timeout=60s")


@pytest.mark.slow
def test_training_runs_on_real_jobs(cluster) -> None:
    plane, identity, workdir, _ = cluster
    run = yaml.safe_load((REPO / "examples" / "trainingrun-btc.yaml").read_text())
    run["metadata"]["namespace"] = "default"
    doomed = copy.deepcopy(run)
    doomed["metadata"]["name"] = "doomed"  # kwok fails the pods of Job doomed-train
    with operator_process(plane, identity, workdir, "--standalone"):
        apply(plane, [run, doomed])
        wait(lambda: phase(plane, "TrainingRun", "btc-ppo") == "Succeeded", "the good run succeeded", 90)
        assert conditions(plane, "TrainingRun", "btc-ppo")["JobComplete"]["status"] == "True"
        wait(lambda: phase(plane, "TrainingRun", "doomed") == "Failed", "the doomed run failed", 120)
        failed = conditions(plane, "TrainingRun", "doomed")["JobComplete"]
        assert failed["status"] == "False" and failed["reason"] == "BackoffLimitExceeded", failed


@pytest.mark.slow
def test_a_verb_missing_from_the_role_fails_with_the_servers_403(cluster) -> None:
    """The chart's role is exactly enough: without `create` on Deployments the same bot cannot
    be reconciled, and the bot says why, in the server's words."""
    plane, _, workdir, rbac = cluster
    role = copy.deepcopy(next(d for d in rbac if d["kind"] == "ClusterRole"))
    role["metadata"]["name"] = "botrader-operator-lacking"
    for rule in role["rules"]:
        if "deployments" in rule["resources"]:
            rule["verbs"] = [v for v in rule["verbs"] if v != "create"]
    account = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "lacking", "namespace": NS}}
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "botrader-operator-lacking"},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": role["metadata"]["name"],
        },
        "subjects": [{"kind": "ServiceAccount", "name": "lacking", "namespace": NS}],
    }
    apply(plane, [role, account, binding])
    lacking = service_account_kubeconfig(plane, NS, "lacking", workdir / "lacking.kubeconfig")
    with operator_process(plane, lacking, workdir, "--standalone"):
        apply(plane, [bot("btc-forbidden")])

        def degraded() -> str:
            found = conditions(plane, "TradingBot", "btc-forbidden").get("Degraded", {})
            return found.get("message", "") if found.get("status") == "True" else ""

        message = wait(degraded, "Degraded with the server's refusal", 60)
        assert "403" in message and "deployments" in message, message
        assert get(plane, "Deployment", "btc-forbidden-trader") is None
        kubectl(plane, "delete", "tradingbot", "btc-forbidden", "--wait=true")


def migrated_db(workdir: Path, name: str) -> str:
    from botrader.core.db import connect, upgrade

    url = f"sqlite:///{workdir / name}"
    engine = connect(url)
    upgrade(engine)
    engine.dispose()
    return url


@pytest.mark.slow
def test_spec_changes_are_events_and_audit_rows_and_the_summary_comes_from_the_trader(cluster) -> None:
    from datetime import UTC, datetime

    from botrader.core.db import connect
    from botrader.core.db.trading import BOTS as ROWS
    from botrader.core.db.trading import TradingStore

    plane, identity, workdir, _ = cluster
    url = migrated_db(workdir, "audit.db")
    store = TradingStore(connect(url))
    store.register("btc-audited", "default", {"symbol": "BTCUSDT"})
    with store.engine.begin() as conn:  # what the bot's trader persists
        conn.execute(
            ROWS.update()
            .where(ROWS.c.name == "btc-audited")
            .values(
                equity=10250.5,
                pnl_percent=2.505,
                trades=12,
                last_candle_time=datetime(2025, 6, 1, 12, tzinfo=UTC),
            )
        )
    with operator_process(plane, identity, workdir, "--standalone", env={"BOTRADER_DB_URL": url}):
        apply(plane, [bot("btc-audited")])
        wait(lambda: get(plane, "TradingBot", "btc-audited")["status"].get("trades") == 12, "the summary")
        tb = get(plane, "TradingBot", "btc-audited")["status"]
        assert (tb["equity"], tb["pnlPercent"], tb["lastCandleTime"]) == (
            10250.5,
            2.505,
            "2025-06-01T12:00:00Z",
        )
        patch(plane, "TradingBot", "btc-audited", {"spec": {"paused": True}})

        def paused_event() -> list[dict]:
            return [
                e
                for e in get(plane, "Event")
                if e.get("reason") == "Paused" and e["involvedObject"]["name"] == "btc-audited"
            ]

        (event,) = wait(paused_event, "a Paused event")
        assert event["message"] == "paused: false → true (by k8s:kubectl-patch)"
        rows = wait(lambda: store.audit_log(bot="btc-audited"), "an audit row")
        assert (rows[-1]["actor"], rows[-1]["before"], rows[-1]["after"]) == (
            "k8s:kubectl-patch",
            {"paused": False},
            {"paused": True},
        )
        listing = kubectl(plane, "get", "tb", "btc-audited").splitlines()[1].split()
        assert listing[1:4] == ["BTCUSDT", "rsi", "Paused"] and "10250.5" in listing
        kubectl(
            plane, "delete", "tradingbot", "btc-audited", "--wait=true"
        )  # Kopf's finalizer: while it runs


@pytest.mark.slow
def test_a_ppo_bot_waits_for_its_training_run_then_trades_its_model(cluster) -> None:
    plane, identity, workdir, _ = cluster
    ppo = yaml.safe_load((REPO / "examples" / "tradingbot-ppo.yaml").read_text())
    ppo["metadata"] = {"name": "ppo-bot", "namespace": "default"}
    ppo["spec"]["strategy"]["modelRef"] = "ppo-run"
    run = yaml.safe_load((REPO / "examples" / "trainingrun-btc.yaml").read_text())
    run["metadata"] = {"name": "ppo-run", "namespace": "default"}
    with operator_process(plane, identity, workdir, "--standalone"):
        apply(plane, [ppo])
        wait(
            lambda: (
                conditions(plane, "TradingBot", "ppo-bot")["ModelReady"]["reason"] == "TrainingRunNotFound"
            ),
            "waits",
        )
        assert get(plane, "Deployment", "ppo-bot-trader")["spec"]["replicas"] == 0
        apply(plane, [run])
        wait(lambda: phase(plane, "TrainingRun", "ppo-run") == "Succeeded", "the run's Job succeeded", 90)
        results = [
            {"budget": b, "runId": f"r{b}", "modelUri": f"models:/botrader-ppo-BTCUSDT-1m-{b}/1"}
            for b in (1000, 10000)
        ]
        kubectl(
            plane,
            "patch",
            "trainingrun",
            "ppo-run",
            "--subresource=status",
            "--type=merge",
            "-p",
            __import__("json").dumps({"status": {"results": results}}),
        )  # what MLflow would give
        wait(
            lambda: get(plane, "Deployment", "ppo-bot-trader")["spec"]["replicas"] == 1,
            "trades its model",
            60,
        )
        wait(  # the status patch lands after the Deployment's
            lambda: (
                get(plane, "TradingBot", "ppo-bot")["status"].get("modelUri")
                == "models:/botrader-ppo-BTCUSDT-1m-10000/1"
            ),
            "the bot's status names the model",
            30,
        )
        config = yaml.safe_load(get(plane, "ConfigMap", "ppo-bot-config")["data"]["bot.yaml"])
        assert config["spec"]["strategy"]["modelRef"] == "models:/botrader-ppo-BTCUSDT-1m-10000/1"
        kubectl(plane, "delete", "tradingbot", "ppo-bot", "--wait=true")


@pytest.mark.slow
def test_bots_created_at_once_share_one_collector_that_goes_with_the_last_even_while_down(cluster) -> None:
    """24 bots on one market at once: one collector, owned by none of them (one owner per bot
    made every new bot re-patch a growing object). It stays while any bot trades on it; the last
    bot deleted while the operator is stopped, the collector goes when the operator is back."""
    plane, identity, workdir, _ = cluster
    bots = [bot(f"crowd-{i:02d}", symbol="ETHUSDT") for i in range(24)]
    collector = "collector-binance-ethusdt-1m"
    with operator_process(plane, identity, workdir, "--standalone"):
        apply(plane, bots)
        wait(lambda: phase(plane, "TradingBot", "crowd-23") == "Running", "the last bot Running", 90)
        found = wait(lambda: get(plane, "Deployment", collector), "the shared collector", 30)
        assert "ownerReferences" not in found["metadata"]
        managers = [m["manager"] for m in found["metadata"]["managedFields"]]
        assert "botrader-operator" in managers  # server-side applied
        kubectl(plane, "delete", "tradingbots", *[b["metadata"]["name"] for b in bots[:-1]], "--wait=true")
        wait(lambda: get(plane, "Deployment", "crowd-00-trader") is None, "the GC removed their traders", 90)
        assert get(plane, "Deployment", collector) is not None  # crowd-23 still trades on it
    # no finalizer: the bot goes at once although no operator runs
    kubectl(plane, "delete", "tradingbot", "crowd-23", "--wait=true", "--timeout=20s")
    assert get(plane, "TradingBot", "crowd-23") is None
    assert get(plane, "Deployment", collector) is not None  # nobody removed it: the operator is down
    with operator_process(plane, identity, workdir, "--standalone"):
        wait(lambda: get(plane, "Deployment", collector) is None, "the orphaned collector gone at start", 90)


@pytest.mark.slow
def test_two_replicas_with_the_charts_peering_only_one_acts(cluster) -> None:
    import urllib.request

    plane, identity, workdir, _ = cluster
    apply(plane, render("operator.replicas=2", show=("templates/operator/peering.yaml",)))
    ports = {100: free_port(), 99: free_port()}

    def reconciles(port: int) -> float:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
        line = next(
            (
                x
                for x in text.splitlines()
                if x.startswith('botrader_reconcile_total{kind="TradingBot",result="ok"}')
            ),
            "",
        )
        return float(line.split()[-1]) if line else 0.0

    with operator_process(plane, identity, workdir, "--priority=100", metrics_port=ports[100]) as first:
        with operator_process(plane, identity, workdir, "--priority=99", metrics_port=ports[99]) as second:
            peering = lambda: get_peering(plane).get("status") or {}  # noqa: E731
            wait(lambda: len(peering()) == 2, "both replicas in the peering", 30)
            apply(plane, [bot("peered")])
            wait(lambda: phase(plane, "TradingBot", "peered"), "reconciled", 30)
            wait(lambda: reconciles(ports[100]) >= 1, "the higher one acted", 30)
            # (not the metric: in its first moments, before Kopf has read the peering, a
            # starting replica may still resume bots that other tests left behind)
            assert "[default/peered] Handler 'reconcile_bot'" not in second.log_path.read_text()
            first.terminate()
            first.wait(30)
            wait(lambda: len(peering()) == 1, "the higher one left", 60)
            patch(plane, "TradingBot", "peered", {"spec": {"budget": 20000}})
            wait(
                lambda: "[default/peered] Handler 'reconcile_bot" in second.log_path.read_text(),
                "the other took over",
                60,
            )
            kubectl(plane, "delete", "tradingbot", "peered", "--wait=true")


def get_peering(plane) -> dict:
    return plane.request("GET", "/apis/kopf.dev/v1/clusterkopfpeerings/botrader")


BROKEN = "from botrader.core.strategy import Strategy\n\nclass Mine(Strategy)\n    pass\n"
FIXED = (
    "from botrader.core.strategy import Strategy\n\n"
    "class Mine(Strategy):\n    def on_candle(self, candle, ind, account):\n        return None\n"
)


def run_trader_pod(plane, mount: Path, db_url: str, workdir: Path) -> subprocess.CompletedProcess:
    """The trader container's command, run here as its kubelet would (kwok only pretends):
    the bot's ConfigMap at /config and the strategy's at /strategies as local folders."""
    pod = get(plane, "Deployment", "mine-trader")["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert {v["name"]: v.get("configMap", {}).get("name") for v in pod["volumes"]} == {
        "tmp": None,
        "config": "mine-config",
        "strategy": "strategies",
    }
    assert {"name": "strategy", "mountPath": "/strategies", "readOnly": True} in container["volumeMounts"]
    doc = get(plane, "ConfigMap", "mine-config")["data"]["bot.yaml"].replace("/strategies/", f"{mount}/")
    (workdir / "bot.yaml").write_text(doc)
    args = [a if a != "/config/bot.yaml" else str(workdir / "bot.yaml") for a in container["args"]]
    args = [*args[: args.index("--port")], "--port", "0", "--db", db_url, "--until-caught-up"]
    return subprocess.run(
        [sys.executable, "-m", "botrader.core", *args], capture_output=True, text=True, timeout=60
    )


@pytest.mark.slow
def test_a_strategy_from_a_configmap_and_a_broken_one_failing_the_bot(cluster) -> None:
    """The operator mounts the ConfigMap's file into the trader and points the trader at it;
    when the file does not import, the real trader command writes why and the bot becomes
    Failed with StrategyReady=False carrying that one line, a Warning Event, and the trader
    held at zero replicas — no crash loop. Fixing the ConfigMap rolls the trader. Before any
    trader migrated the database, the status goes on (TradingSummaryStale)."""
    from tests.support.paths import SAMPLE

    plane, identity, workdir, _ = cluster
    mount = workdir / "strategies"
    mount.mkdir()
    db_url = f"sqlite:///{workdir / 'strategies.db'}"
    strategies = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "strategies", "namespace": "default"},
    }
    apply(plane, [{**strategies, "data": {"mine.py": BROKEN}}])
    mine = bot(
        "mine",
        source="replay",
        replay={"path": str(SAMPLE), "speed": 0},
        strategy={
            "type": "custom",
            "ref": "mine.py:Mine",
            "source": {"configMap": "strategies", "key": "mine.py"},
        },
    )
    mine["spec"].pop("backfill", None)
    with operator_process(plane, identity, workdir, "--standalone", env={"BOTRADER_DB_URL": db_url}):
        apply(plane, [mine])
        trader = wait(lambda: get(plane, "Deployment", "mine-trader"), "the trader")
        first = trader["spec"]["template"]["metadata"]["annotations"]["botrader.io/strategy-hash"]
        assert "ref: /strategies/mine.py:Mine" in get(plane, "ConfigMap", "mine-config")["data"]["bot.yaml"]

        def stale() -> dict:
            found = conditions(plane, "TradingBot", "mine").get("TradingSummaryStale", {})
            return found if found.get("status") == "True" else {}

        assert "no such table: bots" in wait(stale, "status despite an unmigrated database")["message"]
        (mount / "mine.py").write_text(BROKEN)
        done = run_trader_pod(plane, mount, db_url, workdir)
        assert done.returncode == 2 and "cannot import strategy file" in done.stderr, done.stderr

        def failed() -> dict:
            found = conditions(plane, "TradingBot", "mine").get("StrategyReady", {})
            return (
                found
                if found.get("status") == "False" and phase(plane, "TradingBot", "mine") == "Failed"
                else {}
            )

        ready = wait(failed, "Failed with StrategyReady=False")
        assert ready["reason"] == "StrategyInvalid" and "cannot import strategy file" in ready["message"]
        assert "(line 3)" in ready["message"] and "\n" not in ready["message"]
        wait(lambda: get(plane, "Deployment", "mine-trader")["spec"]["replicas"] == 0, "held at zero")
        warnings = [e for e in get(plane, "Event") if e.get("reason") == "StrategyInvalid"]
        assert warnings and warnings[0]["type"] == "Warning"

        patch(plane, "ConfigMap", "strategies", {"data": {"mine.py": FIXED}})

        def rolled() -> bool:
            t = get(plane, "Deployment", "mine-trader")
            hash_now = t["spec"]["template"]["metadata"]["annotations"]["botrader.io/strategy-hash"]
            return t["spec"]["replicas"] == 1 and hash_now != first

        wait(rolled, "the edited file rolls the trader")
        (mount / "mine.py").write_text(FIXED)
        assert run_trader_pod(plane, mount, db_url, workdir).returncode == 0
        kubectl(plane, "delete", "tradingbot", "mine", "--wait=true")


RAYJOB_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "rayjobs.ray.io"},
    "spec": {
        "group": "ray.io",
        "scope": "Namespaced",
        "names": {"kind": "RayJob", "plural": "rayjobs", "singular": "rayjob", "listKind": "RayJobList"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "schema": {
                    "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                },
            }
        ],
    },
}


@pytest.mark.slow
def test_a_training_run_becomes_a_rayjob_where_kuberay_is_served(cluster) -> None:
    """With KubeRay's CRD served (a stand-in for the CRD only: no KubeRay controller runs here)
    and the chart's role for kuberay.enabled, a TrainingRun is a RayJob, and its status
    follows the RayJob's jobDeploymentStatus as KubeRay would report it, failure reason and all."""
    import json

    plane, identity, workdir, _ = cluster
    apply(plane, [RAYJOB_CRD])
    kubectl(plane, "wait", "--for=condition=Established", "crd/rayjobs.ray.io", "--timeout=30s")
    apply(
        plane,
        [
            d
            for d in render("kuberay.enabled=true", show=("templates/operator/rbac.yaml",))
            if d["kind"] == "ClusterRole"
        ],
    )
    run = yaml.safe_load((REPO / "examples" / "trainingrun-btc.yaml").read_text())
    run["metadata"] = {"name": "btc-ray", "namespace": "default"}
    try:  # the plane is shared: later tests must not find KubeRay served
        with operator_process(plane, identity, workdir, "--standalone"):
            apply(plane, [run])
            job = wait(
                lambda: get_path(plane, "/apis/ray.io/v1/namespaces/default/rayjobs/btc-ray-train"),
                "a RayJob",
            )
            assert (
                "botrader train" in job["spec"]["entrypoint"] and get(plane, "Job", "btc-ray-train") is None
            )
            failure = {
                "status": {"jobDeploymentStatus": "Failed", "reason": "AppFailed", "message": "exit code 1"}
            }
            kubectl(
                plane,
                "patch",
                "rayjob",
                "btc-ray-train",
                "--subresource=status",
                "--type=merge",
                "-p",
                json.dumps(failure),
            )
            wait(lambda: phase(plane, "TrainingRun", "btc-ray") == "Failed", "Failed as the RayJob says")
            complete = conditions(plane, "TrainingRun", "btc-ray")["JobComplete"]
            assert (complete["status"], complete["reason"], complete["message"]) == (
                "False",
                "AppFailed",
                "exit code 1",
            )
            kubectl(plane, "delete", "trainingrun", "btc-ray", "--wait=true")
            search = yaml.safe_load((REPO / "examples" / "optimizationrun-rsi.yaml").read_text())
            search["metadata"] = {"name": "ray-search", "namespace": "default"}
            apply(plane, [search])
            found = wait(
                lambda: get_path(plane, "/apis/ray.io/v1/namespaces/default/rayjobs/ray-search-search"),
                "a RayJob for the search",
            )
            entry = found["spec"]["entrypoint"]
            assert entry.startswith("botrader optimize") and "--ray-address auto" in entry
            assert found["spec"]["rayClusterSpec"]["workerGroupSpecs"][0]["replicas"] == 2
            kubectl(plane, "delete", "optimizationrun", "ray-search", "--wait=true")
    finally:
        kubectl(plane, "delete", "crd", "rayjobs.ray.io", "--wait=true")


def test_a_status_patch_at_an_old_resource_version_is_refused(cluster) -> None:
    """What following the trader relies on: the server refuses a merge patch whose
    metadata.resourceVersion is not the object's (409), and applies one that is."""
    import urllib.error

    plane, *_ = cluster
    apply(plane, [bot("btc-versioned")])
    path = "/apis/botrader.io/v1alpha1/namespaces/default/tradingbots/btc-versioned/status"
    first = get(plane, "TradingBot", "btc-versioned")["metadata"]["resourceVersion"]
    merge = "application/merge-patch+json"
    plane.raw(
        "PATCH", path, {"metadata": {"resourceVersion": first}, "status": {"phase": "Pending"}}, None, merge
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        plane.raw(
            "PATCH",
            path,
            {"metadata": {"resourceVersion": first}, "status": {"phase": "Running"}},
            None,
            merge,
        )
    assert refused.value.code == 409
    assert get(plane, "TradingBot", "btc-versioned")["status"]["phase"] == "Pending"
    kubectl(plane, "delete", "tradingbot", "btc-versioned")


@pytest.mark.slow
def test_a_bare_operator_names_the_missing_peering_object_and_starts_once_it_exists(cluster) -> None:
    """Without --standalone and with no peering object, Kopf would wait silently; the operator
    says in one line what is missing and exits 2. With the object it runs."""
    plane, identity, *_ = cluster
    kubectl(plane, "create", "namespace", "lonely")
    env = {**os.environ, "KUBECONFIG": str(identity)}
    args = [sys.executable, "-m", "botrader.core", "operator", "--namespace", "lonely"]
    args += ["--metrics-port", str(free_port()), "--liveness", f"http://127.0.0.1:{free_port()}/healthz"]
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr[-2000:]
    (line,) = done.stderr.strip().splitlines()
    assert "no KopfPeering 'botrader' in namespace(s) lonely" in line and "--standalone" in line
    peering = yaml.safe_load((REPO / "examples" / "operator-peering.yaml").read_text())
    apply(
        plane, [{**peering, "kind": "KopfPeering", "metadata": {"name": "botrader", "namespace": "lonely"}}]
    )
    running = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            running.wait(8)  # it runs (Kopf in the peering object), instead of exiting
    finally:
        running.terminate()
        running.wait(15)


@pytest.mark.slow
def test_an_optimization_run_runs_its_search_in_a_job_and_carries_the_card(
    cluster, real_candles, tmp_path
) -> None:
    """OptimizationRun → a Job running exactly `optimize_command(spec)` → kwok completes its
    pod → the status carries progress, PBO, DSR, best parameters and the verdict from the
    search's MLflow run (a real `mlflow server`; the search itself ran here, with the very
    command line the Job's pod runs, since kwok's pods run nothing)."""
    import json

    from botrader.core.crds import validate
    from botrader.core.optimization_spec import optimize_command
    from tests.support.servers import MlflowServer

    plane, identity, workdir, _ = cluster
    data = tmp_path / "candles.parquet"
    real_candles.iloc[:6000].to_parquet(data)
    doc = yaml.safe_load((REPO / "examples" / "optimizationrun-rsi.yaml").read_text())
    doc["metadata"]["namespace"] = "default"
    doc["spec"].update(dataset={"path": str(data)}, trials=6)
    server = MlflowServer().start()
    try:
        command = optimize_command(
            "rsi-search", validate(doc)["spec"], ray_address="none", tracking_uri=server.url
        )
        done = subprocess.run(
            [sys.executable, "-m", "botrader.core", *command[1:]],
            capture_output=True,
            text=True,
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        searched = json.loads(done.stdout)
        env = {"MLFLOW_TRACKING_URI": server.url}
        with operator_process(plane, identity, workdir, "--standalone", env=env):
            apply(plane, [doc])
            job = wait(lambda: get(plane, "Job", "rsi-search-search"), "the search Job")
            shell = job["spec"]["template"]["spec"]["containers"][0]["command"][2]
            assert (
                shell.startswith("botrader optimize --strategy simple_rsi")
                and "--run-name rsi-search" in shell
            )
            wait(lambda: phase(plane, "OptimizationRun", "rsi-search") == "Succeeded", "succeeded", 90)
            wait(lambda: "verdict" in get(plane, "OptimizationRun", "rsi-search")["status"], "the card")
            found = get(plane, "OptimizationRun", "rsi-search")["status"]
            assert found["phase"] == "Succeeded" and found["progress"] == "6/6"
            assert found["verdict"] == searched["verdict"]
            assert found["bestParams"] == searched["best"]["params"]
            assert found["pbo"] == pytest.approx(searched["pbo"])
            assert found["mlflowRunId"] == searched["mlflow_run_id"]
            assert conditions(plane, "OptimizationRun", "rsi-search")["CardAvailable"]["status"] == "True"
            header = kubectl(plane, "get", "opt").splitlines()[0].split()
            assert header == ["NAME", "PHASE", "TRIALS", "BEST", "PBO", "DSR", "AGE"]
            kubectl(plane, "delete", "optimizationrun", "rsi-search", "--wait=true")
    finally:
        server.stop()


@pytest.mark.slow
def test_a_bot_takes_its_params_from_a_search_once_the_verdict_passes(cluster) -> None:
    """paramsFrom: the trader holds at zero replicas (ParamsReady=False, with the reason) while
    the search is missing, then while its card fails the gate; once it passes, the trader runs
    the best parameters under the manifest's own, and no reference is left in its config."""
    import json

    plane, identity, workdir, _ = cluster
    searched = bot(
        "rsi-tuned",
        strategy={"type": "simple_rsi", "params": {"period": 9}, "paramsFrom": {"optimizationRun": "tuning"}},
    )
    search = yaml.safe_load((REPO / "examples" / "optimizationrun-rsi.yaml").read_text())
    search["metadata"] = {"name": "tuning", "namespace": "default"}

    def card(**fields: object) -> None:  # what the search's MLflow run would give
        kubectl(
            plane,
            "patch",
            "optimizationrun",
            "tuning",
            "--subresource=status",
            "--type=merge",
            "-p",
            json.dumps({"status": fields}),
        )

    def params_reason() -> str:
        return conditions(plane, "TradingBot", "rsi-tuned")["ParamsReady"]["reason"]

    with operator_process(plane, identity, workdir, "--standalone"):
        apply(plane, [searched])
        wait(lambda: params_reason() == "OptimizationRunNotFound", "waits for the search")
        assert get(plane, "Deployment", "rsi-tuned-trader")["spec"]["replicas"] == 0
        apply(plane, [search])
        wait(lambda: phase(plane, "OptimizationRun", "tuning") == "Succeeded", "the search Job succeeded", 90)
        card(
            verdict="no evidence of skill: PBO 0.62, DSR 0.08 over 200 trials",
            passes=False,
            bestParams={"oversold": 25},
        )
        wait(lambda: params_reason() == "VerdictFailed", "refuses a failing card")
        assert get(plane, "Deployment", "rsi-tuned-trader")["spec"]["replicas"] == 0
        best = {"oversold": 21.5, "overbought": 78.0, "period": 27}
        card(verdict="evidence of skill: PBO 0.10, DSR 0.93 over 200 trials", passes=True, bestParams=best)
        wait(lambda: get(plane, "Deployment", "rsi-tuned-trader")["spec"]["replicas"] == 1, "trades", 60)
        wait(lambda: params_reason() == "Resolved", "ParamsReady")
        config = yaml.safe_load(get(plane, "ConfigMap", "rsi-tuned-config")["data"]["bot.yaml"])
        assert config["spec"]["strategy"]["params"] == {"oversold": 21.5, "overbought": 78.0, "period": 9}
        assert "paramsFrom" not in config["spec"]["strategy"]
        wait(lambda: get(plane, "TradingBot", "rsi-tuned")["status"].get("searchedParams") == best, "status")
        kubectl(plane, "delete", "tradingbot", "rsi-tuned", "--wait=true")
        kubectl(plane, "delete", "optimizationrun", "tuning", "--wait=true")


@pytest.mark.slow
def test_a_ppo_bot_on_champion_rolls_when_the_alias_moves(cluster) -> None:
    """modelRef models:/NAME@champion: the operator resolves the alias on a real `mlflow
    server` to a version URI for the trader's config; `botrader promote` moving the alias rolls
    the trader (a new config hash) onto the new version."""
    from mlflow import MlflowClient

    from tests.support.servers import MlflowServer

    plane, identity, workdir, _ = cluster
    server = MlflowServer().start()
    try:
        client = MlflowClient(tracking_uri=server.url)
        experiment = client.create_experiment("aliases")
        client.create_registered_model("ppo-champ")
        for _ in range(2):
            run = client.create_run(experiment).info.run_id
            client.create_model_version("ppo-champ", f"runs:/{run}/model", run_id=run)
        client.set_registered_model_alias("ppo-champ", "champion", "1")
        ppo = yaml.safe_load((REPO / "examples" / "tradingbot-ppo.yaml").read_text())
        ppo["metadata"] = {"name": "ppo-champ", "namespace": "default"}
        ppo["spec"]["strategy"]["modelRef"] = "models:/ppo-champ@champion"

        def traded() -> str:
            config = yaml.safe_load(get(plane, "ConfigMap", "ppo-champ-config")["data"]["bot.yaml"])
            return config["spec"]["strategy"]["modelRef"]

        def config_hash() -> str:
            template = get(plane, "Deployment", "ppo-champ-trader")["spec"]["template"]
            return template["metadata"]["annotations"]["botrader.io/config-hash"]

        with operator_process(
            plane, identity, workdir, "--standalone", env={"MLFLOW_TRACKING_URI": server.url}
        ):
            apply(plane, [ppo])
            wait(lambda: traded() == "models:/ppo-champ/1", "the trader runs version 1")
            first = config_hash()
            client.set_registered_model_alias("ppo-champ", "champion", "2")  # what botrader promote does
            wait(lambda: traded() == "models:/ppo-champ/2", "the trader follows the alias", 60)
            wait(lambda: config_hash() != first, "and rolls")
            wait(
                lambda: (
                    get(plane, "TradingBot", "ppo-champ")["status"].get("modelUri") == "models:/ppo-champ/2"
                ),
                "status",
            )
            kubectl(plane, "delete", "tradingbot", "ppo-champ", "--wait=true")
    finally:
        server.stop()


@pytest.mark.slow
def test_secrets_appear_in_no_log_event_status_or_description(cluster) -> None:
    """A known password in the database URL the operator and the bots use, a known Binance
    secret, and a venue bot's known testnet key: the operator's log, every Event, the
    TradingBot's status, `kubectl describe` of the bots, their traders and pods, and the
    children's specs hold none (pods get them by secretKeyRef; the venue's keys as files of
    its Secret mounted read-only, the environment holding only the directory)."""
    plane, identity, workdir, _ = cluster
    password, binance, venue_key = "pw-KNOWN-7f3a9", "bn-KNOWN-0c41e", "vk-KNOWN-5d2b8"
    url = f"postgresql://bot:{password}@127.0.0.1:1/botrader"  # unreachable: the operator says so

    def secret(name: str, data: dict[str, str]) -> dict:
        meta = {"name": name, "namespace": "default"}
        return {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "stringData": data}

    secrets = [
        secret("botrader-db", {"url": url}),
        secret("botrader-binance", {"api-key": "k", "api-secret": binance}),
        secret("binance-testnet", {"apiKey": "testnet-key", "secretKey": venue_key}),
    ]
    apply(plane, secrets)
    venue = {"type": "binance-testnet", "credentials": {"secret": "binance-testnet"}}
    with operator_process(plane, identity, workdir, "--standalone", env={"BOTRADER_DB_URL": url}) as proc:
        apply(plane, [bot("btc-secret"), bot("btc-venue", venue=venue)])
        wait(lambda: phase(plane, "TradingBot", "btc-secret") == "Running", "phase Running", 90)
        wait(lambda: phase(plane, "TradingBot", "btc-venue") == "Running", "venue bot Running", 90)
        pod = get(plane, "Deployment", "btc-venue-trader")["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        mounted = {v["name"]: v for v in pod["volumes"]}["venue-credentials"]
        assert mounted["secret"] == {"secretName": "binance-testnet", "defaultMode": 0o440}
        assert {"name": "venue-credentials", "mountPath": builders.VENUE_KEYS_DIR, "readOnly": True} in (
            container["volumeMounts"]
        )
        env = {e["name"]: e for e in container["env"]}
        assert env["BOTRADER_VENUE_CREDENTIALS_DIR"]["value"] == builders.VENUE_KEYS_DIR
        wait(
            lambda: (
                conditions(plane, "TradingBot", "btc-secret").get("TradingSummaryStale", {}).get("status")
                == "True"
            ),
            "the summary marked stale (the database cannot be read)",
            60,
        )
        seen = [
            proc.log_path.read_text(errors="replace"),  # type: ignore[attr-defined]
            kubectl(plane, "get", "events", "-A", "-o", "yaml"),
            kubectl(plane, "get", "tradingbot", "btc-secret", "-o", "yaml"),
            kubectl(plane, "describe", "tradingbot", "btc-secret"),
            kubectl(plane, "describe", "deployment", "btc-secret-trader"),
            kubectl(plane, "describe", "tradingbot", "btc-venue"),
            kubectl(plane, "describe", "deployment", "btc-venue-trader"),
            kubectl(plane, "describe", "pods", "-n", "default"),
            kubectl(plane, "get", "deployments,configmaps,services,pods", "-o", "yaml"),
        ]
        kubectl(plane, "delete", "tradingbot", "btc-secret", "btc-venue", "--wait=true", "--timeout=60s")
    assert "127.0.0.1:1" in seen[0] or "stale" in seen[2].lower()  # the failure was reported…
    assert "binance-testnet" in seen[7]  # the venue's Secret is named where it is mounted…
    for text in seen:
        assert password not in text and binance not in text and venue_key not in text  # …never shown
    kubectl(plane, "delete", "secret", "botrader-db", "botrader-binance", "binance-testnet", "-n", "default")
