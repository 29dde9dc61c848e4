"""Create-or-update of child objects through the Kubernetes API: create, and on 409 merge
the desired state in (idempotent: reconciling twice changes nothing)."""

from __future__ import annotations

from typing import Any

from kubernetes import client
from kubernetes.client.rest import ApiException

# kind -> (api prefix, plural)
PATHS = {
    "ConfigMap": ("/api/v1", "configmaps"),
    "Service": ("/api/v1", "services"),
    "Deployment": ("/apis/apps/v1", "deployments"),
    "Job": ("/apis/batch/v1", "jobs"),
    "RayJob": ("/apis/ray.io/v1", "rayjobs"),
}


class Applier:
    def __init__(self, api: client.ApiClient | None = None) -> None:
        self.api = api or client.ApiClient()

    def _call(self, method: str, path: str, body: Any = None, content_type: str = "application/json") -> Any:
        return self.api.call_api(
            path,
            method,
            body=body,
            header_params={"Content-Type": content_type, "Accept": "application/json"},
            response_type="object",
            auth_settings=["BearerToken"],
            _return_http_data_only=True,
        )

    def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        prefix, plural = PATHS[obj["kind"]]
        ns, name = obj["metadata"]["namespace"], obj["metadata"]["name"]
        collection = f"{prefix}/namespaces/{ns}/{plural}"
        try:
            return self._call("POST", collection, obj)
        except ApiException as exc:
            if exc.status != 409:
                raise
        return self._call("PATCH", f"{collection}/{name}", obj, "application/merge-patch+json")

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        prefix, plural = PATHS[kind]
        try:
            return self._call("GET", f"{prefix}/namespaces/{namespace}/{plural}/{name}")
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def has_kind(self, group_version: str, plural: str) -> bool:
        """Whether the cluster serves a resource (e.g. KubeRay's rayjobs)."""
        try:
            found = self._call("GET", f"/apis/{group_version}")
        except ApiException:
            return False
        return any(r.get("name") == plural for r in (found or {}).get("resources", []))
