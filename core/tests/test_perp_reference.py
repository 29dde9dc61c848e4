"""The engine against an independent float reference (`tests/support/reference_perp.py`) on
the real AVAXUSDT perpetual month, long and short with funding: the same fills (time, side,
reason; lots within one), funding and final equity within rounding — at 2x with its 3% stops,
and at 25x with stops past the liquidation price, where the falling month liquidates three
positions (the engine also caps 25x at the 50,000 USDT Binance's brackets allow it)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from botrader.core.backtesting.runner import run_backtest
from botrader.core.binance.usdm import perp_rules_for
from botrader.core.data.files import read_candles_frame
from botrader.core.engine.engine import EngineConfig
from botrader.core.engine.execution import ExecutionConfig
from botrader.core.engine.funding import ConstantFunding
from botrader.core.engine.instruments import UsdmPerp
from botrader.core.strategy.registry import resolve
from tests.support.paths import REPO
from tests.support.reference_perp import reference_long_short

AVAX = REPO / "examples" / "data" / "AVAXUSDT-1m-2025-02.csv.gz"
STRATEGY = "rsi_long_short"


@pytest.mark.parametrize(
    ("leverage", "params", "liquidations"),
    [(2, {}, 0), (25, {"overbought": 85.0, "oversold": 15.0, "stop_loss": 0.08}, 3)],
)
def test_the_engine_agrees_with_a_float_reference_on_the_real_month(
    leverage: int, params: dict, liquidations: int
) -> None:
    frame = read_candles_frame(AVAX)
    rules = perp_rules_for("AVAXUSDT")
    funding = ConstantFunding.of("0.0001", rules.funding_interval_ms)
    config = EngineConfig(
        budget=Decimal(10_000),
        market=rules.market,
        execution=ExecutionConfig(fee_rate=0.0005),
        instrument=UsdmPerp(rules, leverage, funding),
    )
    result = run_backtest(frame, resolve(STRATEGY)(**params), config)
    ref = reference_long_short(
        frame, "AVAXUSDT", budget=10_000, leverage=leverage, fee=0.0005, funding_rate=0.0001, **params
    )
    ours = [(f.time, f.side, f.reason) for f in result.fills]
    assert ours == [(t, side, reason) for t, side, _, reason in ref.fills]
    assert all(abs(f.lots - q) <= 1 for f, (_, _, q, _) in zip(result.fills, ref.fills, strict=True))
    assert sum(1 for f in result.fills if f.reason == "liquidation") == liquidations
    assert {f.side for f in result.fills if f.reason == "signal"} == {"buy", "sell"}
    unit = float(rules.market.cash_unit)
    assert result.engine.portfolio.funding * unit == pytest.approx(ref.funding, rel=2e-3, abs=0.01)
    assert result.performance.final_equity == pytest.approx(
        ref.equity(float(frame["close"].iloc[-1])), rel=5e-4
    )
