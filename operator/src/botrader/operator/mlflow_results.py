"""Results read back from MLflow's REST API (no mlflow package in the operator image): a
finished TrainingRun's, one entry per budget — run id, registered model URI, validation and
test Sharpe, test return — from the runs tagged with its name; and an OptimizationRun's
progress and card, from the search's parent run."""

from __future__ import annotations

from typing import Any

from botrader.core.mlflow_names import Tag, result_of_run, search_status
from botrader.core.mlflow_rest import MlflowRest, MlflowUnavailable, run_fields

TAG = Tag.TRAINING_RUN
SEARCH_TAG = Tag.OPTIMIZATION_RUN  # set by `botrader optimize --run-name`


class ResultsUnavailable(RuntimeError):
    """MLflow is unreachable, or holds no runs for the TrainingRun (yet)."""


def to_result(run: dict[str, Any]) -> dict[str, Any]:
    return result_of_run(run["info"]["run_id"], *run_fields(run))


def fetch_results(
    tracking_uri: str, experiment: str, training_run: str, timeout: float = 10.0
) -> list[dict[str, Any]]:
    """Results sorted by budget; finished runs only (a budget still training has no model)."""
    try:
        with MlflowRest(tracking_uri, timeout) as mlflow:
            experiment_id = mlflow.experiment_id(experiment)
            if experiment_id is None:
                raise ResultsUnavailable(f"MLflow has no experiment {experiment!r}")
            runs = mlflow.search_runs(
                [experiment_id], f"tags.`{TAG}` = '{training_run}' and attributes.status = 'FINISHED'"
            )
    except MlflowUnavailable as exc:
        raise ResultsUnavailable(str(exc)) from exc
    if not runs:
        raise ResultsUnavailable(
            f"MLflow has no finished runs for TrainingRun {training_run} in {experiment!r}"
        )
    newest: dict[float, dict[str, Any]] = {}  # a retried Job logs a budget twice: the last one counts
    for run in sorted(runs, key=lambda r: r["info"].get("end_time") or 0):
        result = to_result(run)
        newest[result["budget"]] = result
    return [newest[b] for b in sorted(newest)]


def fetch_search(tracking_uri: str, experiment: str, name: str, timeout: float = 10.0) -> dict[str, Any]:
    """The newest search run for the OptimizationRun: progress while it runs, the card once
    it has finished (status fields, camelCase)."""
    try:
        with MlflowRest(tracking_uri, timeout) as mlflow:
            experiment_id = mlflow.experiment_id(experiment)
            if experiment_id is None:
                raise ResultsUnavailable(f"MLflow has no experiment {experiment!r}")
            runs = mlflow.search_runs([experiment_id], f"tags.`{SEARCH_TAG}` = '{name}'")
    except MlflowUnavailable as exc:
        raise ResultsUnavailable(str(exc)) from exc
    if not runs:
        raise ResultsUnavailable(f"MLflow has no search run for OptimizationRun {name} in {experiment!r}")
    run = max(runs, key=lambda r: r["info"].get("start_time") or 0)  # a retried Job searched again
    metrics, _, tags = run_fields(run)
    return {
        "mlflowRunId": run["info"]["run_id"],
        "finished": run["info"]["status"] == "FINISHED",
        **search_status(metrics, tags),
    }
