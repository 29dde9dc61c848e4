"""The example strategies (examples/strategies/) against independent implementations of their
rules (tests/support/reference_strategies.py: Decimal arithmetic, no engine): the same trade
list and the same final equity to the cent on the real month, under both fill models — and on
the month with every open moved off the previous close, where `next_open` fills differ."""

from __future__ import annotations

import pandas as pd
import pytest

from botrader.core.backtesting.runner import run_backtest
from botrader.core.engine.engine import EngineConfig
from botrader.core.engine.execution import ExecutionConfig
from botrader.core.strategy.registry import resolve
from tests.support import reference_strategies as reference
from tests.support.paths import REPO

EXAMPLES = REPO / "examples" / "strategies"


def gapped(frame: pd.DataFrame) -> pd.DataFrame:
    """The month with each open at its candle's (high + low) / 2 on the tick: real ranges, but
    opens that differ from the previous close (the bundled data never gaps)."""
    out = frame.copy()
    out["open"] = ((out["high"] + out["low"]) / 2).round(2)
    return out


def ours(ref: str, frame: pd.DataFrame, fill: str, **params) -> tuple[list[tuple], float]:
    cls = resolve(f"{EXAMPLES / ref}")
    result = run_backtest(frame, cls(**params), EngineConfig(execution=ExecutionConfig(fill=fill)))
    m = result.engine.market
    trades = [(f.time, f.side, str(m.to_base(f.lots)), str(m.price(f.price)), f.reason) for f in result.fills]
    return trades, result.engine.equity_quote()


@pytest.mark.parametrize("fill", ["close", "next_open"])
@pytest.mark.parametrize("shape", ["real", "gapped"])
def test_sma_cross_equals_an_independent_implementation(
    real_candles: pd.DataFrame, fill: str, shape: str
) -> None:
    frame = real_candles if shape == "real" else gapped(real_candles)
    trades, equity = ours("sma_cross.py:SmaCross", frame, fill)
    book = reference.sma_cross(frame, fill=fill)
    assert len(trades) > 1000
    assert trades == book.trades
    assert equity == reference.final_equity(book, frame)


@pytest.mark.parametrize("fill", ["close", "next_open"])
@pytest.mark.parametrize(
    ("shape", "params"), [("real", {}), ("gapped", {}), ("real", {"stop_loss": 0.003, "take_profit": 0.004})]
)
def test_bollinger_reversion_equals_an_independent_implementation(
    real_candles: pd.DataFrame, fill: str, shape: str, params: dict
) -> None:
    frame = real_candles if shape == "real" else gapped(real_candles)
    trades, equity = ours("bollinger_reversion.py:BollingerReversion", frame, fill, **params)
    book = reference.bollinger_reversion(frame, fill=fill, **params)
    assert trades == book.trades
    assert equity == reference.final_equity(book, frame)
    reasons = {t[-1] for t in trades}
    if params:  # tight exits: both fire on real candles
        assert {"stop_loss", "take_profit"} <= reasons


def test_the_fill_models_differ_where_opens_gap(real_candles: pd.DataFrame) -> None:
    frame = gapped(real_candles.iloc[:5000].reset_index(drop=True))
    at_close, _ = ours("sma_cross.py:SmaCross", frame, "close")
    at_open, _ = ours("sma_cross.py:SmaCross", frame, "next_open")
    assert at_close != at_open and len(at_close) == len(at_open)
    assert all(b[0] - a[0] == 60_000 for a, b in zip(at_close, at_open, strict=True))  # one candle later
