"""Control endpoints in a cluster, on a real kube-apiserver: the API acts as its own
ServiceAccount with the chart's role (rendered from the chart), patches the TradingBot's spec
as `kubectl patch` would (field manager botrader-api, visible in managedFields), audits the
caller with before/after — and the server refuses it (403) anything beyond get/patch on
tradingbots. The operator's half (reconciling the patch) is in operator/tests."""

from __future__ import annotations

import json
import urllib.error
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from botrader.core.db import connect, upgrade
from botrader.core.db.trading import TradingStore
from botrader.services.api.control import FIELD_MANAGER, KubernetesController
from botrader.services.api.main import create_app
from tests.support.cluster import apply, get, kubectl, render, service_account_token
from tests.support.paths import REPO

AUTH = {"Authorization": "Bearer t0ken"}


@pytest.mark.slow
def test_control_patches_the_tradingbot_through_the_server_and_nothing_more(
    control_plane, tmp_path: Path
) -> None:
    plane = control_plane
    kubectl(plane, "apply", "-f", str(REPO / "crds"))
    kubectl(plane, "create", "namespace", "trading")
    kubectl(plane, "create", "namespace", "api-test")
    rbac = render(
        "api.token.existingSecret=api-token", namespace="api-test", show=("templates/api/rbac.yaml",)
    )
    assert {d["kind"] for d in rbac} == {"ServiceAccount", "ClusterRole", "ClusterRoleBinding"}
    apply(plane, rbac)
    token = service_account_token(plane, "api-test", "botrader-api")
    bot = {
        "apiVersion": "botrader.io/v1alpha1",
        "kind": "TradingBot",
        "metadata": {"name": "btc-rsi", "namespace": "trading"},
        "spec": {"symbol": "BTCUSDT", "budget": 10000},
    }
    apply(plane, [bot])
    engine = connect(f"sqlite:///{tmp_path / 'bots.db'}")
    upgrade(engine)
    store = TradingStore(engine)
    store.register("btc-rsi", "trading", {"symbol": "BTCUSDT"})  # what the bot's trader wrote
    store.register("gone", "trading", {"symbol": "BTCUSDT"})  # a row whose resource was deleted
    controller = KubernetesController(plane.url, token=token, ca=plane.ca, store=store)
    client = TestClient(create_app(engine, controller=controller, token="t0ken"))

    stop = client.post("/bots/btc-rsi/stop", headers=AUTH)
    assert (stop.status_code, stop.json()) == (200, {"bot": "btc-rsi", "action": "stop", "phase": "Paused"})
    stored = get(plane, "TradingBot", "btc-rsi", namespace="trading")
    assert stored["spec"]["paused"] is True and stored["spec"]["emergencyStop"] is False
    assert stored["spec"]["interval"] == "1m"  # the server's defaults, kept by a merge patch
    managers = {m["manager"] for m in stored["metadata"]["managedFields"]}
    assert FIELD_MANAGER in managers
    assert client.post("/bots/btc-rsi/emergency-stop", headers=AUTH).json()["phase"] == "Halted"
    assert get(plane, "TradingBot", "btc-rsi", namespace="trading")["spec"]["emergencyStop"] is True
    audit = store.audit_log(bot="btc-rsi")
    assert [(a["actor"], a["before"], a["after"]) for a in audit] == [
        ("api-token", {"paused": False, "emergencyStop": False}, {"paused": True, "emergencyStop": False}),
        ("api-token", {"paused": True, "emergencyStop": False}, {"paused": False, "emergencyStop": True}),
    ]
    gone = client.post("/bots/gone/stop", headers=AUTH)
    assert (
        gone.status_code == 409 and gone.json()["detail"] == "TradingBot trading/gone is not in the cluster"
    )
    assert store.audit_log(bot="gone") == []

    # the role is get/patch on tradingbots, nothing else: the server says no, with a 403
    refused = []
    for method, path, body in [
        ("DELETE", "/apis/botrader.io/v1alpha1/namespaces/trading/tradingbots/btc-rsi", None),
        (
            "POST",
            "/apis/botrader.io/v1alpha1/namespaces/trading/tradingbots",
            {**bot, "metadata": {"name": "x"}},
        ),
        ("GET", "/apis/botrader.io/v1alpha1/namespaces/trading/tradingbots", None),  # no list
        ("PATCH", "/apis/botrader.io/v1alpha1/namespaces/trading/tradingbots/btc-rsi/status", {"status": {}}),
        ("GET", "/api/v1/namespaces/trading/secrets", None),
        ("GET", "/apis/apps/v1/namespaces/trading/deployments", None),
    ]:
        try:
            plane.raw(method, path, body, token=token, content_type="application/merge-patch+json")
        except urllib.error.HTTPError as err:
            refused.append((method, path, err.code, json.loads(err.read()).get("reason")))
    assert [(code, reason) for *_, code, reason in refused] == [(403, "Forbidden")] * 6, refused
    engine.dispose()
