"""Create-or-update of child objects through the Kubernetes API: create, and on 409 merge
the desired state in (idempotent: reconciling twice changes nothing). Credentials come from
the kubernetes client's loaded configuration (kubeconfig or in-cluster)."""

from __future__ import annotations

from typing import Any

import httpx
from kubernetes import client, config

# kind -> (api prefix, plural)
PATHS = {
    "ConfigMap": ("/api/v1", "configmaps"),
    "Service": ("/api/v1", "services"),
    "Deployment": ("/apis/apps/v1", "deployments"),
    "Job": ("/apis/batch/v1", "jobs"),
    "RayJob": ("/apis/ray.io/v1", "rayjobs"),
}
# read but never written by the handlers (a PPO bot's modelRef may name a TrainingRun)
READ_ONLY = {"TrainingRun": ("/apis/botrader.io/v1alpha1", "trainingruns")}


def load_credentials() -> None:
    """In a pod: the service account; elsewhere: the kubeconfig."""
    try:
        config.load_incluster_config()
    except config.ConfigException:
        config.load_kube_config()


def _http(cfg: client.Configuration) -> httpx.Client:
    headers = {"Accept": "application/json"}
    token = (cfg.api_key or {}).get("authorization") or (cfg.api_key or {}).get("BearerToken")
    if token:
        headers["Authorization"] = token if token.lower().startswith("bearer ") else f"Bearer {token}"
    verify: Any = cfg.ssl_ca_cert or cfg.verify_ssl
    cert = (cfg.cert_file, cfg.key_file) if cfg.cert_file else None
    return httpx.Client(base_url=cfg.host, headers=headers, verify=verify, cert=cert, timeout=30)


class ApiError(RuntimeError):
    def __init__(self, status: int, text: str) -> None:
        super().__init__(f"HTTP {status}: {text[:300]}")
        self.status = status


class Applier:
    def __init__(self, http: httpx.Client | None = None) -> None:
        self.http = http or _http(client.Configuration.get_default_copy())

    def _call(self, method: str, path: str, body: Any = None, content_type: str = "application/json") -> Any:
        response = self.http.request(method, path, json=body, headers={"Content-Type": content_type})
        if response.status_code >= 400:
            raise ApiError(response.status_code, response.text)
        return response.json()

    def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        prefix, plural = PATHS[obj["kind"]]
        ns, name = obj["metadata"]["namespace"], obj["metadata"]["name"]
        collection = f"{prefix}/namespaces/{ns}/{plural}"
        try:
            return self._call("POST", collection, obj)
        except ApiError as exc:
            if exc.status != 409:
                raise
        return self._call("PATCH", f"{collection}/{name}", obj, "application/merge-patch+json")

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        prefix, plural = PATHS[kind] if kind in PATHS else READ_ONLY[kind]
        try:
            return self._call("GET", f"{prefix}/namespaces/{namespace}/{plural}/{name}")
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    def has_kind(self, group_version: str, plural: str) -> bool:
        """Whether the cluster serves a resource (e.g. KubeRay's rayjobs)."""
        try:
            found = self._call("GET", f"/apis/{group_version}")
        except (ApiError, httpx.HTTPError):
            return False
        return any(r.get("name") == plural for r in (found or {}).get("resources", []))
