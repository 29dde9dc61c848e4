"""A finished TrainingRun's results, read back from MLflow over its REST API (no mlflow
package in the operator image): one entry per budget — run id, registered model URI,
validation and test Sharpe, test return — from the runs tagged with the TrainingRun's name."""

from __future__ import annotations

from typing import Any

import httpx

TAG = "botrader.training_run"


class ResultsUnavailable(RuntimeError):
    """MLflow is unreachable, or holds no runs for the TrainingRun (yet)."""


def _values(items: list[dict[str, Any]] | None) -> dict[str, Any]:
    return {i["key"]: i["value"] for i in items or []}


def to_result(run: dict[str, Any]) -> dict[str, Any]:
    data = run.get("data") or {}
    params, metrics, tags = (
        _values(data.get("params")),
        _values(data.get("metrics")),
        _values(data.get("tags")),
    )
    return {
        "budget": float(params["budget"]),
        "runId": run["info"]["run_id"],
        "modelUri": tags.get("botrader.model_uri", f"runs:/{run['info']['run_id']}/model"),
        "valSharpe": metrics.get("best_val_sharpe"),
        "testSharpe": metrics.get("test_sharpe"),
        "testReturn": metrics.get("test_return"),
    }


def fetch_results(
    tracking_uri: str, experiment: str, training_run: str, timeout: float = 10.0
) -> list[dict[str, Any]]:
    """Results sorted by budget; finished runs only (a budget still training has no model)."""
    try:
        with httpx.Client(base_url=tracking_uri.rstrip("/"), timeout=timeout) as http:
            found = http.get(
                "/api/2.0/mlflow/experiments/get-by-name", params={"experiment_name": experiment}
            )
            if found.status_code == 404:
                raise ResultsUnavailable(f"MLflow has no experiment {experiment!r}")
            found.raise_for_status()
            query = {
                "experiment_ids": [found.json()["experiment"]["experiment_id"]],
                "filter": f"tags.`{TAG}` = '{training_run}' and attributes.status = 'FINISHED'",
                "max_results": 1000,
            }
            response = http.post("/api/2.0/mlflow/runs/search", json=query)
            response.raise_for_status()
    except httpx.HTTPError as exc:
        raise ResultsUnavailable(f"MLflow at {tracking_uri} did not answer: {exc}") from exc
    runs = response.json().get("runs") or []
    if not runs:
        raise ResultsUnavailable(
            f"MLflow has no finished runs for TrainingRun {training_run} in {experiment!r}"
        )
    newest: dict[float, dict[str, Any]] = {}  # a retried Job logs a budget twice: the last one counts
    for run in sorted(runs, key=lambda r: r["info"].get("end_time") or 0):
        result = to_result(run)
        newest[result["budget"]] = result
    return [newest[b] for b in sorted(newest)]
