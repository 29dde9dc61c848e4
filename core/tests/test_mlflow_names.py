"""One vocabulary between MLflow's writers and readers: a run's figures become the same status
fields whether the operator reads them from MLflow or `botrader up` from the job's output."""

from __future__ import annotations

import json

from botrader.core.mlflow_names import Metric, Tag, card_status, result_of_run, search_status, training_result


def test_a_training_run_becomes_its_status_entry() -> None:
    metrics = {Metric.BEST_VAL_SHARPE: 1.2, Metric.TEST_SHARPE: 0.4, Metric.TEST_RETURN: -0.01}
    found = result_of_run("r1", metrics, {"budget": "5000"}, {Tag.MODEL_URI: "models:/m/3"})
    assert found == training_result(5000, "r1", "models:/m/3", 1.2, 0.4, -0.01)
    assert found["modelUri"] == "models:/m/3" and found["valSharpe"] == 1.2
    assert result_of_run("r2", {}, {"budget": "1"}, {})["modelUri"] == "runs:/r2/model"


def test_a_search_reads_the_same_from_mlflow_and_from_its_own_output() -> None:
    best = {"rsi_period": 14}
    tags = {Tag.VERDICT: "do not trade it", Tag.PASSES: "false", Tag.BEST_PARAMS: json.dumps(best)}
    metrics = {Metric.TRIALS_DONE: 40.0, Metric.BEST_OBJECTIVE: 0.7, Metric.PBO: 0.6, Metric.DSR: 0.1}
    from_mlflow = search_status(metrics, tags)
    from_output = card_status("do not trade it", False, best, {"pbo": 0.6, "dsr": 0.1, "best_objective": 0.7})
    assert from_mlflow == {"trialsDone": 40, **from_output}
    assert from_output["bestParams"] == best and from_output["pbo"] == 0.6 and "psr" not in from_output


def test_a_running_search_has_progress_but_no_card() -> None:
    assert search_status({Metric.TRIALS_DONE: 3.0, Metric.BEST_OBJECTIVE: 0.2}, {}) == {
        "trialsDone": 3,
        "bestObjective": 0.2,
    }
