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
from botrader.core.training_spec import train_command


def parse_training_run(doc: dict[str, Any], source: str) -> dict[str, Any]:
    """The TrainingRun with the CRD's defaults, or the API server's verdict as a UserError."""
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


def run_training(run: dict[str, Any], manifest_dir: Path, db_url: str, console: Any) -> list[dict[str, Any]]:
    """Train every budget; results in TrainingRun status form (budget, runId, modelUri, …)."""
    name, spec = run["metadata"]["name"], run["spec"]
    data = spec["dataset"].get("path")
    if data is not None and not Path(data).is_absolute() and not Path(data).exists():
        data = str(manifest_dir / data)
    if data is not None and not Path(data).is_file():
        raise UserError(f"TrainingRun {name}: spec.dataset.path {spec['dataset']['path']!r} not found")
    data = str(Path(data).resolve()) if data is not None else None  # the children run elsewhere
    env = {**os.environ, "BOTRADER_DB_URL": db_url, "MLFLOW_TRACKING_URI": tracking_uri(db_url)}
    with tempfile.TemporaryDirectory(prefix="botrader-train-") as work:
        steps = train_command(
            name,
            spec,
            ray_address=None,
            data_path=data,
            workdir=work,
            tracking_uri=env["MLFLOW_TRACKING_URI"],
        )
        out = ""
        with console.status(f"TrainingRun {name}: {len(spec['budgets'])} agent(s)…") as status:
            began = time.monotonic()
            for step in steps:
                log = Path(work) / "step.log"
                with log.open("wb") as err:
                    proc = subprocess.Popen(
                        [sys.executable, "-m", "botrader.core", *step[1:]],
                        stdout=subprocess.PIPE,
                        stderr=err,
                        env=env,
                        cwd=store_folder(db_url),  # a local store's artifacts (mlruns/) go there too
                    )
                    while proc.poll() is None:
                        status.update(f"TrainingRun {name}: {step[1]} ({time.monotonic() - began:.0f} s)")
                        time.sleep(0.5)
                    out = proc.stdout.read().decode() if proc.stdout else ""
                if proc.returncode != 0:
                    tail = log.read_text(errors="replace").strip().splitlines()[-1:] or ["(no output)"]
                    raise UserError(f"TrainingRun {name}: `botrader {step[1]}` failed: {tail[0]}")
    results = json.loads(out)["results"]
    return [
        {
            "budget": r["budget"],
            "runId": r["run_id"],
            "modelUri": r["model_uri"],
            "valSharpe": r.get("val_sharpe"),
            "testSharpe": r.get("test_sharpe"),
            "testReturn": r.get("test_return"),
        }
        for r in results
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
