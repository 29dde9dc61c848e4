"""A training run: one PPO agent per budget — Ray tasks in parallel — each tracked in MLflow,
selected on validation, tested once, registered.

Evaluation always goes through the engine (`run_backtest` with the `ppo` strategy), so the
validation and test figures are exactly what `botrader backtest --strategy ppo` reports.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from botrader.core.data.files import read_candles_frame
from botrader.core.engine.backtest import run_backtest
from botrader.core.engine.engine import EngineConfig
from botrader.core.engine.execution import ExecutionConfig
from botrader.core.engine.performance import Performance
from botrader.core.engine.strategies import make_strategy
from botrader.core.training_spec import DEFAULT_EXPERIMENT
from botrader.jobs.rl.data import Splits, make_splits

WARMUP = 500  # candles shown to the streaming features before an evaluation period


@dataclass
class TrainRequest:
    data: Path
    budgets: list[float]
    hyperparameters: Any  # ppo.Hyperparameters
    experiment: str = DEFAULT_EXPERIMENT
    tracking_uri: str | None = None
    ray_address: str | None = None  # None: RAY_ADDRESS or a local Ray; "none": no Ray
    symbol: str = "BTCUSDT"
    interval: str = "1m"
    val_fraction: float = 0.15
    test_fraction: float = 0.15
    run_name: str = ""  # the `run` label of the training metrics (default: the experiment)
    results: list[dict[str, Any]] = field(default_factory=list)


def load_splits(request: TrainRequest) -> tuple[pd.DataFrame, Splits]:
    frame = read_candles_frame(request.data)
    splits = make_splits(frame, val_fraction=request.val_fraction, test_fraction=request.test_fraction)
    request.hyperparameters.validate(len(splits.train))
    return frame, splits


def evaluation_frame(frame: pd.DataFrame, period: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """The period with up to WARMUP candles before it (to warm the streaming features)."""
    first = int(frame.index[frame["open_time"] == period["open_time"].iloc[0]][0])
    lo = max(0, first - WARMUP)
    return frame.iloc[lo : first + len(period)].reset_index(drop=True), first - lo


def backtest_period(
    strategy: Any, frame: pd.DataFrame, period: pd.DataFrame, budget: float, fee: float
) -> Any:
    """The engine's backtest of `period` (features warmed on the candles before it)."""
    from decimal import Decimal

    data, warmup = evaluation_frame(frame, period)
    config = EngineConfig(budget=Decimal(str(budget)), execution=ExecutionConfig(fee_rate=fee))
    return run_backtest(data, strategy, config, warmup=warmup)


def evaluate(
    strategy: Any, frame: pd.DataFrame, period: pd.DataFrame, budget: float, fee: float
) -> Performance:
    return backtest_period(strategy, frame, period, budget, fee).performance


def baselines(
    frame: pd.DataFrame, period: pd.DataFrame, budget: float, fee: float
) -> dict[str, dict[str, Any]]:
    rsi = evaluate(make_strategy("simple_rsi"), frame, period, budget, fee)
    hold = evaluate(BuyAndHold(), frame, period, budget, fee)
    return {"buy_and_hold": _figures(hold), "simple_rsi": _figures(rsi)}


class BuyAndHold:
    """Buys with all cash on the first candle, then holds: the benchmark, through the engine."""

    name = "buy_and_hold"
    needs_account = True  # equity 0 marks the warm-up candles, which must not count

    def __init__(self) -> None:
        self.done = False

    def decide(self, bar: Any, account: Any) -> float | None:
        if self.done or account.equity <= 0:
            return None
        self.done = True
        return 1.0

    def explain(self) -> dict[str, Any]:
        return {}

    def state(self) -> dict[str, Any]:
        return {"done": self.done}

    def load(self, state: dict[str, Any]) -> None:
        self.done = state["done"]


def _figures(p: Performance) -> dict[str, Any]:
    return {
        "sharpe": p.sharpe,
        "return": p.total_return,
        "max_drawdown": p.max_drawdown,
        "trades": p.trades,
        "win_rate": p.win_rate,
    }


Progress = Callable[[dict[str, Any]], None]


def train_budget(request: TrainRequest, budget: float, progress: Progress | None = None) -> dict[str, Any]:
    """Train, validate, test and register the agent for one budget (a Ray task, or inline);
    `progress` receives a small dict after every update (the driver turns it into metrics)."""
    import mlflow
    import torch

    from botrader.jobs.train import ppo
    from botrader.jobs.train.model import ActionPredictor, ModelMeta, PpoStrategy, save_model

    torch.set_num_threads(1)
    frame, splits = load_splits(request)
    args = replace(request.hyperparameters)
    fee = args.fee_rate
    meta = ModelMeta(
        budget,
        fee,
        request.symbol,
        request.interval,
        args.hidden,
        splits.config.obs_dim,
        args.action_deadzone,
    )
    if request.tracking_uri:
        mlflow.set_tracking_uri(request.tracking_uri)
    mlflow.set_experiment(request.experiment)
    best: dict[str, Any] = {"sharpe": float("-inf"), "state": None, "perf": None}

    def validate(agent: Any) -> Performance:
        strategy = PpoStrategy(ActionPredictor.from_agent(agent, splits.config, meta))
        return evaluate(strategy, frame, splits.val.frame, budget, fee)

    tags = {"botrader.training_run": request.run_name} if request.run_name else {}
    with mlflow.start_run(run_name=f"ppo-{request.symbol}-{request.interval}-{budget:g}", tags=tags) as run:
        mlflow.log_params(
            {
                **asdict(args),
                "budget": budget,
                "symbol": request.symbol,
                "interval": request.interval,
                "train_rows": len(splits.train),
                "val_rows": len(splits.val),
                "test_rows": len(splits.test),
            }
        )

        def on_update(stats: Any, agent: Any) -> None:
            metrics = stats.metrics()
            steps = stats.global_step - last_step[0]
            last_step[0] = stats.global_step
            if stats.iteration % args.eval_every == 0 or stats.iteration == args.num_iterations:
                perf = validate(agent)
                score = perf.sharpe if perf.sharpe is not None else float("-inf")
                metrics.update(
                    {
                        "val_sharpe": perf.sharpe or 0.0,
                        "val_return": perf.total_return,
                        "val_max_drawdown": perf.max_drawdown,
                        "val_win_rate": perf.win_rate or 0.0,
                        "val_trades": perf.trades,
                    }
                )
                if best["state"] is None or score > best["sharpe"]:
                    best.update(sharpe=score, state=copy.deepcopy(agent.state_dict()), perf=perf)
            mlflow.log_metrics(metrics, step=stats.global_step)
            if progress:
                progress(
                    {
                        "budget": budget,
                        "steps": steps,
                        "sps": stats.sps,
                        "episode_return": stats.episode_return,
                        "val_sharpe": metrics.get("val_sharpe"),
                    }
                )

        last_step = [0]

        agent = ppo.train(args, splits.train, budget, on_update)
        agent.load_state_dict(best["state"])
        predictor = ActionPredictor.from_agent(agent, splits.config, meta)
        test_run = backtest_period(PpoStrategy(predictor), frame, splits.test.frame, budget, fee)
        test = test_run.performance
        base = baselines(frame, splits.test.frame, budget, fee)
        mlflow.log_metrics(
            {
                "test_sharpe": test.sharpe or 0.0,
                "test_return": test.total_return,
                "test_max_drawdown": test.max_drawdown,
                "test_trades": test.trades,
            }
        )
        with tempfile.TemporaryDirectory() as tmp:
            save_model(Path(tmp) / "model", agent, splits.config, meta)
            _write_report(Path(tmp) / "report", test_run, best["perf"], base)
            mlflow.log_artifacts(str(Path(tmp) / "model"), "model")
            mlflow.log_artifacts(str(Path(tmp) / "report"), "report")
        model_uri = _register(run.info.run_id, f"botrader-ppo-{request.symbol}-{request.interval}-{budget:g}")
        # what a TrainingRun's status reports per budget (the operator reads these back), and
        # what the model looks at on the validation period (the API's /models shows it)
        mlflow.set_tag("botrader.model_uri", model_uri)
        mlflow.log_metric("best_val_sharpe", best["perf"].sharpe or 0.0)
        attributions = predictor.global_attributions(splits.val.features)
        mlflow.set_tag("botrader.attributions", json.dumps(attributions))
        mlflow.log_dict(attributions, "report/attributions.json")
    val = best["perf"]
    if progress:
        progress({"budget": budget, "finished": True})
    return {
        "budget": budget,
        "run_id": run.info.run_id,
        "model_uri": model_uri,
        "val_sharpe": val.sharpe,
        "val_return": val.total_return,
        "test_sharpe": test.sharpe,
        "test_return": test.total_return,
        "test_max_drawdown": test.max_drawdown,
        "test_trades": test.trades,
        "baselines": base,
    }


def _register(run_id: str, name: str) -> str:
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient()
    try:
        client.create_registered_model(name)
    except MlflowException:
        pass  # already registered: add a version
    version = client.create_model_version(name, f"runs:/{run_id}/model", run_id=run_id)
    return f"models:/{name}/{version.version}"


def _write_report(directory: Path, test_run: Any, val: Performance, base: dict[str, Any]) -> None:
    """evaluation.json (validation, test, baselines) and the test period's equity chart."""
    import json

    from botrader.core.engine.report import write_html

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


def prepare_tracking(request: TrainRequest) -> None:
    """Fix the tracking URI and the experiment's artifact location in absolute terms before
    any worker starts: Ray workers do not share the driver's working directory."""
    import mlflow

    request.data = request.data.resolve()
    request.tracking_uri = (
        request.tracking_uri
        or os.environ.get("MLFLOW_TRACKING_URI")
        or f"sqlite:///{Path.cwd() / 'mlflow.db'}"
    )
    mlflow.set_tracking_uri(request.tracking_uri)
    if mlflow.get_experiment_by_name(request.experiment) is None:
        local = request.tracking_uri.startswith(("sqlite:", "file:", "/"))
        location = (Path.cwd() / "mlruns").as_uri() if local else None
        mlflow.create_experiment(request.experiment, artifact_location=location)


def run_training(request: TrainRequest, on_result: Any = None) -> list[dict[str, Any]]:
    """Every budget, as parallel Ray tasks unless `ray_address` is "none"; progress goes to the
    training metrics of this process."""
    from botrader.jobs.train import metrics

    load_splits(request)  # bad data or hyperparameters fail here, before Ray starts
    prepare_tracking(request)
    run = request.run_name or request.experiment
    metrics.declare(run, request.budgets)

    def record(progress: dict[str, Any]) -> None:
        metrics.record(run, progress)

    if request.ray_address == "none":
        results = []
        for budget in request.budgets:
            results.append(train_budget(request, budget, record))
            if on_result:
                on_result(results[-1])
        return results
    return _run_on_ray(request, record, on_result)


def _run_on_ray(request: TrainRequest, record: Progress, on_result: Any) -> list[dict[str, Any]]:
    import ray
    from ray.util.queue import Empty, Queue

    address = request.ray_address or os.environ.get("RAY_ADDRESS")
    ray.init(
        address=address,
        include_dashboard=False,
        log_to_driver=False,
        ignore_reinit_error=True,
        **({} if address else {"num_cpus": max(1, min(len(request.budgets), os.cpu_count() or 1))}),
    )
    try:
        queue = Queue(actor_options={"num_cpus": 0})
        task = ray.remote(num_cpus=1)(_train_budget_reporting)
        pending = {task.remote(request, b, queue): b for b in request.budgets}
        results = []
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
            with contextlib.suppress(Empty):
                while True:
                    record(queue.get_nowait())
            if not done:
                continue
            results.append(ray.get(done[0]))
            pending.pop(done[0])
            if on_result:
                on_result(results[-1])
        with contextlib.suppress(Empty):
            while True:
                record(queue.get_nowait())
        return sorted(results, key=lambda r: r["budget"])
    finally:
        ray.shutdown()


def _train_budget_reporting(request: TrainRequest, budget: float, queue: Any) -> dict[str, Any]:
    """The Ray task: progress goes through the driver's queue."""
    return train_budget(request, budget, queue.put_nowait)
