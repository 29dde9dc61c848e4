"""The chart installed for real: `helm install` into the test control plane (kwok runs its
pods), every rendered object created, the CRDs served, the migration hook Job run to
completion (its pod succeeds under kwok) and cleaned up, the NOTES printed; `helm upgrade`
with changed values rolls what changed; `helm uninstall` removes the release's objects."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.cluster import CHART, get, get_path, kubectl, wait

HELM = str(Path(sys.executable).parent / "helm")
RELEASE, NS = "shop", "shop"  # objects named shop-botrader-*, apart from other tests' objects
VALUES = [
    "database.url=postgresql://botrader:secret@db.example:5432/botrader",
    "timescaledb.enabled=false",
    f"operator.watchNamespaces={{{NS}}}",  # a namespaced KopfPeering, apart from other tests'
]


def helm(plane: Any, *args: str) -> str:
    done = subprocess.run(
        [HELM, "--kubeconfig", str(plane.kubeconfig), *args], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"helm {' '.join(args)}: {done.stderr[-3000:]}"
    return done.stdout


def manifest(plane: Any) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(helm(plane, "get", "manifest", RELEASE, "-n", NS)) if d]


def exists(plane: Any, obj: dict[str, Any]) -> bool:
    kind, name = obj["kind"], obj["metadata"]["name"]
    namespace = obj["metadata"].get("namespace", NS)
    args = ["get", kind, name, "-o", "name", "--ignore-not-found"]
    if kind not in ("ClusterRole", "ClusterRoleBinding", "ClusterKopfPeering"):
        args += ["-n", namespace]
    return bool(kubectl(plane, *args).strip())


def sets(*values: str) -> list[str]:
    return [arg for value in values for arg in ("--set", value)]


def restricted_namespace(plane: Any, tmp_path: Path) -> None:
    """The README's namespace example (restricted Pod Security enforced), named for this test."""
    from tests.support.paths import REPO

    doc = yaml.safe_load((REPO / "examples" / "namespace-restricted.yaml").read_text())
    doc["metadata"]["name"] = NS
    (tmp_path / "ns.yaml").write_text(yaml.safe_dump(doc))
    kubectl(plane, "apply", "-f", str(tmp_path / "ns.yaml"))


@pytest.mark.slow
def test_install_upgrade_and_uninstall_the_chart(control_plane, tmp_path: Path) -> None:
    plane = control_plane
    restricted_namespace(plane, tmp_path)  # Pod Security admission refuses any pod that is not locked down
    out = helm(
        plane,
        "install",
        RELEASE,
        str(CHART),
        "-n",
        NS,
        *sets(*VALUES),
        "--wait",
        "--timeout",
        "4m",
    )
    assert f'is installed as release "{RELEASE}" in namespace "{NS}"' in out  # the NOTES
    assert "kubectl -n shop apply -f examples/tradingbot-rsi.yaml" in out
    objects = manifest(plane)
    kinds = {o["kind"] for o in objects}
    assert {"StatefulSet", "Deployment", "ClusterRole", "Secret", "KopfPeering", "NetworkPolicy"} <= kinds, (
        kinds
    )
    missing = [f"{o['kind']}/{o['metadata']['name']}" for o in objects if not exists(plane, o)]
    assert not missing, missing
    for crd in (
        "tradingbots.botrader.io",
        "trainingruns.botrader.io",
        "optimizationruns.botrader.io",
        "kopfpeerings.kopf.dev",
    ):
        assert get_path(plane, f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{crd}")
    # the post-install hook ran: the job controller completed its Job (its pod succeeded under
    # kwok), and the hook-succeeded policy removed it
    migrate = f"{RELEASE}-botrader-migrate"
    events = [e for e in get(plane, "Event", namespace=NS) if e["involvedObject"]["name"] == migrate]
    assert "Completed" in {e["reason"] for e in events}, [e["reason"] for e in events]
    assert get(plane, "Job", migrate, namespace=NS) is None
    operator = get_path(plane, f"/apis/apps/v1/namespaces/{NS}/statefulsets/{RELEASE}-botrader-operator")
    assert operator["status"].get("readyReplicas") == 1  # kwok runs its pod; --wait saw it ready

    helm(
        plane,
        "upgrade",
        RELEASE,
        str(CHART),
        "-n",
        NS,
        *sets(*VALUES, "operator.replicas=2", "operator.statusInterval=30"),
        "--wait",
        "--timeout",
        "4m",
    )
    operator = get_path(plane, f"/apis/apps/v1/namespaces/{NS}/statefulsets/{RELEASE}-botrader-operator")
    assert operator["spec"]["replicas"] == 2
    env = {e["name"]: e.get("value") for e in operator["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env.get("BOTRADER_STATUS_INTERVAL") == "30", env
    wait(lambda: operator_ready(plane) == 2, "both operator replicas ready", 120)
    history = json.loads(helm(plane, "history", RELEASE, "-n", NS, "-o", "json"))
    assert [h["revision"] for h in history] == [1, 2] and history[-1]["status"] == "deployed"

    helm(plane, "uninstall", RELEASE, "-n", NS, "--wait", "--timeout", "2m")
    left = [o for o in objects if exists(plane, o)]
    # only the database Secret stays (helm.sh/resource-policy: keep — the next install's
    # migration hook needs it before the release's own objects exist)
    assert [f"{o['kind']}/{o['metadata']['name']}" for o in left] == [f"Secret/{RELEASE}-botrader-db"]
    assert left[0]["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    kubectl(plane, "delete", "namespace", NS, "--wait=false")
    assert get_path(plane, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/tradingbots.botrader.io")


def operator_ready(plane: Any) -> int:
    found = get_path(plane, f"/apis/apps/v1/namespaces/{NS}/statefulsets/{RELEASE}-botrader-operator")
    return int((found.get("status") or {}).get("readyReplicas") or 0)
