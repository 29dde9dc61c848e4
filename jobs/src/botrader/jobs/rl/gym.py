"""A single-environment gymnasium view of the vectorised environment — what
Stable-Baselines3 and other gymnasium tools see. Needs `gymnasium` (botrader-jobs[rl])."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from botrader.jobs.rl.data import Split
from botrader.jobs.rl.env import EnvConfig, VecTradingEnv


class TradingEnv(gym.Env):  # type: ignore[misc]
    metadata = {"render_modes": []}  # noqa: RUF012 (gymnasium's convention)

    def __init__(self, split: Split, config: EnvConfig | None = None, seed: int = 0) -> None:
        config = config or EnvConfig()
        self.split, self.config = split, config
        self.vec = VecTradingEnv(split, 1, config, seed=seed)
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (self.vec.obs_dim,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        if seed is not None:
            self.vec = VecTradingEnv(self.split, 1, self.config, seed=seed)
        return self.vec.reset()[0], {}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        obs, reward, done, info = self.vec.step(np.asarray(action, dtype=np.float64).reshape(1))
        # the vectorised env restarts finished episodes itself; gymnasium's caller resets
        return obs[0], float(reward[0]), bool(done[0]), False, {"equity": int(info["equity"][0])}
