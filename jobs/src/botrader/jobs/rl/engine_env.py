"""The training environment for markets the array environment does not model (a USD-M
perpetual: shorts, leverage, funding, liquidation): N copies of the engine itself, stepped
one after another.

Nothing here computes money. Each environment is an `Engine` built from the same
`EngineConfig` the evaluation backtests use, so a fill, a funding payment or a liquidation in
training is the engine's, to the unit (a test replays the same actions through a backtest).
The price is speed: Python per environment and step (tens of microseconds), against the
array environment's one operation for all — fine for the CPU runs a perpetual's month needs.

The interface is `VecTradingEnv`'s (reset, step, obs_dim, windows), so PPO drives either.
Per step and environment: the action becomes a target (`targets.target_of`, on the grid of
`EnvConfig.deadzone`), the engine acts at the current close (`Engine.act`), then the next
candle runs through `Engine.on_bar` — funding at its funding times, liquidation at its
prices — and the reward is ln(equity at that close / equity before acting), fees, funding
and liquidation losses included. Observation: the split's market features at the decision
candle + cash / equity, position value / equity (signed: a short is negative), unrealised
PnL / equity (`features.portfolio_part`, as the `ppo` strategy computes it when trading).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from botrader.core.engine.engine import Engine, EngineConfig
from botrader.core.errors import UserError
from botrader.jobs.rl.data import Split
from botrader.jobs.rl.env import EnvConfig, window_starts
from botrader.jobs.rl.features import portfolio_part
from botrader.jobs.rl.targets import target_of


class _Held:
    """The engine's strategy while the environment drives it: decides nothing itself
    (`Engine.act` carries the policy's target) and can short."""

    name = "rl-environment"
    can_short = True
    exits = None

    def decide(self, bar: Any, account: Any) -> None:
        return None

    def observe(self, bar: Any) -> None:
        return None

    def explain(self) -> dict[str, Any]:
        return {}

    def state(self) -> dict[str, Any]:
        return {}

    def load(self, state: dict[str, Any]) -> None:
        return None


class EngineVecEnv:
    def __init__(
        self, split: Split, n_envs: int, config: EnvConfig, *, engine_config: EngineConfig, seed: int = 0
    ) -> None:
        if len(split) < config.episode_len + 1:
            raise UserError(
                f"window of {config.episode_len} candles is larger than the {split.name} data ({len(split)})"
            )
        self.config, self.n, self.engine_config = config, n_envs, engine_config
        self.rng = np.random.default_rng(seed)
        frame = split.frame
        self.candles = list(
            zip(
                frame["open_time"].astype("int64").tolist(),
                *(frame[c].astype("float64").tolist() for c in ("open", "high", "low", "close", "volume")),
                strict=True,
            )
        )
        self.features = split.features
        self.starts = window_starts(len(split), config.episode_len, config.overlap)
        self.obs_dim = split.features.shape[1] + 3
        self.engines: list[Engine] = []
        self.t = np.zeros(n_envs, dtype=np.int64)
        self.end = np.zeros(n_envs, dtype=np.int64)
        self.episode_return = np.zeros(n_envs)

    @property
    def windows(self) -> int:
        return len(self.starts)

    def reset(self) -> np.ndarray:
        self.engines = [self._fresh(i) for i in range(self.n)]
        return self._obs()

    def _fresh(self, i: int) -> Engine:
        start = int(self.starts[self.rng.integers(0, self.windows)])
        self.t[i], self.end[i], self.episode_return[i] = start, start + self.config.episode_len - 1, 0.0
        engine = Engine(_Held(), self.engine_config)
        engine.on_bar(*self.candles[start])  # the first decision's candle: nothing held yet
        return engine

    def _obs(self) -> np.ndarray:
        out = np.empty((self.n, self.obs_dim), dtype=np.float32)
        out[:, :-3] = self.features[self.t]
        for i, engine in enumerate(self.engines):
            out[i, -3:] = account_part(engine)
        return out

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Act at the current close, mark to the next; finished episodes restart at once
        (the returned observation is then the new episode's first)."""
        step = self.config.deadzone
        rewards, equity = np.empty(self.n), np.empty(self.n, dtype=np.int64)
        traded = np.zeros(self.n, dtype=np.int64)
        for i, engine in enumerate(self.engines):
            pf = engine.portfolio
            before = pf.equity(engine.last_close_ticks)
            lots = pf.lots
            engine.act(target_of(float(actions[i]), step))
            traded[i] = engine.portfolio.lots - lots
            self.t[i] += 1
            engine.on_bar(*self.candles[self.t[i]])
            after = engine.portfolio.equity(engine.last_close_ticks)
            equity[i] = after
            rewards[i] = math.log(max(after, 1) / max(before, 1))  # wiped out: a large penalty, once
        self.episode_return += rewards
        done = self.t >= self.end
        info = {"equity": equity, "traded": traded, "episode_return": self.episode_return * done}
        for i in np.flatnonzero(done):
            self.engines[i] = self._fresh(int(i))
        return self._obs(), rewards, done, info


def account_part(engine: Engine) -> list[float]:
    """The observation's portfolio part for one engine, in cash units (ratios: units cancel)."""
    pf, price = engine.portfolio, engine.last_close_ticks
    equity = pf.equity(price)
    held = pf.lots * price
    return portfolio_part(pf.cash, held, pf.unrealized_pnl(price), 1.0 / equity if equity > 0 else 0.0)
