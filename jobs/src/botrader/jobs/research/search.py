"""Running a search: Optuna's TPE proposes parameter sets, each is one trial
(`botrader.core.research.objective.evaluate`), in this process (`ray_address="none"`) or as Ray
Tune trials through `OptunaSearch` — locally, on a Ray address, or on a cluster. Either way the
result is every valid trial's returns on the search set, the input the honesty card needs."""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from botrader.core.engine.engine import EngineConfig
from botrader.core.errors import UserError
from botrader.core.market_kind import MarketOptions
from botrader.core.research.objective import Trial
from botrader.core.research.space import Dimension
from botrader.jobs.research.subjects import subject_of

OnTrial = Callable[[Trial | None], None]  # None: an invalid parameter set


@dataclass(slots=True)
class Search:
    """What to search: everything a trial needs, picklable for Ray (the strategy travels as its
    reference, resolved again in the worker, so a user's file works there too)."""

    strategy: str
    space: dict[str, Dimension]
    fixed: dict[str, Any]
    config: EngineConfig
    trials: int = 100
    folds: int = 4
    objective: str = "sharpe"
    seed: int = 0
    concurrency: int | None = None  # Ray trials at once (default: the cluster's CPUs)
    data: str | None = None  # the candle file each trial trains on (absolute), for subjects that train
    budget: float = 10_000.0  # the account each trial trains for, for subjects that train
    market: MarketOptions = field(default_factory=MarketOptions)  # what a training subject trains on
    portfolio: Any = None  # a `research.portfolio.Portfolio`: the pairs and wallet searched over


@dataclass(slots=True)
class Outcome:
    trials: list[Trial] = field(default_factory=list)  # valid ones, in the order they finished
    invalid: int = 0  # parameter sets the strategy refused

    @property
    def best(self) -> Trial:
        scored = [t for t in self.trials if t.objective is not None]
        if not scored:
            raise UserError("no trial produced a defined objective: widen the space or use more data")
        return max(scored, key=lambda t: t.objective)  # type: ignore[arg-type,return-value]


def absolute_reference(ref: str) -> str:
    """A file reference made absolute: Ray Tune runs trials in directories of their own."""
    where, sep, attr = ref.rpartition(":")
    if sep and (where.endswith(".py") or "/" in where):
        return f"{Path(where).resolve()}:{attr}"
    return ref


def distributions(space: dict[str, Dimension]) -> dict[str, Any]:
    import optuna.distributions as od

    out: dict[str, Any] = {}
    for name, d in space.items():
        if d.kind == "choice":
            out[name] = od.CategoricalDistribution(list(d.choices))
        elif d.kind == "int":
            out[name] = od.IntDistribution(int(d.low), int(d.high), log=d.log)  # type: ignore[arg-type]
        else:
            out[name] = od.FloatDistribution(d.low, d.high, log=d.log)  # type: ignore[arg-type]
    return out


def _trial(search: Search, frame: pd.DataFrame, sampled: dict[str, Any]) -> Trial | None:
    return subject_of(search).trials(search, frame, [{**search.fixed, **sampled}])[0]


def _told(trial: Trial | None) -> float:
    """What Optuna is told: the worst possible value for a trial without a defined objective."""
    return float("-inf") if trial is None or trial.objective is None else trial.objective


def run_local(search: Search, frame: pd.DataFrame, on_trial: OnTrial | None = None) -> Outcome:
    """In this process: TPE proposes as many sets at a time as the subject evaluates at once
    (a rule strategy with a vectorised sweep: a batch, the same trials bit for bit)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=search.seed))
    space, outcome, subject = distributions(search.space), Outcome(), subject_of(search)
    batch = subject.batch(search.config)
    for start in range(0, search.trials, batch):
        asked = [study.ask(space) for _ in range(min(batch, search.trials - start))]
        found = subject.trials(search, frame, [{**search.fixed, **a.params} for a in asked])
        for proposal, trial in zip(asked, found, strict=True):
            if trial is None:
                study.tell(proposal, state=optuna.trial.TrialState.FAIL)
            else:
                study.tell(proposal, _told(trial))
            _collect(outcome, trial, on_trial)
    return outcome


def _collect(outcome: Outcome, trial: Trial | None, on_trial: OnTrial | None) -> None:
    if trial is None:
        outcome.invalid += 1
    else:
        outcome.trials.append(trial)
    if on_trial:
        on_trial(trial)


def _tune_trial(config: dict[str, Any], search: Search, frame: pd.DataFrame) -> dict[str, Any]:
    """The Ray Tune function trainable: one trial, its result as the final report."""
    trial = _trial(search, frame, config)
    if trial is None:
        return {"objective": float("-inf"), "valid": False}
    return {"objective": _told(trial), "valid": True, "trial": trial}


def run_ray(
    search: Search, frame: pd.DataFrame, address: str | None, on_trial: OnTrial | None = None
) -> Outcome:
    import optuna
    import ray
    from ray import tune
    from ray.tune.search.optuna import OptunaSearch

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")  # no CSV/JSON/TensorBoard per trial
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # its tables ignore verbose=0; ours is the bar
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logging.getLogger("ray").setLevel(logging.ERROR)  # Tune's notes on files we chose not to write
    address = address or os.environ.get("RAY_ADDRESS")
    ray.init(
        address=address,
        include_dashboard=False,
        log_to_driver=False,
        ignore_reinit_error=True,
        logging_level=logging.ERROR,
    )
    outcome = Outcome()

    class Collect(tune.Callback):  # type: ignore[misc]
        def on_trial_result(
            self, iteration: int, trials: list, trial: Any, result: dict, **info: Any
        ) -> None:
            _collect(outcome, result.get("trial"), on_trial)

    searcher = OptunaSearch(
        space=distributions(search.space),
        metric="objective",
        mode="max",
        sampler=optuna.samplers.TPESampler(seed=search.seed),
    )
    try:
        with tempfile.TemporaryDirectory(prefix="botrader-tune-") as storage:
            tune.Tuner(
                tune.with_parameters(_tune_trial, search=search, frame=frame),
                tune_config=tune.TuneConfig(
                    search_alg=searcher,
                    num_samples=search.trials,
                    max_concurrent_trials=search.concurrency,
                    reuse_actors=True,
                ),
                run_config=tune.RunConfig(
                    name="botrader-optimize", storage_path=storage, verbose=0, callbacks=[Collect()]
                ),
            ).fit()
    finally:
        ray.shutdown()
    return outcome
