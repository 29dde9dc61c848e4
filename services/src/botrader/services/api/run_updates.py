"""Training progress for `/ws`: an MLflow experiment's newest runs — a training's steps and
validation Sharpe as it logs them, a search's trials done, then status and verdict.

MLflow tells nobody when a run logs, so this side polls: once per `POLL` seconds per watched
experiment for the whole process, however many clients watch it, and only while one does.
Clients get only the runs that changed since the last poll."""

from __future__ import annotations

import logging
from typing import Any

from botrader.services.api.mlflow_models import TrackingUnreachable, describe_runs, from_tracking

log = logging.getLogger(__name__)
POLL = 2.0  # seconds between reads of a watched experiment
KIND = "runs"


def runs_topic(experiment: str) -> str:
    return f"{KIND}:{experiment}"


def read(experiment: str, uri: str | None) -> dict[str, dict[str, Any]]:
    """The experiment's runs by id, newest first (empty before it exists), from the store at
    `uri`. LookupError when none is configured or it cannot be read: the subscriber is told why."""
    if not uri:
        raise LookupError("no training runs to follow: MLFLOW_TRACKING_URI is not set for the API")
    try:
        found = from_tracking(uri, lambda source: describe_runs(source, experiment) or [])
    except TrackingUnreachable as exc:
        raise LookupError(str(exc)) from None
    if found is None:
        raise LookupError("this API cannot read a local MLflow store: the mlflow package is not installed")
    runs = found[1]
    return {run["run_id"]: run for run in runs}


def changed(
    experiment: str, last: dict[str, dict[str, Any]], uri: str | None
) -> tuple[dict[str, dict[str, Any]], list]:
    """The runs now, and those that differ from `last` (new, progressed, finished). A failed
    read changes nothing: the next poll tries again."""
    try:
        now = read(experiment, uri)
    except LookupError as exc:
        log.warning("run updates for %s: %s", experiment, exc.args[0])
        return last, []
    return now, [run for run_id, run in now.items() if last.get(run_id) != run]
