"""A training run: one PPO agent per budget — Ray tasks in parallel, or inline — each tracked
in MLflow, selected on validation (`checkpoint`), tested once and registered (`register`);
progress goes to this process's training metrics."""

from __future__ import annotations

import contextlib
import os
from dataclasses import asdict, replace
from typing import Any

from botrader.core.mlflow_names import Tag
from botrader.jobs.train.checkpoint import Progress, UpdateLogger
from botrader.jobs.train.register import test_and_register
from botrader.jobs.train.request import TrainRequest, load_splits


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
    meta = ModelMeta.for_request(request, budget, splits.config.obs_dim)
    from botrader.jobs.tracking import tracking_at

    with tracking_at(request.tracking_uri):
        mlflow.set_experiment(request.experiment)
        tags = {Tag.EXPERIMENT: request.experiment}  # what a dashboard follows over /ws
        if request.run_name:
            tags[Tag.TRAINING_RUN] = request.run_name
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
            agent = ppo.train(
                args, splits.train, budget, logger, request.market, request.engine_config(budget)
            )
            agent.load_state_dict(logger.best.state)
            predictor = ActionPredictor.from_agent(agent, splits.config, meta)
            best, run_id = logger.best, run.info.run_id
            result = test_and_register(request, budget, frame, splits, predictor, best, run_id)
    if progress:
        progress({"budget": budget, "finished": True})
    return result


def prepare_tracking(request: TrainRequest) -> None:
    from botrader.jobs.tracking import ensure_experiment, resolve_uri

    request.data = request.data.resolve()
    m = request.market_options  # Ray's workers may run elsewhere: absolute paths
    request.market_options = replace(
        m, funding=m.funding and m.funding.resolve(), mark=m.mark and m.mark.resolve()
    )
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
