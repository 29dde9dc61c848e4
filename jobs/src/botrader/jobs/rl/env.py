"""The vectorised trading environment: N accounts step as one array operation.

Action per environment in [-1, 1]: −1 sells the whole position, +1 buys with all cash,
values between proportionally (a buy spends `a` of the cash, a sell sells `-a` of the
position), 0 holds. Orders fill at the candle's close with fee and slippage, in the
engine's integer units, through the engine's own arithmetic (`botrader.core.engine.units`:
fee_for, buy_price, sell_price, affordable_lots, fraction_of, release_basis) — no second
copy of fee, slippage or PnL code. No shorting; orders below the minimum notional are not
sent. Tests check that equity here equals the engine's for the same actions.

Episodes are `episode_len` candles (default 240: four hours of 1m) drawn from windows of a
split that overlap by `overlap` (default 25%); an episode is `episode_len - 1` decisions,
each marked to the next close. Reward: ln(equity after / equity before), so fees and
slippage are paid in the reward. Observation: the split's standardised market features at
the decision candle (nothing later) + cash/equity, position value/equity,
unrealised PnL/equity.

`xp` is numpy (fast for tens of environments on a CPU) or torch (thousands on a GPU).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from botrader.core.engine.units import (
    MarketRules,
    affordable_lots,
    buy_price,
    fee_for,
    fee_ppm,
    fraction_of,
    release_basis,
    sell_price,
    slippage_units,
)
from botrader.core.errors import UserError
from botrader.jobs.rl.data import Split
from botrader.jobs.rl.features import portfolio_part


@dataclass(frozen=True)
class EnvConfig:
    budget: float = 10_000.0
    fee_rate: float = 0.001
    slippage_bps: float = 0.0
    episode_len: int = 240
    overlap: float = 0.25
    deadzone: float = 0.0  # |action| below this holds: no order (and no fee) for tiny nudges

    def __post_init__(self) -> None:
        if self.budget <= 0:
            raise UserError(f"bad budget {self.budget}: must be > 0")
        if self.episode_len < 2:
            raise UserError(f"bad episode length {self.episode_len}: need at least 2 candles")
        if not 0 <= self.overlap < 1:
            raise UserError(f"bad window overlap {self.overlap}: expected a fraction in [0, 1)")


def window_starts(rows: int, episode_len: int, overlap: float) -> np.ndarray:
    """First rows of the episode windows: `episode_len` candles each, overlapping by `overlap`."""
    stride = max(1, round(episode_len * (1 - overlap)))
    return np.arange(0, rows - episode_len + 1, stride)


class _Numpy:
    name = "numpy"

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def asarray(self, x: Any, dtype: Any) -> Any:
        return np.asarray(x, dtype=dtype)

    def integers(self, high: int, size: int) -> Any:
        return self.rng.integers(0, high, size)

    def where(self, c: Any, a: Any, b: Any) -> Any:
        return np.where(c, a, b)

    def stack_obs(self, market: Any, port: list[Any]) -> Any:
        out = np.empty((market.shape[0], market.shape[1] + len(port)), dtype=np.float32)
        out[:, : market.shape[1]] = market
        for i, column in enumerate(port):
            out[:, market.shape[1] + i] = column
        return out

    int64, float32, float64 = np.int64, np.float32, np.float64

    def log(self, x: Any) -> Any:
        return np.log(x)

    def to_ppm(self, actions: Any) -> Any:
        return np.rint(np.clip(actions, -1.0, 1.0) * 1_000_000).astype(np.int64)

    def positive(self, x: Any) -> Any:
        return np.maximum(x, 0)

    def as_float(self, x: Any) -> Any:
        return x.astype(np.float64)

    def ones_mask(self, n: int) -> Any:
        return np.ones(n, dtype=bool)


class _Torch:
    name = "torch"

    def __init__(self, seed: int, device: str) -> None:
        import torch

        self.t, self.device = torch, device
        self.gen = torch.Generator(device=device).manual_seed(seed)
        self.int64, self.float32, self.float64 = torch.int64, torch.float32, torch.float64

    def asarray(self, x: Any, dtype: Any) -> Any:
        return self.t.as_tensor(np.asarray(x), dtype=dtype, device=self.device)

    def integers(self, high: int, size: int) -> Any:
        return self.t.randint(0, high, (size,), generator=self.gen, device=self.device)

    def where(self, c: Any, a: Any, b: Any) -> Any:
        return self.t.where(c, a, b)

    def stack_obs(self, market: Any, port: list[Any]) -> Any:
        return self.t.cat([market, self.t.stack(port, dim=1).to(self.t.float32)], dim=1)

    def log(self, x: Any) -> Any:
        return self.t.log(x)

    def to_ppm(self, actions: Any) -> Any:
        return self.t.round(actions.clamp(-1.0, 1.0).to(self.t.float64) * 1_000_000).to(self.t.int64)

    def positive(self, x: Any) -> Any:
        return x.clamp(min=0)

    def as_float(self, x: Any) -> Any:
        return x.to(self.t.float64)

    def ones_mask(self, n: int) -> Any:
        return self.t.ones(n, dtype=self.t.bool, device=self.device)


class VecTradingEnv:
    def __init__(
        self,
        split: Split,
        n_envs: int,
        config: EnvConfig = EnvConfig(),
        *,
        market: MarketRules | None = None,
        backend: str = "numpy",
        device: str = "cpu",
        seed: int = 0,
    ) -> None:
        if len(split) < config.episode_len + 1:
            raise UserError(
                f"window of {config.episode_len} candles is larger than the {split.name} data ({len(split)})"
            )
        self.config, self.n = config, n_envs
        self.market = market or MarketRules()
        self.xp = _Numpy(seed) if backend == "numpy" else _Torch(seed, device)
        xp = self.xp
        self.features = xp.asarray(split.features, xp.float32)
        self.close = xp.asarray(split.close_ticks, xp.int64)
        self.starts = xp.asarray(window_starts(len(split), config.episode_len, config.overlap), xp.int64)
        self.budget_units = self.market.cash_units(str(config.budget))
        self.fee, self.slip = fee_ppm(config.fee_rate), slippage_units(config.slippage_bps)
        self.min_notional = self.market.min_notional_units
        self.deadzone_ppm = round(config.deadzone * 1_000_000)
        self.obs_dim = split.features.shape[1] + 3
        zeros = xp.asarray(np.zeros(n_envs), xp.int64)
        self.cash, self.lots, self.basis = zeros + self.budget_units, zeros + 0, zeros + 0
        self.t, self.end = zeros + 0, zeros + 0
        self.episode_return = xp.asarray(np.zeros(n_envs), xp.float64)

    @property
    def windows(self) -> int:
        return int(self.starts.shape[0])

    def reset(self) -> Any:
        self._reset_where(self.xp.ones_mask(self.n))
        return self._obs()

    def _reset_where(self, mask: Any) -> None:
        xp = self.xp
        start = self.starts[xp.integers(self.windows, self.n)]
        self.t = xp.where(mask, start, self.t)
        self.end = xp.where(mask, start + self.config.episode_len - 1, self.end)
        self.cash = xp.where(mask, self.cash * 0 + self.budget_units, self.cash)
        self.lots = xp.where(mask, self.lots * 0, self.lots)
        self.basis = xp.where(mask, self.basis * 0, self.basis)
        self.episode_return = xp.where(mask, self.episode_return * 0, self.episode_return)

    def _obs(self, price: Any = None) -> Any:
        price = self.close[self.t] if price is None else price
        held = self.lots * price
        port = portfolio_part(self.cash, held, held - self.basis, 1.0 / self.xp.as_float(self.cash + held))
        return self.xp.stack_obs(self.features[self.t], port)

    def step(self, actions: Any) -> tuple[Any, Any, Any, dict[str, Any]]:
        """Act at the current close, mark to the next; finished episodes restart at once
        (the returned observation is then the new episode's first)."""
        xp = self.xp
        price = self.close[self.t]
        before = self.cash + self.lots * price
        a_ppm = xp.to_ppm(actions)
        if self.deadzone_ppm:
            a_ppm = xp.where(abs(a_ppm) < self.deadzone_ppm, 0, a_ppm)
        buy_ppm, sell_ppm = xp.positive(a_ppm), xp.positive(-a_ppm)
        # buys: spend a fraction of the cash, fee included, at the slipped price
        bpx = buy_price(price, self.slip)
        b_lots = affordable_lots(fraction_of(self.cash, buy_ppm), bpx, self.fee)
        b_not = b_lots * bpx
        b_ok = (b_not >= self.min_notional) & (b_lots > 0)
        b_lots = xp.where(b_ok, b_lots, 0)
        b_cost = xp.where(b_ok, b_not + fee_for(b_not, self.fee), 0)
        # sells: a fraction of the position at the slipped price
        spx = sell_price(price, self.slip)
        s_lots = fraction_of(self.lots, sell_ppm)
        s_not = s_lots * spx
        s_ok = (s_not >= self.min_notional) & (s_lots > 0)
        s_lots = xp.where(s_ok, s_lots, 0)
        s_gain = xp.where(s_ok, s_not - fee_for(s_not, self.fee), 0)
        released = release_basis(self.basis, s_lots, xp.where(self.lots > 0, self.lots, 1))
        self.cash = self.cash - b_cost + s_gain
        self.basis = self.basis + b_cost - released
        self.lots = self.lots + b_lots - s_lots
        self.t = self.t + 1
        next_price = self.close[self.t]
        after = self.cash + self.lots * next_price
        reward = xp.log(xp.as_float(after) / xp.as_float(before))
        self.episode_return = self.episode_return + reward
        done = self.t >= self.end
        info = {"equity": after, "traded": b_lots - s_lots, "episode_return": self.episode_return * done}
        if bool(done.any()):
            self._reset_where(done)
            return self._obs(), reward, done, info
        return self._obs(next_price), reward, done, info
