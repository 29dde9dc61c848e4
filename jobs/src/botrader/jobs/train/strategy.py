"""The `ppo` strategy: a trained policy on the public strategy API (registered in
botrader-jobs' `botrader.strategies` entry points). Importing this module does not import
torch; building the strategy loads the model."""

from __future__ import annotations

from typing import Any

import numpy as np

from botrader.core.engine.view import Account, Bar
from botrader.core.strategy import Indicator, Param, Strategy, Values
from botrader.jobs.rl.targets import target_of


class Ppo(Strategy):
    """A trained PPO policy (a TradingBot's strategy.modelRef: a model directory, runs:/… or
    models:/… URI): its deterministic action at every candle, sizing positions continuously;
    |action| below the model's deadzone holds (no order, no fee). A model trained on a
    perpetual states targets from full short to full long (`botrader.jobs.rl.targets`)."""

    name = "ppo"
    model = Param("", help="model directory or MLflow URI (runs:/…, models:/…); spec.strategy.modelRef")
    warmup = 500  # the observation's slowest feature has settled

    def validate(self) -> None:
        if not self.model:
            raise ValueError(
                "strategy ppo needs a model: --model PATH|runs:/…|models:/… (or spec.strategy.modelRef)"
            )

    @classmethod
    def with_predictor(cls, predictor: Any) -> Ppo:
        """A policy still in training (validation runs), without a round trip to disk."""
        strategy = cls.__new__(cls)
        strategy.predictor = predictor
        Strategy.__init__(strategy, model="(in memory)")
        return strategy

    def indicators(self) -> dict[str, Indicator]:
        from botrader.jobs.train.model import ActionPredictor, ObservationIndicator

        if "predictor" not in vars(self):
            self.predictor = ActionPredictor.load(self.model)
        return {"market": ObservationIndicator(self.predictor.config)}

    def setup(self) -> None:
        self._obs: np.ndarray | None = None
        self.can_short = self.predictor.meta.can_short  # type: ignore[misc]  # the model's market decides

    def on_candle(self, candle: Bar, ind: Values, account: Account) -> float | None:
        from botrader.jobs.train.model import observation

        if ind.market is None:
            return None
        held = account.position * candle.close
        self._obs = observation(ind.market, account.cash, held, account.unrealized_pnl, account.equity)
        action, meta = self.predictor.action(self._obs), self.predictor.meta
        if meta.can_short:  # a target on the deadzone's grid, as the environment read it
            return target_of(action, meta.deadzone)
        return None if abs(action) < meta.deadzone else action

    def explain(self) -> dict[str, Any]:
        return self.predictor.explain(self._obs) if self._obs is not None else {}
