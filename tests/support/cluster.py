"""Working with the real test control plane (`tests/support/testenv.py`): render the chart's
objects with helm, apply them, act as a ServiceAccount (a TokenRequest token in a kubeconfig
of its own), run Botrader's processes against the server, read objects back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from tests.support.paths import REPO
from tests.support.testenv import ControlPlane, _kubeconfig, free_port

CHART = REPO / "charts" / "botrader"
NS = "botrader"  # the operator's own namespace on the test control plane (the chart installs it there)
PATHS = {
    "ConfigMap": "/api/v1/namespaces/{ns}/configmaps",
    "Service": "/api/v1/namespaces/{ns}/services",
    "Pod": "/api/v1/namespaces/{ns}/pods",
    "Event": "/api/v1/namespaces/{ns}/events",
    "ServiceAccount": "/api/v1/namespaces/{ns}/serviceaccounts",
    "Deployment": "/apis/apps/v1/namespaces/{ns}/deployments",
    "ReplicaSet": "/apis/apps/v1/namespaces/{ns}/replicasets",
    "StatefulSet": "/apis/apps/v1/namespaces/{ns}/statefulsets",
    "Job": "/apis/batch/v1/namespaces/{ns}/jobs",
    "TradingBot": "/apis/botrader.io/v1alpha1/namespaces/{ns}/tradingbots",
    "TrainingRun": "/apis/botrader.io/v1alpha1/namespaces/{ns}/trainingruns",
    "OptimizationRun": "/apis/botrader.io/v1alpha1/namespaces/{ns}/optimizationruns",
}


def kubectl(plane: ControlPlane, *args: str, kubeconfig: Path | None = None, stdin: str | None = None) -> str:
    done = subprocess.run(
        ["kubectl", "--kubeconfig", str(kubeconfig or plane.kubeconfig), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode:
        raise AssertionError(f"kubectl {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def apply(plane: ControlPlane, docs: list[dict[str, Any]]) -> None:
    kubectl(plane, "apply", "--server-side", "--force-conflicts", "-f", "-", stdin=yaml.safe_dump_all(docs))


def render(*values: str, namespace: str = "botrader", show: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """The chart's objects, as `helm template` renders them with `--set` values."""
    args = [str(Path(sys.executable).parent / "helm"), "template", "botrader", str(CHART), "-n", namespace]
    for value in values:
        args += ["--set", value]
    for template in show:
        args += ["-s", template]
    done = subprocess.run(args, capture_output=True, text=True, check=True)
    return [d for d in yaml.safe_load_all(done.stdout) if d]


def get(plane: ControlPlane, kind: str, name: str | None = None, namespace: str = "default") -> Any:
    found = get_path(plane, PATHS[kind].format(ns=namespace) + (f"/{name}" if name else ""))
    return found if name or found is None else found["items"]


def get_path(plane: ControlPlane, path: str) -> Any:
    """The object at `path`, or None when the server says 404."""
    try:
        return plane.request("GET", path)
    except urllib.error.HTTPError as err:
        if err.code == 404:
            return None
        raise


def service_account_token(plane: ControlPlane, namespace: str, name: str) -> str:
    """A token for the ServiceAccount, from the TokenRequest API (as the kubelet gets one)."""
    review = plane.request(
        "POST",
        f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token",
        {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {"expirationSeconds": 7200},
        },
    )
    return review["status"]["token"]


def service_account_kubeconfig(plane: ControlPlane, namespace: str, name: str, path: Path) -> Path:
    """A kubeconfig that acts as the ServiceAccount."""
    token = service_account_token(plane, namespace, name)
    _kubeconfig(path, plane.url, Path(plane.ca), token, user=f"{namespace}:{name}")
    return path


def stop(proc: subprocess.Popen, seconds: float = 15) -> None:
    """SIGTERM, and SIGKILL if it has not gone in `seconds`."""
    proc.terminate()
    try:
        proc.wait(seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def wait(check: Callable[[], Any], what: str, seconds: float = 60.0) -> Any:
    deadline = time.monotonic() + seconds
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            found = check()
            if found:
                return found
        except (KeyError, TypeError, IndexError) as exc:
            last = exc
        time.sleep(0.2)
    raise AssertionError(f"not within {seconds:.0f} s: {what} ({last!r})")


def trading_bot(name: str, **spec: object) -> dict[str, Any]:
    """The RSI example's TradingBot under another name in `default`, with `spec` on top."""
    doc = yaml.safe_load((REPO / "examples" / "tradingbot-rsi.yaml").read_text())
    doc["metadata"] = {"name": name, "namespace": "default"}
    doc["spec"].update(spec)
    return doc


def migrated_db(workdir: Path, name: str) -> str:
    """A SQLite database at the newest schema, for a trader run beside the cluster."""
    from botrader.core.db import connect, upgrade

    url = f"sqlite:///{workdir / name}"
    engine = connect(url)
    upgrade(engine)
    engine.dispose()
    return url


def phase(plane: ControlPlane, kind: str, name: str, namespace: str = "default") -> str | None:
    found = get(plane, kind, name, namespace)
    return ((found or {}).get("status") or {}).get("phase")


def conditions(plane: ControlPlane, kind: str, name: str, namespace: str = "default") -> dict[str, dict]:
    """The object's conditions by type ({} while it has none, or is gone)."""
    found = get(plane, kind, name, namespace) or {}
    return {c["type"]: c for c in (found.get("status") or {}).get("conditions", [])}


def wait_phase(plane: ControlPlane, kind: str, name: str, want: str, seconds: float = 60.0) -> None:
    """Until the object's phase is `want`; a timeout says which phase it was stuck in."""
    seen: list[str | None] = [None]

    def reached() -> bool:
        seen[0] = phase(plane, kind, name)
        return seen[0] == want

    try:
        wait(reached, f"{kind} {name} phase {want}", seconds)
    except AssertionError as exc:
        raise AssertionError(
            f"{exc}; still {seen[0]!r}, conditions {conditions(plane, kind, name)}"
        ) from None


def wait_condition(
    plane: ControlPlane,
    kind: str,
    name: str,
    type_: str,
    status: str | None = None,
    reason: str | None = None,
    seconds: float = 60.0,
) -> dict[str, Any]:
    """Until the object has condition `type_` with this status and/or reason; returns it."""

    def reached() -> dict[str, Any] | None:
        found = conditions(plane, kind, name).get(type_)
        if found is None or (status is not None and found.get("status") != status):
            return None
        return found if reason is None or found.get("reason") == reason else None

    want = "/".join(x for x in (status, reason) if x) or "present"
    try:
        return wait(reached, f"{kind} {name} condition {type_} {want}", seconds)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; found {conditions(plane, kind, name).get(type_)}") from None


@contextmanager
def operator_process(
    plane: ControlPlane,
    kubeconfig: Path,
    workdir: Path,
    *extra: str,
    env: dict[str, str] | None = None,
    metrics_port: int | None = None,
) -> Iterator[subprocess.Popen]:
    """`botrader operator` as its own process, with the given identity."""
    log_path = workdir / f"operator-{free_port()}.log"
    log = log_path.open("wb")
    environment = {
        **os.environ,
        "KUBECONFIG": str(kubeconfig),
        "BOTRADER_STATUS_INTERVAL": "0.5",
        **(env or {}),
    }
    args = [
        sys.executable,
        "-m",
        "botrader.core",
        "operator",
        "--metrics-port",
        str(metrics_port or free_port()),
    ]
    args += ["--liveness", f"http://127.0.0.1:{free_port()}/healthz", *extra]
    proc = subprocess.Popen(args, env=environment, stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    proc.log_path = log_path  # type: ignore[attr-defined]  # what it said, for the tests to read
    try:
        yield proc
    finally:
        stop(proc)
        log.close()


def patch(plane: ControlPlane, kind: str, name: str, body: dict, namespace: str = "default") -> None:
    kubectl(plane, "patch", kind.lower(), name, "-n", namespace, "--type", "merge", "-p", json.dumps(body))
