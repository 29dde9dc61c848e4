"""A real Kubernetes control plane on loopback for the tests: etcd, kube-apiserver (RBAC,
token authentication, service-account tokens), kube-controller-manager (Deployments,
ReplicaSets, Jobs, garbage collection, namespaces, service accounts), kube-scheduler and kwok
(fake nodes whose pods become Running; Job pods succeed — or fail, for Jobs named
`doomed-train` or `doomed-job`: see kwok-stages.yaml). Binaries come from `scripts/testenv.sh build`.

    python tests/support/testenv.py start DIR BIN    # writes DIR/kubeconfig, DIR/state.json
    python tests/support/testenv.py stop DIR

Standard library only (it runs before the venv may exist).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")
ADMIN = "admin"
NODES = 2
DOOMED = ("doomed-train", "doomed-job")  # Jobs whose pods kwok fails (kwok-stages.yaml)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ControlPlane:
    dir: str
    bin: str
    url: str = ""
    token: str = ""
    ca: str = ""
    pids: dict[str, int] = field(default_factory=dict)

    @property
    def kubeconfig(self) -> Path:
        return Path(self.dir) / "kubeconfig"

    def save(self) -> None:
        (Path(self.dir) / "state.json").write_text(json.dumps(asdict(self), indent=1))

    @classmethod
    def load(cls, directory: str) -> ControlPlane:
        return cls(**json.loads((Path(directory) / "state.json").read_text()))

    # -- the API, for the harness itself ---------------------------------------------------
    def raw(
        self,
        method: str,
        path: str,
        body: dict | None = None,
        token: str | None = None,
        content_type: str = "application/json",
    ) -> bytes:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {token or self.token}")
        req.add_header("Content-Type", content_type)
        context = ssl.create_default_context(cafile=self.ca)
        with urllib.request.urlopen(req, context=context, timeout=30) as answer:
            return answer.read()

    def request(self, method: str, path: str, body: dict | None = None, token: str | None = None) -> dict:
        return json.loads(self.raw(method, path, body, token) or b"{}")


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def _keys(d: Path) -> None:
    """A CA, the API server's serving certificate for 127.0.0.1, the service-account key pair."""
    ca, key = str(d / "ca.crt"), str(d / "ca.key")
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "30",
        "-subj",
        "/CN=botrader-testenv-ca",
        "-keyout",
        key,
        "-out",
        ca,
    )
    (d / "san.cnf").write_text(
        "[req]\ndistinguished_name=dn\n[dn]\n[ext]\nsubjectAltName=IP:127.0.0.1,DNS:localhost,"
        "DNS:kubernetes.default.svc\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n"
    )
    csr = str(d / "apiserver.csr")
    _openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=kube-apiserver",
        "-keyout",
        str(d / "apiserver.key"),
        "-out",
        csr,
    )
    _openssl(
        "x509",
        "-req",
        "-in",
        csr,
        "-CA",
        ca,
        "-CAkey",
        key,
        "-CAcreateserial",
        "-days",
        "30",
        "-extfile",
        str(d / "san.cnf"),
        "-extensions",
        "ext",
        "-out",
        str(d / "apiserver.crt"),
    )
    _openssl("genrsa", "-out", str(d / "sa.key"), "2048")
    _openssl("rsa", "-in", str(d / "sa.key"), "-pubout", "-out", str(d / "sa.pub"))


def _kubeconfig(path: Path, url: str, ca: Path, token: str, user: str = ADMIN) -> None:
    import base64

    data = base64.b64encode(ca.read_bytes()).decode()
    path.write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters:\n- name: testenv\n  cluster:\n    server: {url}\n    certificate-authority-data: {data}\n"
        f"users:\n- name: {user}\n  user:\n    token: {token}\n"
        f"contexts:\n- name: testenv\n  context:\n    cluster: testenv\n    user: {user}\n"
        "current-context: testenv\n"
    )


def _spawn(cp: ControlPlane, name: str, args: list[str]) -> None:
    log = open(Path(cp.dir) / f"{name}.log", "wb")  # the child keeps it open
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    cp.pids[name] = proc.pid
    cp.save()


def _alive(cp: ControlPlane, name: str) -> bool:
    pid = cp.pids.get(name)
    return pid is None or not _gone(pid)


def _wait(check, what: str, cp: ControlPlane, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and _alive(cp, what):
        try:
            if check():
                return
        except Exception:  # not up yet: connection refused, 403 before RBAC bootstraps, …
            pass
        time.sleep(0.2)
    log = Path(cp.dir) / f"{what}.log"
    tail = log.read_text(errors="replace")[-1500:] if log.exists() else ""
    state = "exited" if not _alive(cp, what) else f"did not come up in {seconds:.0f} s"
    stop(cp.dir)
    raise RuntimeError(f"testenv: {what} {state}\n{tail}")


# The controller manager's and the scheduler's own client rate limits off, as kwokctl's
# --disable-qps-limits does: at the default 20 requests/s the controller manager, not the
# operator, set the pace (200 Deployments took 45 s to report ready).
UNLIMITED = ("--kube-api-qps=5000", "--kube-api-burst=10000")
STAGES = Path(__file__).with_name("kwok-stages.yaml")  # nodes Ready, pods Running, Job pods finish


def _audit_flags(d: Path, users: tuple[str, ...]) -> list[str]:
    """Every request of these users, once (when answered, with the status code: a 429 the
    server shed is counted as such), in DIR/audit.log: how a benchmark counts the API requests
    one client makes. Nobody else is logged; a watch is logged when it ends."""
    if not users:
        return []
    rules = [{"level": "Metadata", "users": list(users)}, {"level": "None"}]
    policy = {
        "apiVersion": "audit.k8s.io/v1",
        "kind": "Policy",
        "omitStages": ["RequestReceived", "ResponseStarted"],
        "rules": rules,
    }
    (d / "audit-policy.json").write_text(json.dumps(policy))
    return [f"--audit-policy-file={d / 'audit-policy.json'}", f"--audit-log-path={d / 'audit.log'}"]


def start(directory: str, bin_dir: str, audit_users: tuple[str, ...] = ()) -> ControlPlane:
    d = Path(directory).resolve()
    d.mkdir(parents=True, exist_ok=True)
    b = Path(bin_dir)
    cp = ControlPlane(dir=str(d), bin=str(b), token=secrets.token_hex(16), ca=str(d / "ca.crt"))
    began = time.monotonic()
    _keys(d)
    (d / "tokens.csv").write_text(f'{cp.token},{ADMIN},admin-uid,"system:masters"\n')
    etcd_port, peer_port, api_port = free_port(), free_port(), free_port()
    _spawn(
        cp,
        "etcd",
        [
            str(b / "etcd"),
            "--name",
            "testenv",
            "--data-dir",
            str(d / "etcd"),
            "--unsafe-no-fsync",
            "--listen-client-urls",
            f"http://127.0.0.1:{etcd_port}",
            "--advertise-client-urls",
            f"http://127.0.0.1:{etcd_port}",
            "--listen-peer-urls",
            f"http://127.0.0.1:{peer_port}",
            "--initial-advertise-peer-urls",
            f"http://127.0.0.1:{peer_port}",
            "--initial-cluster",
            f"testenv=http://127.0.0.1:{peer_port}",
            "--log-level",
            "warn",
        ],
    )
    cp.url = f"https://127.0.0.1:{api_port}"
    _spawn(
        cp,
        "kube-apiserver",
        [
            str(b / "kube-apiserver"),
            f"--etcd-servers=http://127.0.0.1:{etcd_port}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={api_port}",
            f"--tls-cert-file={d / 'apiserver.crt'}",
            f"--tls-private-key-file={d / 'apiserver.key'}",
            f"--client-ca-file={d / 'ca.crt'}",
            f"--token-auth-file={d / 'tokens.csv'}",
            "--authorization-mode=RBAC",
            f"--service-account-key-file={d / 'sa.pub'}",
            f"--service-account-signing-key-file={d / 'sa.key'}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            "--service-cluster-ip-range=10.96.0.0/16",
            "--allow-privileged=false",
            "--profiling=false",
            "--enable-priority-and-fairness=false",
            "--endpoint-reconciler-type=none",  # loopback is not a routable advertise address
            "--v=0",
            *_audit_flags(d, audit_users),
        ],
    )
    _wait(lambda: cp.raw("GET", "/readyz") == b"ok", "kube-apiserver", cp, 90)
    _kubeconfig(cp.kubeconfig, cp.url, d / "ca.crt", cp.token)
    _spawn(
        cp,
        "kube-controller-manager",
        [
            str(b / "kube-controller-manager"),
            f"--kubeconfig={cp.kubeconfig}",
            "--leader-elect=false",
            "--bind-address=127.0.0.1",
            f"--secure-port={free_port()}",
            "--use-service-account-credentials=false",
            f"--service-account-private-key-file={d / 'sa.key'}",
            f"--root-ca-file={d / 'ca.crt'}",
            "--controllers=*,-csrsigning,-csrapproving,-csrcleaner,-bootstrapsigner,-tokencleaner,-nodeipam,-nodelifecycle",
            "--concurrent-deployment-syncs=10",
            "--concurrent-replicaset-syncs=10",
            *UNLIMITED,
            "--concurrent-gc-syncs=20",
            "--v=0",
        ],
    )
    _spawn(
        cp,
        "kube-scheduler",
        [
            str(b / "kube-scheduler"),
            f"--kubeconfig={cp.kubeconfig}",
            "--leader-elect=false",
            "--bind-address=127.0.0.1",
            f"--secure-port={free_port()}",
            *UNLIMITED,
            "--v=0",
        ],
    )
    _spawn(
        cp,
        "kwok",
        [
            str(b / "kwok"),
            f"--kubeconfig={cp.kubeconfig}",
            f"--config={STAGES}",
            "--manage-all-nodes=false",
            "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
            "--cidr=10.240.0.1/16",
            "--node-ip=10.240.0.1",
            f"--server-address=127.0.0.1:{free_port()}",
        ],
    )
    for i in range(NODES):
        node = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": f"kwok-node-{i}",
                "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
                "labels": {"type": "kwok", "kubernetes.io/os": "linux"},
            },
            "status": {
                "allocatable": {"cpu": "64", "memory": "256Gi", "pods": "250"},
                "capacity": {"cpu": "64", "memory": "256Gi", "pods": "250"},
            },
        }
        cp.request("POST", "/api/v1/nodes", node)
    # the admission chain taints a new node not-ready; with no node-lifecycle controller to
    # lift it (kwok's nodes never go away), lift it here once kwok has made them Ready

    def nodes_ready() -> bool:
        items = cp.request("GET", "/api/v1/nodes")["items"]
        ready = [
            n
            for n in items
            if any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"].get("conditions", []))
        ]
        return len(ready) == NODES

    def default_account() -> bool:
        return bool(cp.request("GET", "/api/v1/namespaces/default/serviceaccounts/default"))

    _wait(nodes_ready, "kwok", cp, 60)
    for i in range(NODES):
        cp.raw(
            "PATCH",
            f"/api/v1/nodes/kwok-node-{i}",
            {"spec": {"taints": None}},
            content_type="application/merge-patch+json",
        )
    _wait(default_account, "kube-controller-manager", cp, 60)
    cp.save()
    print(
        f"testenv: up in {time.monotonic() - began:.1f} s at {cp.url}; kubeconfig {cp.kubeconfig}",
        file=sys.stderr,
    )
    return cp


def _gone(pid: int) -> bool:
    try:
        if os.waitpid(pid, os.WNOHANG)[0]:  # our own child (started in this process): reap it
            return True
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def stop(directory: str) -> None:
    state = Path(directory) / "state.json"
    if not state.exists():
        return
    cp = ControlPlane.load(directory)
    order = ["kwok", "kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd"]
    for name in order:
        if name in cp.pids:
            try:
                os.killpg(cp.pids[name], signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + 10
    for name in order:
        pid = cp.pids.get(name)
        while pid and not _gone(pid):
            if time.monotonic() > deadline:
                try:
                    os.killpg(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                deadline = time.monotonic() + 5
            time.sleep(0.05)
    state.unlink()


if __name__ == "__main__":
    command, where = sys.argv[1], sys.argv[2]
    if command == "start":
        start(where, sys.argv[3])
    elif command == "stop":
        stop(where)
    else:
        raise SystemExit(f"usage: {sys.argv[0]} start DIR BIN | stop DIR")
