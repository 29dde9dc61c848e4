"""An OptimizationRun in embedded mode (`botrader up -f search.yaml -f bot.yaml`): the command
line the operator's Job runs (`botrader.core.optimization_spec`), as a child process, against
the same local MLflow store as training; a bot whose `strategy.paramsFrom` names the search
then trades its best parameters — only if its card passed its gate, as in a cluster
(`botrader.core.paramsref`)."""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from botrader.core import paramsref
from botrader.core.errors import UserError
from botrader.core.manifests import Strategy, TradingBot
from botrader.core.mlflow_names import card_status
from botrader.core.optimization_spec import optimize_command
from botrader.services.embedded.training import dataset_path, run_step, store_folder, tracking_uri


def run_search(run: dict[str, Any], manifest_dir: Path, db_url: str, console: Any) -> dict[str, Any]:
    """The search, in OptimizationRun status form (phase, verdict, passes, bestParams, …)."""
    name, spec = run["metadata"]["name"], run["spec"]
    data = dataset_path(name, spec, manifest_dir, kind="OptimizationRun")
    uri = tracking_uri(db_url)
    env = {**os.environ, "BOTRADER_DB_URL": db_url, "MLFLOW_TRACKING_URI": uri}
    command = optimize_command(name, spec, ray_address="none", data_path=data, tracking_uri=uri)
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="botrader-search-") as work, console.status("") as status:

        def show(_: str) -> None:
            status.update(
                f"OptimizationRun {name}: {spec.get('trials', 100)} trials ({time.monotonic() - began:.0f} s)"
            )

        try:
            found = json.loads(run_step(command, env, Path(work), store_folder(db_url), show))
        except UserError as exc:
            raise UserError(f"OptimizationRun {name}: {exc}") from None
    card = card_status(found["verdict"], found["passes"], found["best"]["params"], found)
    return {"phase": "Succeeded", **card, "mlflowRunId": found["mlflow_run_id"]}


def with_searched_params(bot: TradingBot, run_name: str, status: dict[str, Any]) -> TradingBot:
    """The bot with the search's best parameters under its own, or why not as one line."""
    resolution = paramsref.resolve(run_name, {"status": status}, bot.namespace)
    if not resolution.ready:
        raise UserError(
            f"TradingBot {bot.name}: {resolution.message}; a bot trades searched parameters only when "
            "the card passes the search's spec.gate (or give spec.strategy.params yourself)"
        )
    spec = paramsref.with_params(bot.spec.model_dump(by_alias=True, exclude_none=True), resolution.params)
    strategy = Strategy.model_validate(spec["strategy"])  # the operator's rule: the manifest's params win
    return bot.model_copy(update={"spec": bot.spec.model_copy(update={"strategy": strategy})})
