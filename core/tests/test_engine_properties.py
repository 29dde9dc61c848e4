"""Invariants of the engine under random prices, actions and settings (hypothesis)."""

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from botrader.core.engine.engine import Engine, EngineConfig
from botrader.core.engine.execution import ExecutionConfig
from botrader.core.engine.units import fee_for, fee_ppm
from engine_helpers import Scripted, feed

closes = st.lists(st.floats(min_value=10.0, max_value=200_000.0, allow_nan=False), min_size=2, max_size=60)
actions = st.dictionaries(
    st.integers(0, 59), st.floats(min_value=-1.0, max_value=1.0, allow_nan=False), max_size=30
)
execution = st.builds(
    ExecutionConfig,
    algo=st.sampled_from(["market", "twap", "vwap"]),
    slices=st.integers(1, 5),
    fee_rate=st.sampled_from([0.0, 0.0005, 0.001, 0.0075]),
    slippage_bps=st.sampled_from([0.0, 1.0, 12.5]),
    participation=st.sampled_from([None, 0.05, 0.5]),
)


@settings(max_examples=200, deadline=None)
@given(closes=closes, actions=actions, execution=execution, budget=st.sampled_from([100, 10_000, 100_000]))
def test_accounting_invariants(closes, actions, execution, budget) -> None:
    e = Engine(Scripted(actions), EngineConfig(budget=Decimal(budget), execution=execution))
    volumes = [50.0 + (i * 37) % 400 for i in range(len(closes))]
    feed(e, closes, volumes)
    start_cash = e.market.cash_units(budget)
    cash, lots, ppm = start_cash, 0, fee_ppm(execution.fee_rate)
    fills = iter(e.fills)
    pending = next(fills, None)
    for t, close, equity in zip(e.times, closes, e.equity, strict=True):
        while pending is not None and pending.time == t:
            assert pending.fee == fee_for(pending.notional, ppm)  # fees always charged, rounded up
            if ppm:
                assert pending.fee >= 1
            if pending.side == "buy":
                cash -= pending.notional + pending.fee
                lots += pending.lots
            else:
                cash += pending.notional - pending.fee
                lots -= pending.lots
            assert cash >= 0 and lots >= 0  # no negative cash, no short
            pending = next(fills, None)
        assert equity == cash + lots * e.market.ticks(close)  # equity = cash + position × price
    assert pending is None
    pf = e.portfolio
    assert (pf.cash, pf.lots) == (cash, lots)
    assert pf.realized_pnl == sum(pf.round_trips) + pf.trip_pnl
    if pf.lots == 0:
        assert pf.cash - start_cash == pf.realized_pnl  # flat: every cent of PnL is realised
