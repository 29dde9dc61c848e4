"""A search in MLflow: one parent run per search (its settings, the card's figures, card.json and
best_params.json), one child run per trial (its parameters, objective and fold scores), logged
as trials finish so the MLflow UI shows a search in progress."""

from __future__ import annotations

import json
import math
import os
import time
from typing import Any

from botrader.core.mlflow_names import Kind, Metric, Tag
from botrader.core.research.card import Card
from botrader.core.research.objective import Trial
from botrader.jobs.tracking import ensure_experiment

MAX_PARAM = 500  # MLflow's limit on a parameter value's length


def _finite(metrics: dict[str, float | None]) -> dict[str, float]:
    return {k: float(v) for k, v in metrics.items() if v is not None and math.isfinite(v)}


class SearchRecord:
    """The parent run, open while the search runs."""

    def __init__(
        self,
        uri: str,
        experiment: str,
        name: str,
        settings: dict[str, Any],
        optimization_run: str | None = None,
    ) -> None:
        from mlflow import MlflowClient

        os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")  # one link per trial
        self.experiment_id = ensure_experiment(uri, experiment)
        self.client = MlflowClient(tracking_uri=uri)
        tags = {Tag.KIND: Kind.OPTIMIZATION, Tag.STRATEGY: str(settings["strategy"])}
        if optimization_run:
            tags[Tag.OPTIMIZATION_RUN] = optimization_run  # how the operator finds it
        self.run_id = self.client.create_run(self.experiment_id, run_name=name, tags=tags).info.run_id
        self._log(self.run_id, settings, {})
        self.count, self.best = 0, -math.inf

    def _log(
        self, run_id: str, params: dict[str, Any], metrics: dict[str, float | None], step: int = 0
    ) -> None:
        from mlflow.entities import Metric, Param

        stamp = _now_ms()
        self.client.log_batch(
            run_id,
            metrics=[Metric(k, v, stamp, step) for k, v in _finite(metrics).items()],
            params=[Param(k, str(v)[:MAX_PARAM]) for k, v in params.items()],
        )

    def trial(self, trial: Trial) -> None:
        self.count += 1
        tags = {"mlflow.parentRunId": self.run_id, Tag.KIND: Kind.TRIAL}
        child = self.client.create_run(self.experiment_id, run_name=f"trial-{self.count}", tags=tags)
        folds = {f"fold_{i}": s for i, s in enumerate(trial.folds)}
        self._log(child.info.run_id, trial.params, {"objective": trial.objective, **folds, **trial.metrics})
        self.client.set_terminated(child.info.run_id)
        if trial.objective is not None:
            self.best = max(self.best, trial.objective)
        progress = {Metric.TRIALS_DONE: float(self.count), Metric.BEST_OBJECTIVE: self.best}
        self._log(self.run_id, {}, progress, self.count)  # the operator's progress reads these

    def finish(self, card: Card, best: dict[str, Any], page: str) -> None:
        figures = {
            Metric.PBO: card.pbo,
            Metric.DSR: card.dsr,
            Metric.PSR: card.psr,
            "is_sharpe": card.is_sharpe,
            "oos_sharpe": card.oos_sharpe,
            "oos_return": card.oos_return,
            "trials": float(card.trials),
        }
        self._log(self.run_id, {}, figures)
        self.client.set_tag(self.run_id, Tag.VERDICT, card.verdict[:MAX_PARAM])
        self.client.set_tag(self.run_id, Tag.PASSES, str(card.passes).lower())
        self.client.set_tag(self.run_id, Tag.BEST_PARAMS, json.dumps(best)[:5000])
        self.client.log_dict(self.run_id, card.to_dict(), "card.json")
        self.client.log_text(self.run_id, json.dumps(best, indent=1), "best_params.json")
        self.client.log_text(self.run_id, page, "report.html")
        self.client.set_terminated(self.run_id)

    def fail(self) -> None:
        self.client.set_terminated(self.run_id, status="FAILED")


def _now_ms() -> int:
    return int(time.time() * 1000)
