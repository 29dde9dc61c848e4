"""Choosing the checkpoint: every `eval_every` updates the policy is validated through the
engine and the validation-best one kept; choosing is a search over checkpoints, judged as one
(PBO over them, DSR for how many were compared)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from botrader.core.engine.performance import Performance, hourly_sharpe
from botrader.jobs.rl.data import Splits
from botrader.jobs.train.evaluate import backtest_period
from botrader.jobs.train.request import TrainRequest

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
