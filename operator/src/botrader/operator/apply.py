"""Child objects through the Kubernetes API by server-side apply: one request per child per
change, whether it exists or not (`fieldManager: botrader-operator`, forced: the operator owns
the fields it declares; fields others set are left alone; idempotent: reconciling twice changes
nothing). Credentials: the service account in a pod, the kubeconfig elsewhere.

Async, on Kopf's event loop: a reconcile waits on the API server, not on CPU, so handlers
apply a bot's children concurrently on one shared connection pool instead of queueing in a
thread pool (with 200 bots, threads sharing a sync pool spent their time on its lock).
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp
import kopf

from botrader.operator.metrics import THROTTLED

# kind -> (api prefix, plural)
PATHS = {
    "ConfigMap": ("/api/v1", "configmaps"),
    "Service": ("/api/v1", "services"),
    "Deployment": ("/apis/apps/v1", "deployments"),
    "Job": ("/apis/batch/v1", "jobs"),
    "RayJob": ("/apis/ray.io/v1", "rayjobs"),
}
# read but never written by the handlers (a bot's modelRef or paramsFrom may name them)
READ_ONLY = {
    "TrainingRun": ("/apis/botrader.io/v1alpha1", "trainingruns"),
    "OptimizationRun": ("/apis/botrader.io/v1alpha1", "optimizationruns"),
}
# whose status subresource a handler patches outside Kopf's own patch (following a child)
STATUS = {"TradingBot": ("/apis/botrader.io/v1alpha1", "tradingbots")}
MERGE = "application/merge-patch+json"
APPLY = "application/apply-patch+yaml"  # JSON is YAML: the body goes as JSON
FIELD_MANAGER = "botrader-operator"
THROTTLE_RETRIES = 8


_LOGIN: dict[str, Any] = {}  # "info": the ConnectionInfo, "at": when it was read
RELOGIN_S = 60.0  # a projected service-account token rotates (hourly at most): read it again


def load_credentials() -> kopf.ConnectionInfo:
    """In a pod: the service account; elsewhere: the kubeconfig — read as Kopf reads them
    itself, without the kubernetes client library (importing it cost the operator 30 MiB)."""
    settings = kopf.OperatorSettings()
    info = kopf.login_with_service_account(settings=settings) or kopf.login_with_kubeconfig(settings=settings)
    if info is None:
        raise kopf.LoginError("no service account and no kubeconfig (KUBECONFIG or ~/.kube/config)")
    _LOGIN.update(info=info, at=time.monotonic())
    return info


def _credentials() -> kopf.ConnectionInfo:
    if not _LOGIN or time.monotonic() - _LOGIN["at"] > RELOGIN_S:
        return load_credentials()
    return _LOGIN["info"]


CONNECTIONS = 32
_SESSIONS: dict[tuple[str, int], aiohttp.ClientSession] = {}


def _session(info: kopf.ConnectionInfo) -> aiohttp.ClientSession:
    """One connection pool per API server and event loop, built once: a new TLS context per
    reconcile (loading the CA bundle) cost more than the reconcile itself. aiohttp, as Kopf
    itself uses: httpx's pool rescans every queued request against every connection (with a
    syscall each) whenever one frees, which with 200 bots' children queued took all the CPU."""
    key = (info.server, id(asyncio.get_running_loop()))
    if key not in _SESSIONS or _SESSIONS[key].closed:
        _SESSIONS[key] = aiohttp.ClientSession(
            base_url=info.server,
            headers={"Accept": "application/json"},
            connector=aiohttp.TCPConnector(
                limit=CONNECTIONS, ssl=info.as_ssl_context() if info.server.startswith("https") else False
            ),
            # no total: a request queued for one of the pool's connections behind a burst (1,000
            # bots' children) waits its turn instead of timing out and failing its reconcile
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=60),
        )
    return _SESSIONS[key]


async def close_sessions() -> None:
    """At operator shutdown: close this loop's connection pools."""
    loop = id(asyncio.get_running_loop())
    for key in [k for k in _SESSIONS if k[1] == loop]:
        await _SESSIONS.pop(key).close()
    _PACE.pop(loop, None)


class Pace:
    """Client-side pacing, as client-go's QPS and burst: at most `burst` requests at once, then
    `qps` a second. An operator that sends what it can overloads a small API server (it sheds
    load with 429s, which cost a wait and a resend each); one that paces itself goes as fast as
    the server takes. 0 qps: no pacing."""

    def __init__(self, qps: float, burst: int) -> None:
        self.qps, self.burst = qps, max(1, burst)
        self.tokens, self.at = float(self.burst), time.monotonic()
        self.lock = asyncio.Lock()  # waiters queue in order: first come, first sent

    async def wait(self) -> None:
        if self.qps <= 0:
            return
        async with self.lock:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.at) * self.qps)
            self.at = now
            if self.tokens < 1:
                await asyncio.sleep((1 - self.tokens) / self.qps)
                self.tokens, self.at = 1.0, time.monotonic()
            self.tokens -= 1


_PACE: dict[int, Pace] = {}
PACING = (0.0, 1)  # (qps, burst): set from the operator's settings at startup


def pace_requests(qps: float, burst: int) -> None:
    """The operator's own request rate (`OperatorSettings.api_qps`, `api_burst`)."""
    global PACING
    PACING = (qps, burst)
    _PACE.clear()


def _pace() -> Pace:
    loop = id(asyncio.get_running_loop())
    if loop not in _PACE:
        _PACE[loop] = Pace(*PACING)
    return _PACE[loop]


class ApiError(RuntimeError):
    def __init__(self, status: int, text: str) -> None:
        super().__init__(f"HTTP {status}: {text[:300]}")
        self.status = status


def _paths(kind: str) -> tuple[str, str]:
    return PATHS[kind] if kind in PATHS else READ_ONLY[kind]


class Applier:
    def __init__(self) -> None:
        info = _credentials()
        self.http, self.auth, self.pace = _session(info), info.as_http_headers(), _pace()

    async def _call(
        self, method: str, path: str, body: Any = None, content_type: str = "application/json"
    ) -> Any:
        headers = {"Content-Type": content_type, **self.auth}
        data = None if body is None else json.dumps(body)
        for attempt in range(THROTTLE_RETRIES + 1):
            await self.pace.wait()
            async with self.http.request(method, path, data=data, headers=headers) as response:
                text = await response.text()
                wait = response.headers.get("Retry-After", "1")
            if response.status != 429 or attempt == THROTTLE_RETRIES:
                break
            # a busy API server sheds load (max-requests-inflight): wait as it asks, as client-go
            # does, instead of failing the reconcile and retrying all of it 15 s later
            THROTTLED.inc()
            await asyncio.sleep(min(float(wait) if wait.isdigit() else 1.0, 10.0) * (1 + attempt / 2))
        if response.status >= 400:
            raise ApiError(response.status, text)
        return json.loads(text)

    async def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Server-side apply: created or brought to `obj` in one request."""
        collection, name = self._collection(obj)
        query = f"?fieldManager={FIELD_MANAGER}&force=true"
        return await self._call("PATCH", f"{collection}/{name}{query}", obj, APPLY)

    async def delete(self, kind: str, namespace: str, name: str) -> bool:
        """Delete, its dependents in the background; False when it was gone already."""
        prefix, plural = _paths(kind)
        body = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"}
        try:
            await self._call("DELETE", f"{prefix}/namespaces/{namespace}/{plural}/{name}", body)
        except ApiError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    async def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        prefix, plural = _paths(kind)
        try:
            return await self._call("GET", f"{prefix}/namespaces/{namespace}/{plural}/{name}")
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    async def patch_status(
        self,
        kind: str,
        namespace: str,
        name: str,
        status: dict[str, Any],
        resource_version: str | None = None,
    ) -> None:
        """Merge `status` in; with a resourceVersion, only if the object is still at it (409 if not)."""
        prefix, plural = STATUS[kind]
        path = f"{prefix}/namespaces/{namespace}/{plural}/{name}/status"
        body: dict[str, Any] = {"status": status}
        if resource_version:
            body["metadata"] = {"resourceVersion": resource_version}
        await self._call("PATCH", path, body, MERGE)

    async def has_kind(self, group_version: str, plural: str) -> bool:
        """Whether the cluster serves a resource (e.g. KubeRay's rayjobs)."""
        try:
            found = await self._call("GET", f"/apis/{group_version}")
        except (ApiError, aiohttp.ClientError):
            return False
        return any(r.get("name") == plural for r in (found or {}).get("resources", []))

    @staticmethod
    def _collection(obj: dict[str, Any]) -> tuple[str, str]:
        prefix, plural = PATHS[obj["kind"]]
        ns, name = obj["metadata"]["namespace"], obj["metadata"]["name"]
        return f"{prefix}/namespaces/{ns}/{plural}", name
