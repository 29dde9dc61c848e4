"""The perpetual's training environment is the engine: the same fills, funding and
liquidations as a backtest of the same targets, shorts that earn in a fall, and a PPO agent
that learns to short a planted down drift."""

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from test_train import drifting_candles

from botrader.core.engine.engine import Engine, EngineConfig
from botrader.core.engine.execution import ExecutionConfig
from botrader.core.market_kind import with_market
from botrader.jobs.rl.data import make_splits
from botrader.jobs.rl.engine_env import EngineVecEnv
from botrader.jobs.rl.env import EnvConfig
from botrader.jobs.rl.targets import target_of
from botrader.jobs.train import ppo
from engine_helpers import Scripted


class ScriptedShort(Scripted):
    can_short = True


@pytest.fixture(scope="module")
def splits(real_candles: pd.DataFrame):
    return make_splits(real_candles.iloc[:6000].reset_index(drop=True), min_rows=300)


def perp_config(frame: pd.DataFrame, leverage: int, rate: str, fee: float = 0.0005) -> EngineConfig:
    times = frame["open_time"]
    return with_market(
        EngineConfig(budget=Decimal("10000"), execution=ExecutionConfig(fee_rate=fee)),
        "usdm-perp",
        leverage=leverage,
        funding=None,
        funding_rate=rate,
        first=int(times.iloc[0]),
        last=int(times.iloc[-1]),
    )


def env_at(split, config: EngineConfig, start: int, episode_len: int, step: float = 0.0) -> EngineVecEnv:
    env = EngineVecEnv(split, 1, EnvConfig(episode_len=episode_len, deadzone=step), engine_config=config)
    env.starts = np.array([start])  # every episode starts here
    env.reset()
    return env


def fills_of(engine: Engine) -> list[tuple]:
    return [(f.time, f.side, f.lots, f.price, f.fee, f.pnl, f.reason) for f in engine.fills]


@settings(max_examples=30, deadline=None)
@given(
    actions=st.lists(st.floats(-1.5, 1.5, allow_nan=False), min_size=5, max_size=120),
    leverage=st.sampled_from([1, 3, 50, 125]),
    rate=st.sampled_from(["0", "0.0001", "-0.0003"]),
    step=st.sampled_from([0.0, 0.25]),
    start=st.integers(0, 1500),
)
def test_the_environment_is_the_engine(splits, actions, leverage, rate, step, start) -> None:
    """Every fill, funding payment and liquidation of the environment is a backtest's of the
    same targets: the same fills and the same wallet, to the unit."""
    frame = splits.train.frame
    config = perp_config(frame, leverage, rate)
    env = env_at(splits.train, config, start, episode_len=len(actions) + 2, step=step)
    for a in actions:
        env.step(np.array([a]))
    backtest = Engine(ScriptedShort({i: target_of(a, step) for i, a in enumerate(actions)}), config)
    for row in frame.iloc[start : start + len(actions) + 1].itertuples():
        backtest.on_bar(int(row.open_time), row.open, row.high, row.low, row.close, row.volume)
    trained = env.engines[0]
    assert fills_of(trained) == fills_of(backtest)
    assert trained.portfolio.state() == backtest.portfolio.state()
    assert trained.funding_events == backtest.funding_events


def test_high_leverage_liquidations_happen_in_training_as_in_the_engine(splits) -> None:
    """At 125x a full long is liquidated within hours of real BTC candles: the environment
    books it as the engine does (reason, fee) and the reward carries the loss."""
    frame = splits.train.frame
    env = env_at(splits.train, perp_config(frame, 125, "0.0001"), 0, episode_len=1500)
    rewards = [float(env.step(np.array([1.0]))[1][0]) for _ in range(1400)]
    reasons = [f.reason for f in env.engines[0].fills]
    assert "liquidation" in reasons
    liquidated = next(i for i, f in enumerate(env.engines[0].fills) if f.reason == "liquidation")
    assert env.engines[0].fills[liquidated].fee > 0  # Binance's clearance fee
    # the full long is capped at bracket 1's 50,000 USDT (125x): a liquidation loses about its
    # 400 USDT margin, 4% of the equity, in one step
    assert min(rewards) < -0.02


def test_a_short_earns_in_a_fall_and_pays_funding() -> None:
    falling = drifting_candles(1200, drift=-0.0005, seed=1)
    split = make_splits(falling, min_rows=100).train
    config = perp_config(split.frame, 2, "0.0001")
    short, flat = (env_at(split, config, 0, episode_len=600) for _ in range(2))
    for _ in range(550):  # across 08:00, a funding time
        short.step(np.array([-1.0]))
        flat.step(np.array([0.0]))
    engine = short.engines[0]
    assert engine.portfolio.lots < 0 and not flat.engines[0].fills
    assert engine.portfolio.equity(engine.last_close_ticks) > config.market.cash_units(Decimal("10000")) * 1.1
    # a short receives funding when the rate is positive
    assert engine.funding_events and all(cash > 0 for _, _, cash in engine.funding_events)


def test_targets_move_on_the_deadzone_grid() -> None:
    assert [target_of(a, 0.25) for a in (-1.7, -0.88, -0.1, 0.12, 0.13, 0.6, 0.99)] == [
        -1.0,
        -1.0,
        0.0,
        0.0,
        0.25,
        0.5,
        1.0,
    ]
    assert target_of(0.37, 0.0) == 0.37 and target_of(-3, 0.0) == -1.0
    assert str(target_of(-0.05, 0.25)) == "0.0"  # flat, not -0.0


@pytest.mark.slow
def test_ppo_learns_to_short_a_planted_down_drift() -> None:
    """~30 s: the full short (the target −1, on the 0.2 grid) after 65,536 steps."""
    falling = drifting_candles(4000, drift=-0.0005)
    splits = make_splits(falling, min_rows=300)
    config = perp_config(falling, 2, "0.0001")
    args = ppo.Hyperparameters(
        total_timesteps=65_536,
        num_envs=16,
        num_steps=64,
        window_size=60,
        eval_every=10_000,
        learning_rate=1e-3,
    )
    agent = ppo.train(args, splits.train, 10_000, engine_config=config)
    env = EngineVecEnv(splits.val, 16, EnvConfig(episode_len=60, deadzone=0.2), engine_config=config, seed=3)
    obs, total = env.reset(), np.zeros(16)
    for _ in range(58):
        with torch.no_grad():
            action = agent.act(torch.as_tensor(obs))[:, 0].numpy()
        obs, reward, _, _ = env.step(action)
        total += reward
    # it ends short in a falling market (a full short at 2x: position value about −2 × equity)
    assert float(obs[:, -2].mean()) < -1.0
    # and earns from the fall after fees and funding (58 steps × 0.05% × 2: about +5.7% at best)
    assert float(total.mean()) > 0.03
