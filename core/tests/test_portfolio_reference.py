"""The portfolio engine against an independent float reference (`tests/support/
reference_portfolio.py`): an equal-stake simple_rsi portfolio, at most two positions, over
the four bundled Binance months (ALGO, AVAX, FIL, NEAR USDT, February 2025, 40,320 minutes
each), fee 0.1%. The two agree on every trade's minute, symbol and side (lots within one:
floats against exact integers) and on the final equity within rounding."""

from __future__ import annotations

from decimal import Decimal

import pytest

from botrader.core.binance.filters import rules_for
from botrader.core.data.files import read_candles_frame
from botrader.core.engine.engine import EngineConfig
from botrader.core.portfolio.backtest import run_portfolio_backtest
from botrader.core.portfolio.config import PortfolioConfig
from botrader.core.strategy.registry import make
from tests.support.paths import BINANCE_MONTH
from tests.support.reference_portfolio import Rules, reference_portfolio

WARMUP = 100


def test_an_equal_stake_rsi_portfolio_matches_the_float_reference() -> None:
    frames = {s: read_candles_frame(path) for s, path in BINANCE_MONTH.items()}
    markets = {s: rules_for(s) for s in frames}
    result = run_portfolio_backtest(
        frames,
        lambda s: make("simple_rsi"),
        lambda s: EngineConfig(budget=Decimal(10_000), market=markets[s]),
        Decimal(10_000),
        PortfolioConfig(max_open_positions=2),
        warmup=WARMUP,
    )
    rules = {
        s: Rules(float(m.tick_size), float(m.step_size), float(m.min_notional)) for s, m in markets.items()
    }
    expected, final = reference_portfolio(frames, rules, 10_000.0, slots=2, warmup=WARMUP)
    ours = sorted((f.time, s.symbol, f.side, f.lots) for s in result.engine.sleeves for f in s.engine.fills)
    assert len(ours) == len(expected) > 400
    assert [t[:3] for t in ours] == [t[:3] for t in sorted(expected)]
    assert all(abs(a[3] - b[3]) <= 1 for a, b in zip(ours, sorted(expected), strict=True))
    # 628 fills: the engine rounds every fee up and every lot count down, in integers
    assert result.performance.final_equity == pytest.approx(final, abs=0.1)
