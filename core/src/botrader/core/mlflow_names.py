"""What Botrader writes into MLflow and reads back, in one place: its tag and metric names, and
how a run's figures become a TrainingRun's or an OptimizationRun's status.

Writers (the training job, the search recorder, `botrader promote`) and readers (the operator,
the API, `botrader up`) run in different processes and distributions; a name spelt twice is a
name that drifts. They all import this module.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

PREFIX = "botrader."


class Tag:
    """Run tags (model-version tags use the same names under `PREFIX`)."""

    KIND = "botrader.kind"  # Kind.*
    TRAINING_RUN = "botrader.training_run"  # the TrainingRun a training run belongs to
    OPTIMIZATION_RUN = "botrader.optimization_run"  # the OptimizationRun (`optimize --run-name`)
    EXPERIMENT = "botrader.experiment"  # what a dashboard follows over /ws
    STRATEGY = "botrader.strategy"
    VERDICT = "botrader.verdict"  # the honesty card's one line
    PASSES = "botrader.passes"  # "true" | "false"
    BEST_PARAMS = "botrader.best_params"  # JSON
    MODEL_URI = "botrader.model_uri"
    ATTRIBUTIONS = "botrader.attributions"  # JSON
    ARCHITECTURE = "botrader.architecture"  # JSON
    BASELINES = "botrader.baselines"  # JSON: the test period's baselines, same engine and costs


class Kind:
    """Values of `Tag.KIND`."""

    TRAINING = "training"
    OPTIMIZATION = "optimization"
    TRIAL = "optimization-trial"


class Metric:
    BEST_VAL_SHARPE = "best_val_sharpe"
    TEST_SHARPE = "test_sharpe"
    TEST_RETURN = "test_return"
    TRIALS_DONE = "trials_done"
    BEST_OBJECTIVE = "best_objective"
    PBO = "pbo"
    DSR = "dsr"
    PSR = "psr"


def training_result(
    budget: float,
    run_id: str,
    model_uri: str,
    val_sharpe: float | None,
    test_sharpe: float | None,
    test_return: float | None,
) -> dict[str, Any]:
    """One budget's entry of a TrainingRun's `status.results`."""
    return {
        "budget": float(budget),
        "runId": run_id,
        "modelUri": model_uri,
        "valSharpe": val_sharpe,
        "testSharpe": test_sharpe,
        "testReturn": test_return,
    }


def result_of_run(
    run_id: str, metrics: Mapping[str, float], params: Mapping[str, str], tags: Mapping[str, str]
) -> dict[str, Any]:
    """A finished training run as logged (metrics, params, tags) → its status entry."""
    return training_result(
        float(params["budget"]),
        run_id,
        tags.get(Tag.MODEL_URI, f"runs:/{run_id}/model"),
        metrics.get(Metric.BEST_VAL_SHARPE),
        metrics.get(Metric.TEST_SHARPE),
        metrics.get(Metric.TEST_RETURN),
    )


SEARCH_METRICS = {
    Metric.BEST_OBJECTIVE: "bestObjective",
    Metric.PBO: "pbo",
    Metric.DSR: "dsr",
    Metric.PSR: "psr",
}


def card_status(
    verdict: str, passes: bool, best_params: dict[str, Any] | None, figures: Mapping[str, Any]
) -> dict[str, Any]:
    """A finished search's card → the OptimizationRun's status fields (camelCase), from
    MLflow (the operator) or from the search's own output (`botrader up`)."""
    found = {
        field: figures[metric] for metric, field in SEARCH_METRICS.items() if figures.get(metric) is not None
    }
    found |= {"verdict": verdict, "passes": passes}
    return found if best_params is None else {**found, "bestParams": best_params}


def search_status(metrics: Mapping[str, float], tags: Mapping[str, str]) -> dict[str, Any]:
    """A search's parent run → the OptimizationRun's status fields it fills (camelCase):
    progress while it runs, the card once it has one."""
    found: dict[str, Any] = {}
    if Metric.TRIALS_DONE in metrics:
        found["trialsDone"] = int(metrics[Metric.TRIALS_DONE])
    found |= {field: metrics[metric] for metric, field in SEARCH_METRICS.items() if metric in metrics}
    best = json.loads(tags[Tag.BEST_PARAMS]) if Tag.BEST_PARAMS in tags else None
    if Tag.VERDICT in tags:
        found |= card_status(tags[Tag.VERDICT], tags.get(Tag.PASSES) == "true", best, metrics)
    elif best is not None:
        found["bestParams"] = best
    return found
