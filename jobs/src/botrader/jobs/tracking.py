"""Where MLflow runs go, decided once per command for `botrader train` and `botrader optimize`:
the URI and the experiment's artifact location in absolute terms, before any Ray worker starts
(workers do not share the driver's working directory)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path


def resolve_uri(uri: str | None) -> str:
    """The option, else $MLFLOW_TRACKING_URI, else ./mlflow.db."""
    return uri or os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path.cwd() / 'mlflow.db'}"


def ensure_experiment(uri: str, experiment: str) -> str:
    """The experiment's id, creating it (artifacts under ./mlruns for a local store). Through a
    client: `mlflow.set_tracking_uri` would also set $MLFLOW_TRACKING_URI for every process
    started after it."""
    import logging

    from mlflow import MlflowClient

    logging.getLogger("mlflow.store.db.utils").setLevel(logging.WARNING)  # "Creating tables…"
    client = MlflowClient(tracking_uri=uri)
    found = client.get_experiment_by_name(experiment)
    if found is not None:
        return str(found.experiment_id)
    local = uri.startswith(("sqlite:", "file:", "/"))
    location = (Path.cwd() / "mlruns").as_uri() if local else None
    return str(client.create_experiment(experiment, artifact_location=location))


@contextlib.contextmanager
def tracking_at(uri: str | None) -> Iterator[None]:
    """mlflow's fluent API pointed at `uri` for the block only: `mlflow.set_tracking_uri` also
    sets $MLFLOW_TRACKING_URI, which everything this process starts later would inherit (a
    training inside `botrader up`, a test run's next subprocess)."""
    import mlflow

    env, before = os.environ.get("MLFLOW_TRACKING_URI"), mlflow.get_tracking_uri()
    if uri:
        mlflow.set_tracking_uri(uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(before)
        if env is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = env
