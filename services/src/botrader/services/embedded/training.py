"""A TrainingRun in embedded mode (`botrader up -f run.yaml -f bot.yaml`): the same command
lines the operator's Job runs (`botrader.core.training_spec`), as child processes of this one,
with a local Ray and a local MLflow store; a PPO bot whose modelRef names the run then trades
with the model trained for its budget (`botrader.core.modelref`, as the operator resolves it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from botrader.core import modelref
from botrader.core.crds import validate
from botrader.core.errors import UserError
from botrader.core.manifests import TradingBot
from botrader.core.mlflow_names import training_result
from botrader.core.training_spec import train_command


def parse_training_run(doc: dict[str, Any], source: str) -> dict[str, Any]:
    """The TrainingRun or OptimizationRun with the CRD's defaults, or the API server's verdict
    as a UserError."""
    try:
        return validate(doc)
    except UserError as exc:
        raise UserError(f"{source}: {exc}") from None


def store_folder(db_url: str) -> Path:
    """Where embedded mode keeps MLflow's runs and artifacts: next to a SQLite database."""
    if db_url.startswith("sqlite:///"):
        return Path(db_url.removeprefix("sqlite:///")).resolve().parent
    return Path.cwd()


def tracking_uri(db_url: str) -> str:
    """$MLFLOW_TRACKING_URI, else an MLflow store next to the embedded database."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{store_folder(db_url) / 'mlflow.db'}"


def dataset_path(
    name: str, spec: dict[str, Any], manifest_dir: Path, kind: str = "TrainingRun"
) -> str | None:
    """spec.dataset.path as an absolute path (relative: the working directory, then the
    manifest's folder), or None when the spec names a period instead."""
    given = spec["dataset"].get("path")
    if given is None:
        return None
    path = Path(given)
    if not path.is_absolute() and not path.exists():
        path = manifest_dir / path
    if not path.is_file():
        raise UserError(f"{kind} {name}: spec.dataset.path {given!r} not found")
    return str(path.resolve())


def run_step(step: list[str], env: dict[str, str], work: Path, cwd: Path, show: Any) -> str:
    """One `botrader …` command line as a child process; its stdout, or its last error line."""
    out, err = work / "stdout.log", work / "stderr.log"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "botrader.core", *step[1:]], stdout=stdout, stderr=stderr, env=env, cwd=cwd
        )
        while proc.poll() is None:
            show(step[1])
            time.sleep(0.5)
    if proc.returncode != 0:
        tail = err.read_text(errors="replace").strip().splitlines()[-1:] or ["(no output)"]
        raise UserError(f"`botrader {step[1]}` failed: {tail[0]}")
    return out.read_text()


def run_training(run: dict[str, Any], manifest_dir: Path, db_url: str, console: Any) -> list[dict[str, Any]]:
    """Train every budget; results in TrainingRun status form (budget, runId, modelUri, …)."""
    name, spec = run["metadata"]["name"], run["spec"]
    data = dataset_path(name, spec, manifest_dir)
    uri = tracking_uri(db_url)
    env = {**os.environ, "BOTRADER_DB_URL": db_url, "MLFLOW_TRACKING_URI": uri}
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="botrader-train-") as work, console.status("") as status:

        def show(command: str) -> None:
            status.update(f"TrainingRun {name}: {command} ({time.monotonic() - began:.0f} s)")

        steps = train_command(name, spec, ray_address=None, data_path=data, workdir=work, tracking_uri=uri)
        try:
            # a local store's artifacts (mlruns/) land in the children's working directory
            outputs = [run_step(step, env, Path(work), store_folder(db_url), show) for step in steps]
        except UserError as exc:
            raise UserError(f"TrainingRun {name}: {exc}") from None
    return [
        training_result(
            r["budget"],
            r["run_id"],
            r["model_uri"],
            r.get("val_sharpe"),
            r.get("test_sharpe"),
            r.get("test_return"),
        )
        for r in json.loads(outputs[-1])["results"]
    ]


def with_trained_model(bot: TradingBot, run_name: str, results: list[dict[str, Any]]) -> TradingBot:
    """The bot trading the run's model for its budget (or why it cannot, as one line)."""
    spec = bot.spec.model_dump(by_alias=True, exclude_none=True)
    resolution = modelref.resolve(
        spec, run_name, {"status": {"phase": "Succeeded", "results": results}}, bot.namespace
    )
    if not resolution.ready or resolution.model_uri is None:
        raise UserError(f"TradingBot {bot.name}: {resolution.message}")
    strategy = bot.spec.strategy.model_copy(update={"model_ref": resolution.model_uri})
    return bot.model_copy(update={"spec": bot.spec.model_copy(update={"strategy": strategy})})
