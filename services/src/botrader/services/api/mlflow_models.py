"""Registered models for `/models`: versions, their runs' metrics and what each model looks at
(the feature attributions training logged as the run's `botrader.attributions` tag).

A tracking server is read over REST (the services image has no mlflow package); a local store
(`sqlite:`/`file:` URIs — embedded mode) through the mlflow package, which is installed there."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from botrader.core.mlflow_names import Kind, Metric, Tag
from botrader.core.mlflow_rest import MlflowRest


class Source(Protocol):
    def registered_models(self, max_results: int = 100) -> list[tuple[str, list[dict[str, Any]]]]: ...

    def run_data(self, run_id: str) -> tuple[dict[str, float], dict[str, str], dict[str, str]]: ...

    def experiment_id(self, name: str) -> str | None: ...

    def search_runs(
        self, experiment_ids: list[str], filter_string: str, max_results: int = 1000
    ) -> list[dict]: ...

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

    def experiment_id(self, name: str) -> str | None:
        found = self.client.get_experiment_by_name(name)
        return None if found is None else str(found.experiment_id)

    def search_runs(
        self, experiment_ids: list[str], filter_string: str, max_results: int = 1000
    ) -> list[dict]:
        """Runs in the REST API's shape (info, data.metrics/params/tags as key-value lists)."""
        runs = self.client.search_runs(experiment_ids, filter_string, max_results=max_results)
        return [
            {
                "info": {
                    "run_id": r.info.run_id,
                    "run_name": r.info.run_name,
                    "status": r.info.status,
                    "start_time": r.info.start_time,
                    "end_time": r.info.end_time,
                },
                "data": {
                    key: [{"key": k, "value": v} for k, v in getattr(r.data, key).items()]
                    for key in ("metrics", "params", "tags")
                },
            }
            for r in runs
        ]

    def close(self) -> None:
        pass


def source_for(uri: str) -> Source:
    return MlflowRest(uri) if uri.startswith(("http://", "https://")) else LocalStore(uri)


T = TypeVar("T")


class TrackingUnreachable(RuntimeError):
    """The configured store did not answer; the message names it (for a 503 or a client)."""


def from_tracking(uri: str | None, read: Callable[[Source], T]) -> tuple[str, T] | None:
    """`read` over the store `uri` names (the API's MLFLOW_TRACKING_URI), with its URI. None: no
    store this API can read (no URI, or a local store without the mlflow package, as in the
    services image)."""
    if not uri:
        return None
    try:
        source = source_for(uri)
        try:
            return uri, read(source)
        finally:
            source.close()
    except ImportError:
        return None
    except Exception as exc:
        raise TrackingUnreachable(
            f"MLflow at {uri} is unreachable: {str(exc).splitlines()[0][:160]}"
        ) from None


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
                    "training_run": tags.get(Tag.TRAINING_RUN),
                    "experiment": tags.get(Tag.EXPERIMENT),
                    "attributions": json.loads(tags.get(Tag.ATTRIBUTIONS) or "{}"),
                    # the model card: layers, activation, parameters, features and their version;
                    # validation and test figures beside buy-and-hold and the rule baselines
                    "architecture": json.loads(tags.get(Tag.ARCHITECTURE) or "{}"),
                    "baselines": json.loads(tags.get(Tag.BASELINES) or "{}"),
                    "verdict": tags.get(Tag.VERDICT),
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


def describe_searches(source: Source, experiment: str) -> list[dict[str, Any]]:
    """The experiment's searches, newest first, with the card figures their runs carry."""
    from botrader.core.mlflow_rest import run_fields

    experiment_id = source.experiment_id(experiment)
    if experiment_id is None:
        return []
    runs = source.search_runs([experiment_id], f"tags.`{Tag.KIND}` = '{Kind.OPTIMIZATION}'", max_results=200)
    out = []
    for run in sorted(runs, key=lambda r: r["info"].get("start_time") or 0, reverse=True):
        metrics, params, tags = run_fields(run)
        info = run["info"]
        passes = tags.get(Tag.PASSES)
        out.append(
            {
                "run_id": info["run_id"],
                "name": info.get("run_name"),
                "optimization_run": tags.get(Tag.OPTIMIZATION_RUN),
                "strategy": tags.get(Tag.STRATEGY),
                "status": info.get("status", "UNKNOWN"),
                "started": int(info["start_time"]) if info.get("start_time") else None,
                "trials": int(params["trials"]) if "trials" in params else None,
                "trials_done": int(metrics[Metric.TRIALS_DONE]) if Metric.TRIALS_DONE in metrics else None,
                "best_objective": metrics.get(Metric.BEST_OBJECTIVE),
                "best_params": json.loads(tags.get(Tag.BEST_PARAMS) or "{}"),
                "pbo": metrics.get(Metric.PBO),
                "dsr": metrics.get(Metric.DSR),
                "psr": metrics.get(Metric.PSR),
                "passes": None if passes is None else passes == "true",
                "verdict": tags.get(Tag.VERDICT),
            }
        )
    return out


def describe_runs(source: Source, experiment: str, limit: int = 20) -> list[dict[str, Any]] | None:
    """The experiment's newest runs as they stand — training runs' latest metrics (steps,
    validation Sharpe), searches' trials done — for `/ws`'s run updates. None: no such
    experiment yet (a training that has not started)."""
    from botrader.core.mlflow_rest import run_fields

    experiment_id = source.experiment_id(experiment)
    if experiment_id is None:
        return None
    runs = source.search_runs([experiment_id], "", max_results=limit * 10)  # newest first
    out: list[dict[str, Any]] = []
    for run in sorted(runs, key=lambda r: r["info"].get("start_time") or 0, reverse=True):
        metrics, _, tags = run_fields(run)
        info = run["info"]
        if tags.get(Tag.KIND) == Kind.TRIAL or len(out) == limit:
            continue  # a search's trials show as its trials_done
        out.append(
            {
                "run_id": info["run_id"],
                "name": info.get("run_name"),
                "kind": tags.get(Tag.KIND, Kind.TRAINING),
                "resource": tags.get(Tag.TRAINING_RUN) or tags.get(Tag.OPTIMIZATION_RUN),
                "status": info.get("status", "UNKNOWN"),
                "started": int(info["start_time"]) if info.get("start_time") else None,
                "ended": int(info["end_time"]) if info.get("end_time") else None,
                "metrics": metrics,
                "verdict": tags.get(Tag.VERDICT),
            }
        )
    return out
