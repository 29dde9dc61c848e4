"""The vectorised environment: the engine's accounting, no look-ahead, clipped actions,
numpy and torch backends agreeing."""

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from botrader.core.engine.engine import Engine, EngineConfig
from botrader.core.engine.execution import ExecutionConfig
from botrader.core.errors import UserError
from botrader.jobs.rl.data import make_splits
from botrader.jobs.rl.env import EnvConfig, VecTradingEnv
from botrader.jobs.rl.features import raw_features
from engine_helpers import Scripted


@pytest.fixture(scope="module")
def splits(real_candles: pd.DataFrame):
    return make_splits(real_candles.iloc[:6000].reset_index(drop=True), min_rows=300)


def fixed_window_env(split, config: EnvConfig, start: int, backend: str = "numpy") -> VecTradingEnv:
    env = VecTradingEnv(split, 1, config, backend=backend)
    env.reset()
    env.t = env.t * 0 + start
    env.end = env.end * 0 + start + config.episode_len - 1
    return env


@settings(max_examples=40, deadline=None)
@given(
    actions=st.lists(st.floats(-1.5, 1.5, allow_nan=False), min_size=5, max_size=59),
    fee=st.sampled_from([0.0, 0.001, 0.0075]),
    slip=st.sampled_from([0.0, 3.0]),
    budget=st.sampled_from([1000.0, 10_000.0, 100_000.0]),
    start=st.integers(0, 1000),
)
def test_env_accounting_equals_the_engine(splits, actions, fee, slip, budget, start) -> None:
    config = EnvConfig(budget=budget, fee_rate=fee, slippage_bps=slip, episode_len=60)
    env = fixed_window_env(splits.train, config, start)
    engine = Engine(
        Scripted(dict(enumerate(actions))),
        EngineConfig(budget=Decimal(str(budget)), execution=ExecutionConfig(fee_rate=fee, slippage_bps=slip)),
    )
    frame = splits.train.frame
    for i, action in enumerate(actions):
        row = frame.iloc[start + i]
        engine.on_bar(int(row.open_time), row.open, row.high, row.low, row.close, row.volume)
        env.step(np.array([action]))
        assert (int(env.cash[0]), int(env.lots[0]), int(env.basis[0])) == (
            engine.portfolio.cash,
            engine.portfolio.lots,
            engine.portfolio.cost_basis,
        ), i


class Observing(Scripted):
    """A scripted strategy that builds, every candle, the portfolio part of the observation
    exactly as the PPO trading strategy does (`botrader.jobs.train.strategy.Ppo`)."""

    def setup(self) -> None:
        super().setup()
        self.seen: list[np.ndarray] = []

    def on_candle(self, bar, ind, account):
        from botrader.jobs.train.model import observation

        held = account.position * bar.close
        self.seen.append(observation(np.zeros(0), account.cash, held, account.unrealized_pnl, account.equity))
        return super().on_candle(bar, ind, account)


@settings(max_examples=25, deadline=None)
@given(
    actions=st.lists(st.floats(-1.0, 1.0, allow_nan=False), min_size=5, max_size=59),
    fee=st.sampled_from([0.001, 0.0075]),
    start=st.integers(0, 1000),
)
def test_training_and_trading_see_the_same_portfolio_features(splits, actions, fee, start) -> None:
    """After a buy at 0.1% fee, both see the fee as an unrealised loss: the env from its cost
    basis, the trading strategy from the engine's account (one `portfolio_part` for both)."""
    config = EnvConfig(budget=10_000.0, fee_rate=fee, episode_len=60)
    env = fixed_window_env(splits.train, config, start)
    trader = Observing(dict(enumerate(actions)))
    engine = Engine(trader, EngineConfig(budget=Decimal("10000"), execution=ExecutionConfig(fee_rate=fee)))
    frame = splits.train.frame
    trained: list[np.ndarray] = [env._obs()[0, -3:]]
    for i, action in enumerate(actions):
        row = frame.iloc[start + i]
        engine.on_bar(int(row.open_time), row.open, row.high, row.low, row.close, row.volume)
        obs, *_ = env.step(np.array([action]))
        trained.append(obs[0, -3:])
    traded = np.array(trader.seen)  # at candle i, before its own action: env's obs after i - 1
    np.testing.assert_allclose(np.array(trained[: len(traded)]), traded, rtol=1e-5, atol=1e-6)


def test_a_fresh_position_shows_its_buy_fee_in_trading_too(splits) -> None:
    """The drift this pins: against the average entry (fees excluded) a full buy at 0.1% reads
    about 0, against the cost basis about -0.001 — training's view, and now trading's."""
    trader = Observing({0: 1.0})
    engine = Engine(trader, EngineConfig(budget=Decimal("10000"), execution=ExecutionConfig(fee_rate=0.001)))
    frame = splits.train.frame
    for i in range(2):
        row = frame.iloc[i]
        engine.on_bar(int(row.open_time), row.open, row.high, row.low, row.close, row.close)
    account, close = engine.account, float(frame.close.iloc[1])
    without_fees = (account.position * close - account.position * account.avg_entry_price) / account.equity
    assert trader.seen[1][2] == pytest.approx(without_fees - 0.001, abs=1e-4)


def test_observation_never_sees_the_future(real_candles: pd.DataFrame) -> None:
    frame = real_candles.iloc[:3000].reset_index(drop=True)
    base = raw_features(frame)
    changed = frame.copy()
    changed.loc[2001:, ["open", "high", "low", "close"]] *= 1.3
    np.testing.assert_array_equal(base[:2001], raw_features(changed)[:2001])


def test_actions_are_clipped(splits) -> None:
    a = fixed_window_env(splits.train, EnvConfig(episode_len=60), 100)
    b = fixed_window_env(splits.train, EnvConfig(episode_len=60), 100)
    for big, unit in ((7.0, 1.0), (-3.0, -1.0)):
        a.step(np.array([big]))
        b.step(np.array([unit]))
        assert (int(a.cash[0]), int(a.lots[0])) == (int(b.cash[0]), int(b.lots[0]))


def test_numpy_and_torch_backends_agree(splits) -> None:
    import torch

    rng = np.random.default_rng(0)
    config = EnvConfig(episode_len=30)
    envs = [VecTradingEnv(splits.train, 8, config, backend=b, seed=4) for b in ("numpy", "torch")]
    starts = envs[0].starts[:8]
    for env in envs:
        env.reset()
        env.t = env.t * 0 + (starts if env.xp.name == "numpy" else torch.as_tensor(starts))
        env.end = env.t + config.episode_len - 1
    for _ in range(25):
        action = rng.uniform(-1, 1, 8)
        out_np = envs[0].step(action)
        out_t = envs[1].step(torch.as_tensor(action))
        # Floats across backends: numpy's and torch's log (and float32 feature paths) may
        # round differently in the last bit on some CPUs, so rewards and observations agree to
        # a tolerance; the money is integer arithmetic and must agree exactly.
        np.testing.assert_allclose(out_np[0], out_t[0].numpy(), rtol=1e-6)
        np.testing.assert_allclose(out_np[1], out_t[1].numpy(), rtol=1e-12, atol=1e-15)
        assert envs[0].cash.tolist() == envs[1].cash.tolist()
        assert envs[0].lots.tolist() == envs[1].lots.tolist()
        assert envs[0].basis.tolist() == envs[1].basis.tolist()


def test_episodes_windows_and_rewards(splits) -> None:
    env = VecTradingEnv(splits.train, 4, EnvConfig(episode_len=240, overlap=0.25))
    assert env.windows == (len(splits.train) - 240) // 180 + 1
    obs = env.reset()
    assert obs.shape == (4, env.obs_dim) and env.obs_dim == splits.config.obs_dim
    total = np.zeros(4)
    for step in range(239):
        obs, reward, done, info = env.step(np.ones(4))
        total += reward
        assert done.all() == (step == 238)
    np.testing.assert_allclose(info["episode_return"], total)  # rewards sum to the log growth of equity


def test_splits_are_chronological_and_bad_input_is_clear(real_candles: pd.DataFrame, splits) -> None:
    assert splits.train.frame["open_time"].iloc[-1] < splits.val.frame["open_time"].iloc[0]
    assert splits.val.frame["open_time"].iloc[-1] < splits.test.frame["open_time"].iloc[0]
    with pytest.raises(UserError, match="not enough candles"):
        make_splits(real_candles.iloc[:800])
    with pytest.raises(UserError, match="window of 5000 candles is larger than the val data"):
        VecTradingEnv(splits.val, 2, EnvConfig(episode_len=5000))
    with pytest.raises(UserError, match="bad budget -1"):
        EnvConfig(budget=-1)


def test_gymnasium_view_passes_the_env_checker(splits) -> None:
    import gymnasium
    from gymnasium.utils.env_checker import check_env

    from botrader.jobs.rl.gym import TradingEnv

    env = TradingEnv(splits.train, EnvConfig(episode_len=30))
    check_env(env, skip_render_check=True)
    obs, _ = env.reset(seed=1)
    assert obs.shape == (splits.config.obs_dim,) and isinstance(gymnasium.Env, type)
    for _ in range(29):
        obs, _reward, terminated, truncated, _info = env.step(np.array([0.5], dtype=np.float32))
    assert terminated and not truncated
