"""MLflow's tracking server over its REST API, for the parts of Botrader that read runs and
models without the mlflow package (the operator and the services image carry no mlflow):
TrainingRun results, registered models and their runs' metrics and tags."""

from __future__ import annotations

from typing import Any

import httpx


class MlflowUnavailable(RuntimeError):
    """The tracking server did not answer, or not as MLflow does."""


def run_fields(run: dict[str, Any]) -> tuple[dict[str, float], dict[str, str], dict[str, str]]:
    """A REST run's metrics (latest values), params and tags as plain dicts."""
    data = run.get("data") or {}
    return tuple({i["key"]: i["value"] for i in data.get(k) or []} for k in ("metrics", "params", "tags"))  # type: ignore[return-value]


class MlflowRest:
    """One connection pool per instance (a listing makes a request per model version): use it
    as a context manager, or call close()."""

    def __init__(self, tracking_uri: str, timeout: float = 10.0) -> None:
        self.uri = tracking_uri.rstrip("/")
        self.http = httpx.Client(base_url=self.uri, timeout=timeout)

    def __enter__(self) -> MlflowRest:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self.http.request(method, f"/api/2.0/mlflow/{path}", **kwargs)
        except httpx.HTTPError as exc:
            raise MlflowUnavailable(f"MLflow at {self.uri} did not answer: {exc}") from exc

    def _json(self, response: httpx.Response) -> dict[str, Any]:
        if response.status_code >= 400:
            raise MlflowUnavailable(
                f"MLflow at {self.uri}: HTTP {response.status_code} {response.text[:200]}"
            )
        return response.json()

    def experiment_id(self, name: str) -> str | None:
        response = self._call("GET", "experiments/get-by-name", params={"experiment_name": name})
        if response.status_code == 404:
            return None
        return str(self._json(response)["experiment"]["experiment_id"])

    def search_runs(
        self, experiment_ids: list[str], filter_string: str, max_results: int = 1000
    ) -> list[dict]:
        body = {"experiment_ids": experiment_ids, "filter": filter_string, "max_results": max_results}
        return self._json(self._call("POST", "runs/search", json=body)).get("runs") or []

    def registered_models(self, max_results: int = 100) -> list[tuple[str, list[dict[str, Any]]]]:
        """(name, latest versions as {version, source, run_id}) per registered model."""
        found = self._json(self._call("GET", "registered-models/search", params={"max_results": max_results}))
        return [
            (
                m["name"],
                [
                    {"version": v["version"], "source": v.get("source"), "run_id": v.get("run_id")}
                    for v in m.get("latest_versions") or []
                ],
            )
            for m in found.get("registered_models") or []
        ]

    def alias_version(self, name: str, alias: str) -> str | None:
        """The version a registered model's alias points at; None when it points nowhere."""
        response = self._call("GET", "registered-models/alias", params={"name": name, "alias": alias})
        if response.status_code == 404:
            return None
        return str(self._json(response)["model_version"]["version"])

    def run_data(self, run_id: str) -> tuple[dict[str, float], dict[str, str], dict[str, str]]:
        """A run's metrics (latest values), params and tags."""
        return run_fields(self._json(self._call("GET", "runs/get", params={"run_id": run_id}))["run"])
