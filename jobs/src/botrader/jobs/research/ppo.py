"""PPO hyperparameter searches: `botrader optimize --strategy ppo`. Each trial is a short
training run on the train split, its checkpoints validated through the engine; the kept
checkpoint's hourly validation returns are the trial's returns (the PBO matrix's column) and
its test-split returns the held-out tail. The space comes from `Hyperparameters` (each field's
`search`), narrowed or widened by `--space` exactly as a strategy's is."""

from __future__ import annotations

import typing
from collections.abc import Callable
from dataclasses import fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from botrader.core.errors import UserError
from botrader.core.market_kind import MarketOptions
from botrader.core.research.objective import Split, Trial, hourly, score_returns
from botrader.core.strategy.params import Param
from botrader.jobs.train.hyperparameters import Hyperparameters

if TYPE_CHECKING:
    from botrader.core.research.walk_forward import Fold, WalkForward

NAME = "ppo"
SCALARS = (int, float, bool, str)


def _param(f: Any, kind: type) -> Param:
    meta = dict(f.metadata)
    choices = tuple(meta["choices"]) if "choices" in meta else None
    bounds = {k: meta[k] for k in ("ge", "gt", "le", "lt") if k in meta}
    default = kind(f.default)
    return Param(
        default, choices=choices, search=meta.get("search"), log=meta.get("log", False), name=f.name, **bounds
    )


HINTS = typing.get_type_hints(Hyperparameters)


class PpoSpace:
    """What `botrader.core.research.space` reads of a strategy, for PPO's hyperparameters."""

    name = NAME
    params: typing.ClassVar[dict[str, Param]] = {
        f.name: _param(f, HINTS[f.name]) for f in fields(Hyperparameters) if HINTS[f.name] in SCALARS
    }

    def __init__(self, **values: Any) -> None:
        """Checked as `botrader train` checks them (bounds, then the cross-field rules)."""
        for name, value in values.items():
            if name not in self.params:
                known = ", ".join(sorted(self.params))
                raise UserError(
                    f"bad --param {name}: PPO has no hyperparameter {name!r} (its hyperparameters: {known})"
                )
            values[name] = self.params[name].coerce(NAME, value)
        Hyperparameters(**values).validate()


class PpoSubject:
    """PPO's hyperparameters as a search's subject (`botrader.jobs.research.subjects`): each
    trial a short training run on `data`, judged on PPO's own validation split; the winner's
    test split is the held-out tail, its kept checkpoint what is stressed."""

    space_owner = PpoSpace

    def __init__(self, data: str | None, budget: float, market: MarketOptions | None = None) -> None:
        self.data, self.budget, self.market = data, budget, market or MarketOptions()

    def fixed(self, params: dict[str, Any], fee: float) -> dict[str, Any]:
        return {"fee_rate": fee, **params}

    def check(self, data: Path | None, walk_forward: bool) -> None:
        if data is None:
            raise UserError("--strategy ppo trains on a file: give --data FILE (a dataset or candle file)")

    def split(self, frame: Any, holdout: float, embargo: int) -> Split:
        """PPO's own periods (train, validation, then test, as `botrader train` splits them):
        the trials are judged on validation, the test split is the held-out tail."""
        from botrader.jobs.rl.data import make_splits

        test_start = int(make_splits(frame).test.frame["open_time"].iloc[0])
        cut = int(np.searchsorted(frame["open_time"].to_numpy(), test_start))
        return Split(frame, cut, cut)

    def about(self, config: Any) -> dict[str, Any]:
        return {"evaluated_by": "training"}

    def batch(self, config: Any) -> int:
        return 1  # each trial a training run

    def trials(self, search: Any, frame: Any, sets: list[dict[str, Any]]) -> list[Trial | None]:
        found: list[Trial | None] = []
        for params in sets:
            try:
                found.append(
                    ppo_trial(
                        str(self.data), self.budget, params, search.folds, search.objective, self.market
                    )
                )
            except UserError:
                found.append(None)
        return found

    def held_out(self, best: Trial, split: Split, config: Any) -> np.ndarray:
        assert best.held_out is not None  # its trial tested the kept checkpoint
        return best.held_out

    def stressed(self, best: Trial, split: Split, config: Any) -> list[dict[str, Any]]:
        from botrader.core.research.stress import stress_of
        from botrader.jobs.train.strategy import Ppo

        if best.model is None:
            return []
        return stress_of(lambda: Ppo.with_predictor(best.model), split, config)

    def alongside(self, frame: Any, config: Any) -> tuple[np.ndarray | None, dict[str, Any]]:
        return None, {}  # the trials are scored on their validation split, which these do not cover

    def retrained(self, search: Any, best: Trial, split: Split, on_fold: Callable[[int], None] | None) -> Any:
        return ppo_walk_forward(
            str(self.data),
            self.budget,
            best.params,
            search.folds,
            split.cut,
            split.embargo,
            on_fold,
            self.market,
        )


def ppo_trial(
    data: str,
    budget: float,
    params: dict[str, Any],
    folds: int,
    objective: str,
    market: MarketOptions | None = None,
) -> Trial:
    """Train with `params`, keep the validation-best checkpoint, test it once (torch and the
    training code load here, in the trial, not when the command starts)."""
    from botrader.jobs.train import ppo
    from botrader.jobs.train.evaluate import backtest_period
    from botrader.jobs.train.model import ActionPredictor
    from botrader.jobs.train.request import TrainRequest, load_splits
    from botrader.jobs.train.strategy import Ppo

    hp = replace(Hyperparameters(), **params)
    request = TrainRequest(data=Path(data), budgets=[budget], hyperparameters=hp, ray_address="none")
    request.market_options = market or MarketOptions()
    frame, splits = load_splits(request)
    logger = _Validator(request, budget, frame, splits)
    agent = ppo.train(hp, splits.train, budget, logger, request.market, request.engine_config(budget))
    agent.load_state_dict(logger.best.state)
    predictor = ActionPredictor.from_agent(agent, splits.config, logger.meta)
    test = backtest_period(
        Ppo.with_predictor(predictor), frame, splits.test.frame, request.engine_config(budget)
    )
    validated = logger.best.validated[logger.best.index]
    perf = logger.best.performance
    metrics = {"total_return": perf.total_return, "trades": float(perf.trades), "fees": perf.fees}
    trial = score_returns(params, validated, folds, objective, metrics)
    trial.held_out = hourly(test.times, test.equity, budget)
    trial.model = predictor
    return trial


class _Validator:
    """Validates every `eval_every` updates, as training does (`UpdateLogger`), without
    logging each trial's updates to MLflow."""

    def __init__(self, request: Any, budget: float, frame: Any, splits: Any) -> None:
        from botrader.jobs.train.checkpoint import BestCheckpoint, UpdateLogger
        from botrader.jobs.train.model import ModelMeta

        hp = request.hyperparameters
        self.meta = ModelMeta.for_request(request, budget, splits.config.obs_dim)
        self.logger = UpdateLogger(request, budget, frame, splits, self.meta, None)
        self.best: BestCheckpoint = self.logger.best
        self.budget, self.hp = budget, hp

    def __call__(self, stats: Any, agent: Any) -> None:
        if stats.iteration % self.hp.eval_every == 0 or stats.iteration == self.hp.num_iterations:
            self.best.offer(agent, self.logger.validate(agent), self.budget)


def ppo_walk_forward(
    data: str,
    budget: float,
    params: dict[str, Any],
    folds: int,
    rows: int,
    embargo: int,
    on_fold: Callable[[int], None] | None = None,
    market: MarketOptions | None = None,
) -> WalkForward:
    """The winner's hyperparameters trained afresh at each origin of the first `rows` candles
    (the search set): train and validate on everything before the origin less an embargo of
    at least one observation window, so no training episode sees the test block; then trade
    the block, beside buy-and-hold and the rule baselines there. `folds` trainings: the cost
    of the honest answer to "would this recipe have worked when I had only the past?"."""
    from botrader.core.data.files import read_candles_frame
    from botrader.core.research.objective import HOUR_MS, market_returns
    from botrader.core.research.stress import baselines_for
    from botrader.core.research.walk_forward import fold, summarise
    from botrader.core.strategy.registry import resolve
    from botrader.jobs.rl.data import fold_splits
    from botrader.jobs.train.request import TrainRequest

    hp = replace(Hyperparameters(), **params)
    request = TrainRequest(data=Path(data), budgets=[budget], hyperparameters=hp, ray_address="none")
    request.market_options = market or MarketOptions()
    frame = read_candles_frame(request.data).iloc[:rows].reset_index(drop=True)
    request.span = (int(frame["open_time"].iloc[0]), int(frame["open_time"].iloc[-1]))
    times = frame["open_time"].to_numpy()
    hour = (times - times[0]) // HOUR_MS
    bounds = np.linspace(0, len(frame), folds + 2).astype(int)
    config, gap = request.engine_config(budget), max(embargo, hp.window_size)
    out: list[Fold] = []
    tested: list[np.ndarray] = []
    marks: list[np.ndarray] = []
    refs = baselines_for(config)  # a perpetual's card adds its short-capable baseline
    others: dict[str, list[np.ndarray]] = {ref: [] for ref in refs}
    for k in range(1, folds + 1):
        origin, end = int(bounds[k]), int(bounds[k + 1])
        splits = fold_splits(frame, origin, end, gap, request.val_fraction, market=request.market)
        returns = hourly_of(_fold_agent(request, budget, frame, splits), frame, splits, config)
        block = {ref: hourly_of(resolve(ref)(), frame, splits, config) for ref in refs}
        mark = market_returns(splits.test.frame)
        span = (int(hour[origin]), int(hour[end - 1]) + 1)
        out.append(fold(span, (0, int(hour[origin - gap])), 0, returns, mark, block))
        tested.append(returns)
        marks.append(mark)
        for ref, r in block.items():
            others[ref].append(r)
        if on_fold:
            on_fold(k)
    joined = {ref: np.concatenate(r) for ref, r in others.items()}
    return summarise(out, np.concatenate(tested), np.concatenate(marks), joined, retrained=True)


def _fold_agent(request: Any, budget: float, frame: Any, splits: Any) -> Any:
    """A fresh agent trained on the fold's train split, its validation-best checkpoint kept."""
    from botrader.jobs.train import ppo
    from botrader.jobs.train.model import ActionPredictor
    from botrader.jobs.train.strategy import Ppo

    request.hyperparameters.validate(len(splits.train))
    validator = _Validator(request, budget, frame, splits)
    agent = ppo.train(
        request.hyperparameters,
        splits.train,
        budget,
        validator,
        request.market,
        request.engine_config(budget),
    )
    agent.load_state_dict(validator.best.state)
    return Ppo.with_predictor(ActionPredictor.from_agent(agent, splits.config, validator.meta))


def hourly_of(strategy: Any, frame: Any, splits: Any, config: Any) -> np.ndarray:
    """`strategy` on the fold's test block, warmed on the candles before it: hourly returns."""
    from botrader.jobs.train.evaluate import backtest_period

    result = backtest_period(strategy, frame, splits.test.frame, config)
    return hourly(result.times, result.equity, float(config.budget))
