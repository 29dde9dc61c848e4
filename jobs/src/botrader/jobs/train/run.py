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

import numpy as np
import pandas as pd

from botrader.core.binance.filters import rules_for
from botrader.core.data.files import read_candles_frame
from botrader.core.engine.backtest import run_backtest
from botrader.core.engine.engine import EngineConfig
from botrader.core.engine.execution import ExecutionConfig
from botrader.core.engine.performance import Performance, hourly_sharpe
from botrader.core.engine.units import MarketRules
from botrader.core.strategy import Strategy
from botrader.core.strategy.registry import make
from botrader.core.training_spec import DEFAULT_EXPERIMENT
from botrader.jobs.rl.data import Splits, make_splits
from botrader.jobs.rl.features import PORTFOLIO_NAMES


@dataclass
class TrainRequest:
    data: Path
    budgets: list[float]
    hyperparameters: Any  # ppo.Hyperparameters
    experiment: str = DEFAULT_EXPERIMENT
    tracking_uri: str | None = None
    ray_address: str | None = None  # None: RAY_ADDRESS or a local Ray; "none": no Ray
    symbol: str | None = None  # None: the dataset's own (or a Binance dump's name), else BTCUSDT
    interval: str | None = None
    val_fraction: float = 0.15
    test_fraction: float = 0.15
    run_name: str = ""  # the `run` label of the training metrics (default: the experiment)
    baselines: tuple[str, ...] = ("simple_rsi",)  # strategies (any reference) beside buy-and-hold
    walk_forward: int = 0  # folds the hyperparameters are retrained over before the test split
    results: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        from botrader.jobs.dataset import market_of

        symbol, interval = market_of(Path(self.data))
        self.symbol = (self.symbol or symbol or "BTCUSDT").upper()
        self.interval = self.interval or interval or "1m"

    @property
    def market(self) -> MarketRules:
        return rules_for(str(self.symbol))

    def engine_config(self, budget: float) -> EngineConfig:
        """The evaluation engine: the symbol's rules, the training fee, no breakers."""
        from decimal import Decimal

        execution = ExecutionConfig(fee_rate=self.hyperparameters.fee_rate)
        return EngineConfig(budget=Decimal(str(budget)), market=self.market, execution=execution)


def load_splits(request: TrainRequest) -> tuple[pd.DataFrame, Splits]:
    for ref in request.baselines:
        make(ref)  # a bad baseline fails here, before any work
    frame = read_candles_frame(request.data)
    splits = make_splits(frame, val_fraction=request.val_fraction, test_fraction=request.test_fraction)
    request.hyperparameters.validate(len(splits.train))
    return frame, splits


def evaluation_frame(frame: pd.DataFrame, period: pd.DataFrame, warmup: int) -> tuple[pd.DataFrame, int]:
    """The period with up to `warmup` candles before it (the strategy's own warm-up length)."""
    first = int(frame.index[frame["open_time"] == period["open_time"].iloc[0]][0])
    lo = max(0, first - warmup)
    return frame.iloc[lo : first + len(period)].reset_index(drop=True), first - lo


def backtest_period(strategy: Any, frame: pd.DataFrame, period: pd.DataFrame, config: EngineConfig) -> Any:
    """The engine's backtest of `period`, the strategy warmed on the candles before it."""
    data, warmup = evaluation_frame(frame, period, strategy.warmup_length())
    return run_backtest(data, strategy, config, warmup=warmup)


def evaluate(strategy: Any, frame: pd.DataFrame, period: pd.DataFrame, config: EngineConfig) -> Performance:
    return backtest_period(strategy, frame, period, config).performance


def baselines(
    frame: pd.DataFrame, period: pd.DataFrame, config: EngineConfig, refs: tuple[str, ...] = ("simple_rsi",)
) -> dict[str, dict[str, Any]]:
    """Buy-and-hold and each baseline strategy on the same period, through the same engine."""
    out = {"buy_and_hold": _figures(evaluate(BuyAndHold(), frame, period, config))}
    for ref in refs:
        strategy = make(ref)
        out[strategy.name] = _figures(evaluate(strategy, frame, period, config))
    return out


class BuyAndHold(Strategy):
    """Buys with all cash on the first traded candle, then holds: the benchmark, through the
    engine (warm-up candles only update indicators, so they never trigger the buy)."""

    def setup(self) -> None:
        self.done = False

    def on_candle(self, candle: Any, ind: Any, account: Any) -> float | None:
        if self.done:
            return None
        self.done = True
        return 1.0


def _figures(p: Performance) -> dict[str, Any]:
    return {
        "sharpe": p.sharpe,
        "return": p.total_return,
        "max_drawdown": p.max_drawdown,
        "trades": p.trades,
        "win_rate": p.win_rate,
    }


Progress = Callable[[dict[str, Any]], None]


@dataclass
class BestCheckpoint:
    """The validation-best policy so far, scored by the Sharpe of its hourly validation
    returns: a validation split of a few days has too few daily returns for a daily Sharpe
    (the engine reports that one as None)."""

    score: float = float("-inf")
    state: dict[str, Any] | None = None
    performance: Performance | None = None
    index: int = 0  # which of the validated checkpoints was kept
    validated: list[np.ndarray] = field(default_factory=list)  # each one's hourly returns: the card's trials

    def offer(self, agent: Any, run: Any, budget: float) -> float | None:
        from botrader.core.research.objective import hourly

        score = hourly_sharpe(run.times, run.equity, budget)
        self.validated.append(hourly(run.times, run.equity, budget))
        if self.state is None or (score is not None and score > self.score):
            self.score = score if score is not None else float("-inf")
            self.state = copy.deepcopy(agent.state_dict())
            self.performance = run.performance
            self.index = len(self.validated) - 1
        return score

    def card(self, test_returns: np.ndarray, walked: Any = None) -> Any:
        """Choosing a checkpoint by validation is a search over checkpoints: PBO over them,
        DSR for how many were compared, PSR and intervals on the test split; `walked`: the
        hyperparameters retrained per fold, when asked."""
        from botrader.core.research.card import judge

        return judge(np.column_stack(self.validated), self.index, test_returns, walked=walked)


class UpdateLogger:
    """Called after every PPO update: logs its metrics, validates every `eval_every` updates
    through the engine, keeps the best checkpoint, and reports progress to the driver."""

    def __init__(
        self,
        request: TrainRequest,
        budget: float,
        frame: pd.DataFrame,
        splits: Splits,
        meta: Any,
        progress: Progress | None,
    ) -> None:
        self.request, self.budget, self.frame, self.splits, self.meta = request, budget, frame, splits, meta
        self.args = request.hyperparameters
        self.progress, self.best, self.last_step = progress, BestCheckpoint(), 0

    def validate(self, agent: Any) -> Any:
        from botrader.jobs.train.model import ActionPredictor
        from botrader.jobs.train.strategy import Ppo

        strategy = Ppo.with_predictor(ActionPredictor.from_agent(agent, self.splits.config, self.meta))
        return backtest_period(
            strategy, self.frame, self.splits.val.frame, self.request.engine_config(self.budget)
        )

    def __call__(self, stats: Any, agent: Any) -> None:
        import mlflow

        metrics = stats.metrics()
        steps, self.last_step = stats.global_step - self.last_step, stats.global_step
        if stats.iteration % self.args.eval_every == 0 or stats.iteration == self.args.num_iterations:
            run = self.validate(agent)
            score, perf = self.best.offer(agent, run, self.budget), run.performance
            metrics.update(
                {
                    "val_score": score if score is not None else 0.0,
                    "val_return": perf.total_return,
                    "val_max_drawdown": perf.max_drawdown,
                    "val_trades": perf.trades,
                    **({"val_sharpe": perf.sharpe} if perf.sharpe is not None else {}),
                    **({"val_win_rate": perf.win_rate} if perf.win_rate is not None else {}),
                }
            )
        mlflow.log_metrics(metrics, step=stats.global_step)
        if self.progress:
            self.progress(
                {
                    "budget": self.budget,
                    "steps": steps,
                    "sps": stats.sps,
                    "episode_return": stats.episode_return,
                    "val_sharpe": metrics.get("val_score"),
                }
            )


def train_budget(request: TrainRequest, budget: float, progress: Progress | None = None) -> dict[str, Any]:
    """Train, validate, test and register the agent for one budget (a Ray task, or inline);
    `progress` receives a small dict after every update (the driver turns it into metrics)."""
    import mlflow
    import torch

    from botrader.jobs.train import ppo
    from botrader.jobs.train.model import ActionPredictor, ModelMeta

    torch.set_num_threads(1)
    frame, splits = load_splits(request)
    args = replace(request.hyperparameters)
    meta = ModelMeta(
        budget,
        args.fee_rate,
        request.symbol,
        request.interval,
        args.hidden,
        splits.config.obs_dim,
        args.action_deadzone,
    )
    from botrader.jobs.tracking import tracking_at

    with tracking_at(request.tracking_uri):
        mlflow.set_experiment(request.experiment)
        tags = {"botrader.experiment": request.experiment}  # what a dashboard follows over /ws
        if request.run_name:
            tags["botrader.training_run"] = request.run_name
        name = f"ppo-{request.symbol}-{request.interval}-{budget:g}"
        with mlflow.start_run(run_name=name, tags=tags) as run:
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
            logger = UpdateLogger(request, budget, frame, splits, meta, progress)
            agent = ppo.train(args, splits.train, budget, logger, market=request.market)
            agent.load_state_dict(logger.best.state)
            predictor = ActionPredictor.from_agent(agent, splits.config, meta)
            best, run_id = logger.best, run.info.run_id
            result = _test_and_register(request, budget, frame, splits, predictor, best, run_id)
    if progress:
        progress({"budget": budget, "finished": True})
    return result


def _walked(request: TrainRequest, budget: float, frame: pd.DataFrame, splits: Splits) -> Any:
    """`--walk-forward K`: the same hyperparameters trained afresh at K origins of everything
    before the test split, each trading the block after it (`research.ppo.ppo_walk_forward`)."""
    if not request.walk_forward:
        return None
    from botrader.jobs.research.ppo import ppo_walk_forward

    rows = int(np.searchsorted(frame["open_time"].to_numpy(), splits.test.frame["open_time"].iloc[0]))
    hp = request.hyperparameters
    return ppo_walk_forward(str(request.data), budget, asdict(hp), request.walk_forward, rows, hp.window_size)


def _test_and_register(
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
    card = best.card(hourly(test_run.times, test_run.equity, budget), _walked(request, budget, frame, splits))
    base = baselines(frame, splits.test.frame, config, request.baselines)
    mlflow.log_metrics(
        {
            "test_return": test.total_return,
            "test_max_drawdown": test.max_drawdown,
            "test_trades": test.trades,
            "best_val_score": best.score if best.score > float("-inf") else 0.0,
            **({"test_sharpe": test.sharpe} if test.sharpe is not None else {}),
            **({"best_val_sharpe": val.sharpe} if val.sharpe is not None else {}),
            **{k: v for k, v in (("pbo", card.pbo), ("dsr", card.dsr), ("psr", card.psr)) if v is not None},
        }
    )
    mlflow.log_dict(card.to_dict(), "card.json")
    mlflow.set_tags({"botrader.verdict": card.verdict[:500], "botrader.passes": str(card.passes).lower()})
    with tempfile.TemporaryDirectory() as tmp:
        save_model(Path(tmp) / "model", predictor.agent, splits.config, predictor.meta)
        _write_report(Path(tmp) / "report", test_run, val, base)
        mlflow.log_artifacts(str(Path(tmp) / "model"), "model")
        mlflow.log_artifacts(str(Path(tmp) / "report"), "report")
    model_uri = _register(run_id, f"botrader-ppo-{request.symbol}-{request.interval}-{budget:g}", card)
    # what a TrainingRun's status reports per budget (the operator reads these back), and
    # what the model looks at on the validation period (the API's /models shows it)
    mlflow.set_tag("botrader.model_uri", model_uri)
    attributions = predictor.global_attributions(splits.val.features)
    mlflow.set_tag("botrader.attributions", json.dumps(attributions))
    features = [*splits.config.names, *PORTFOLIO_NAMES]
    card_tags = {"features": features, "feature_version": splits.config.version, **predictor.agent.describe()}
    mlflow.set_tag("botrader.architecture", json.dumps(card_tags))
    versus = {"ppo (validation)": _figures(val), "ppo (test)": _figures(test), **base}
    mlflow.set_tag("botrader.baselines", json.dumps(versus))  # test period, same engine and costs
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


def _register(run_id: str, name: str, card: Any) -> str:
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
    from botrader.jobs.tracking import ensure_experiment, resolve_uri

    request.data = request.data.resolve()
    request.tracking_uri = resolve_uri(request.tracking_uri)
    ensure_experiment(request.tracking_uri, request.experiment)


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
