"""Registered models for `/models`: versions, their runs' metrics and what each model looks at
(the feature attributions training logged as the run's `botrader.attributions` tag).

A tracking server is read over REST (the services image has no mlflow package); a local store
(`sqlite:`/`file:` URIs — embedded mode) through the mlflow package, which is installed there."""

from __future__ import annotations

import json
from typing import Any, Protocol

from botrader.core.mlflow_rest import MlflowRest


class Source(Protocol):
    def registered_models(self, max_results: int = 100) -> list[tuple[str, list[dict[str, Any]]]]: ...

    def run_data(self, run_id: str) -> tuple[dict[str, float], dict[str, str], dict[str, str]]: ...

    def close(self) -> None: ...


class LocalStore:
    """The mlflow package's client over a local store, shaped like MlflowRest."""

    def __init__(self, uri: str) -> None:
        from mlflow import MlflowClient

        self.client = MlflowClient(tracking_uri=uri)

    def registered_models(self, max_results: int = 100) -> list[tuple[str, list[dict[str, Any]]]]:
        return [
            (
                m.name,
                [
                    {"version": v.version, "source": v.source, "run_id": v.run_id}
                    for v in m.latest_versions or []
                ],
            )
            for m in self.client.search_registered_models(max_results=max_results)
        ]

    def run_data(self, run_id: str) -> tuple[dict[str, float], dict[str, str], dict[str, str]]:
        data = self.client.get_run(run_id).data
        return dict(data.metrics), dict(data.params), dict(data.tags)

    def close(self) -> None:
        pass


def source_for(uri: str) -> Source:
    return MlflowRest(uri) if uri.startswith(("http://", "https://")) else LocalStore(uri)


def describe(source: Source) -> list[dict[str, Any]]:
    out = []
    for name, versions in source.registered_models():
        described = []
        for v in versions:
            metrics, params, tags = source.run_data(v["run_id"]) if v.get("run_id") else ({}, {}, {})
            described.append(
                {
                    **v,
                    "metrics": metrics,
                    "budget": float(params["budget"]) if "budget" in params else None,
                    "training_run": tags.get("botrader.training_run"),
                    "attributions": json.loads(tags.get("botrader.attributions") or "{}"),
                }
            )
        latest = max(described, key=lambda d: int(d["version"]), default=None)
        out.append(
            {
                "name": name,
                "uri": f"models:/{name}/{latest['version']}" if latest else None,
                "versions": described,
            }
        )
    return out
