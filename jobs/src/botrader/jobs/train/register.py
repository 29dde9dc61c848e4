"""After training: the test split touched once with the chosen checkpoint, the card, the model
and its report logged to MLflow, a registered version aliased @challenger — and what a
TrainingRun's status reports per budget."""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from botrader.core.engine.performance import Performance
from botrader.core.mlflow_names import Metric, Tag
from botrader.jobs.rl.data import Splits
from botrader.jobs.rl.features import PORTFOLIO_NAMES
from botrader.jobs.train.checkpoint import BestCheckpoint
from botrader.jobs.train.evaluate import backtest_period, baselines, figures
from botrader.jobs.train.request import TrainRequest


def walked(request: TrainRequest, budget: float, frame: pd.DataFrame, splits: Splits) -> Any:
    """`--walk-forward K`: the same hyperparameters trained afresh at K origins of everything
    before the test split, each trading the block after it (`research.ppo.ppo_walk_forward`)."""
    if not request.walk_forward:
        return None
    from botrader.jobs.research.ppo import ppo_walk_forward

    rows = int(np.searchsorted(frame["open_time"].to_numpy(), splits.test.frame["open_time"].iloc[0]))
    hp = request.hyperparameters
    return ppo_walk_forward(str(request.data), budget, asdict(hp), request.walk_forward, rows, hp.window_size)


def test_and_register(
    request: TrainRequest,
    budget: float,
    frame: pd.DataFrame,
    splits: Splits,
    predictor: Any,
    best: BestCheckpoint,
    run_id: str,
) -> dict[str, Any]:
    """The test split, touched once with the chosen checkpoint; the model and its report
    logged; a registered version; what a TrainingRun's status reports per budget."""
    import mlflow

    from botrader.core.research.objective import hourly
    from botrader.jobs.train.model import save_model
    from botrader.jobs.train.strategy import Ppo

    config = request.engine_config(budget)
    test_run = backtest_period(Ppo.with_predictor(predictor), frame, splits.test.frame, config)
    test, val = test_run.performance, best.performance
    assert val is not None
    card = best.card(hourly(test_run.times, test_run.equity, budget), walked(request, budget, frame, splits))
    refs = tuple(dict.fromkeys(request.baselines + config.instrument.baselines))  # + the market's own
    base = baselines(frame, splits.test.frame, config, refs)
    mlflow.log_metrics(
        {
            Metric.TEST_RETURN: test.total_return,
            "test_max_drawdown": test.max_drawdown,
            "test_trades": test.trades,
            "best_val_score": best.score if best.score > float("-inf") else 0.0,
            **({Metric.TEST_SHARPE: test.sharpe} if test.sharpe is not None else {}),
            **({Metric.BEST_VAL_SHARPE: val.sharpe} if val.sharpe is not None else {}),
            **{
                k: v
                for k, v in ((Metric.PBO, card.pbo), (Metric.DSR, card.dsr), (Metric.PSR, card.psr))
                if v is not None
            },
        }
    )
    mlflow.log_dict(card.to_dict(), "card.json")
    mlflow.set_tags({Tag.VERDICT: card.verdict[:500], Tag.PASSES: str(card.passes).lower()})
    with tempfile.TemporaryDirectory() as tmp:
        save_model(Path(tmp) / "model", predictor.agent, splits.config, predictor.meta)
        write_report(Path(tmp) / "report", test_run, val, base)
        mlflow.log_artifacts(str(Path(tmp) / "model"), "model")
        mlflow.log_artifacts(str(Path(tmp) / "report"), "report")
    model_uri = register_version(run_id, f"botrader-ppo-{request.symbol}-{request.interval}-{budget:g}", card)
    # what a TrainingRun's status reports per budget (the operator reads these back), and
    # what the model looks at on the validation period (the API's /models shows it)
    mlflow.set_tag(Tag.MODEL_URI, model_uri)
    attributions = predictor.global_attributions(splits.val.features)
    mlflow.set_tag(Tag.ATTRIBUTIONS, json.dumps(attributions))
    features = [*splits.config.names, *PORTFOLIO_NAMES]
    card_tags = {"features": features, "feature_version": splits.config.version, **predictor.agent.describe()}
    mlflow.set_tag(Tag.ARCHITECTURE, json.dumps(card_tags))
    versus = {"ppo (validation)": figures(val), "ppo (test)": figures(test), **base}
    mlflow.set_tag(Tag.BASELINES, json.dumps(versus))  # test period, same engine and costs
    mlflow.log_dict(attributions, "report/attributions.json")
    return {
        "budget": budget,
        "run_id": run_id,
        "model_uri": model_uri,
        "val_sharpe": val.sharpe,
        "val_score": best.score if best.score > float("-inf") else None,
        "val_return": val.total_return,
        "test_sharpe": test.sharpe,
        "test_return": test.total_return,
        "test_max_drawdown": test.max_drawdown,
        "test_trades": test.trades,
        "baselines": base,
        "verdict": card.verdict,
        "passes": card.passes,
    }


def register_version(run_id: str, name: str, card: Any) -> str:
    """A new version, aliased @challenger, its card's verdict on it; `botrader promote`
    moves @champion (botrader.jobs.promote)."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from botrader.jobs.promote import CHALLENGER, tag_card

    client = MlflowClient()
    try:
        client.create_registered_model(name)
    except MlflowException:
        pass  # already registered: add a version
    version = client.create_model_version(name, f"runs:/{run_id}/model", run_id=run_id)
    tag_card(client, name, version.version, card.to_dict())
    client.set_registered_model_alias(name, CHALLENGER, version.version)
    return f"models:/{name}/{version.version}"


def write_report(directory: Path, test_run: Any, val: Performance, base: dict[str, Any]) -> None:
    """evaluation.json (validation, test, baselines) and the test period's equity chart."""
    from botrader.core.backtesting.html_report import write_html

    directory.mkdir(parents=True)
    test = test_run.performance
    report = {"validation": val.to_dict(), "test": test.to_dict(), "test_baselines": base}
    (directory / "evaluation.json").write_text(json.dumps(report, indent=2))
    write_html(
        directory / "test_equity.html",
        test_run.times,
        test_run.equity,
        test_run.fill_rows(),
        "PPO agent on the test split",
        test.to_dict(),
    )
