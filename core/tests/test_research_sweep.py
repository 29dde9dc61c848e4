"""The vectorised sweep against the exact engine: for random parameter sets, fees, slippage
and budgets on the real month, the same fills at the same candles and the same final equity
to the unit; and what it cannot express is refused, not approximated."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from botrader.core.backtesting.runner import run_backtest
from botrader.core.engine.engine import EngineConfig
from botrader.core.engine.execution import ExecutionConfig
from botrader.core.engine.risk import RiskConfig
from botrader.core.research.sweep import supports, sweep
from botrader.core.strategy.library import RsiSma, SimpleRsi

rsi_params = st.fixed_dictionaries(
    {
        "period": st.integers(2, 40),
        "oversold": st.floats(5, 45, allow_nan=False),
        "overbought": st.floats(55, 95, allow_nan=False),
    }
)


def engine_result(cls, params: dict, frame: pd.DataFrame, config: EngineConfig) -> tuple[list[int], int]:
    engine = run_backtest(frame, cls(**params), config).engine
    times = frame["open_time"].tolist()
    at = {t: i for i, t in enumerate(times)}
    return [at[f.time] for f in engine.fills], engine.equity[-1]


@pytest.fixture(scope="module")
def month(real_candles: pd.DataFrame) -> pd.DataFrame:
    return real_candles.iloc[:20_000].reset_index(drop=True)


@settings(max_examples=15, deadline=None)
@given(
    sets=st.lists(rsi_params, min_size=1, max_size=6),
    fee=st.sampled_from([0.0, 0.001, 0.0075]),
    slip=st.sampled_from([0.0, 2.5]),
    budget=st.sampled_from(["1000", "10000", "250000"]),
)
def test_simple_rsi_sweeps_equal_the_engine_to_the_unit(month, sets, fee, slip, budget) -> None:
    config = EngineConfig(budget=Decimal(budget), execution=ExecutionConfig(fee_rate=fee, slippage_bps=slip))
    for swept in sweep(SimpleRsi, month, sets, config):
        fills, final = engine_result(SimpleRsi, swept.params, month, config)
        if not swept.exact:  # fees ate the account below the minimum notional: the engine
            assert final < 2 * config.market.min_notional_units  # skipped an order, as flagged
            continue
        assert swept.flips.tolist() == fills
        assert swept.final_equity == final


@settings(max_examples=6, deadline=None)
@given(sets=st.lists(st.tuples(rsi_params, st.integers(20, 300)), min_size=1, max_size=3))
def test_rsi_sma_sweeps_equal_the_engine_to_the_unit(month, sets) -> None:
    config = EngineConfig()
    params = [{**p, "sma_period": sma} for p, sma in sets]
    for swept in sweep(RsiSma, month, params, config):
        fills, final = engine_result(RsiSma, swept.params, month, config)
        assert swept.flips.tolist() == fills and swept.final_equity == final


@pytest.mark.parametrize(
    ("config", "why"),
    [
        (EngineConfig(execution=ExecutionConfig(algo="twap", slices=4)), "only market orders"),
        (EngineConfig(execution=ExecutionConfig(participation=0.1)), "participation cap"),
        (EngineConfig(execution=ExecutionConfig(fill="next_open")), "close fill model"),
        (EngineConfig(exits={"stop_loss": 0.02}), "no exits"),
        (EngineConfig(risk=RiskConfig(max_drawdown_fraction=0.2)), "no circuit breakers"),
    ],
)
def test_what_the_sweep_cannot_express_is_refused(month, config: EngineConfig, why: str) -> None:
    assert why in supports(SimpleRsi, config)
    with pytest.raises(ValueError, match=why):
        sweep(SimpleRsi, month, [{}], config)


@settings(max_examples=8, deadline=None)
@given(
    sets=st.lists(rsi_params, min_size=1, max_size=5),
    objective=st.sampled_from(["sharpe", "calmar", "return"]),
)
def test_a_swept_trial_is_the_engines_trial_bit_for_bit(month, sets, objective) -> None:
    from botrader.core.research.objective import evaluate, evaluate_many

    config = EngineConfig()
    for params, swept in zip(sets, evaluate_many(SimpleRsi, sets, month, config, 4, objective), strict=True):
        exact = evaluate(SimpleRsi, params, month, config, 4, objective)
        assert swept is not None
        assert swept.returns.tobytes() == exact.returns.tobytes()
        assert (swept.objective, swept.folds, swept.metrics) == (exact.objective, exact.folds, exact.metrics)


def test_evaluate_many_marks_rejected_sets_and_falls_back_where_it_must(month) -> None:
    from botrader.core.research.objective import evaluate_many

    sets = [{"oversold": 80.0}, {"period": 9}]
    found = evaluate_many(SimpleRsi, sets, month, EngineConfig(exits={"stop_loss": 0.01}), 2, "sharpe")
    assert found[0] is None and found[1] is not None and found[1].metrics["trades"] > 0
