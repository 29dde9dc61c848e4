"""Where MLflow runs go, decided once per command for `botrader train` and `botrader optimize`:
the URI and the experiment's artifact location in absolute terms, before any Ray worker starts
(workers do not share the driver's working directory)."""

from __future__ import annotations

import os
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
