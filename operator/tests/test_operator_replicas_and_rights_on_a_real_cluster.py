"""The operator's deployment on a real control plane: the chart's role (a verb missing from it
fails with the server's 403), peering between two replicas (only the higher acts; the lower
never acts at startup), and a bare operator naming the missing peering object."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import time

import pytest
import yaml

from tests.support.cluster import (
    NS,
    apply,
    conditions,
    get,
    kubectl,
    operator_process,
    patch,
    phase,
    render,
    service_account_kubeconfig,
    trading_bot,
    wait,
)
from tests.support.paths import REPO
from tests.support.testenv import free_port


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
        apply(plane, [trading_bot("btc-forbidden")])

        def degraded() -> str:
            found = conditions(plane, "TradingBot", "btc-forbidden").get("Degraded", {})
            return found.get("message", "") if found.get("status") == "True" else ""

        message = wait(degraded, "Degraded with the server's refusal", 60)
        assert "403" in message and "deployments" in message, message
        assert get(plane, "Deployment", "btc-forbidden-trader") is None
        kubectl(plane, "delete", "tradingbot", "btc-forbidden", "--wait=true")


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

    peering = lambda: get_peering(plane).get("status") or {}  # noqa: E731
    with operator_process(plane, identity, workdir, "--priority=100", metrics_port=ports[100]) as first:
        apply(plane, [trading_bot("peered")])
        wait(lambda: phase(plane, "TradingBot", "peered"), "reconciled", 30)
        wait(lambda: reconciles(ports[100]) >= 1, "the higher one acted", 30)
        # the lower replica starts with a bot to resume: it must not, before or after it has
        # read the peering object (Kopf's mandatory peering starts it paused)
        with operator_process(plane, identity, workdir, "--priority=99", metrics_port=ports[99]) as second:
            wait(lambda: len(peering()) == 2, "both replicas in the peering", 30)
            time.sleep(3)  # what a replica acting at startup would have done by now
            assert reconciles(ports[99]) == 0
            assert "Handler '" not in second.log_path.read_text()
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
