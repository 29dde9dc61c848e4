"""Engine behaviour: sizing, execution algorithms, circuit breakers, exact resume."""

import json
from decimal import Decimal

import pytest

from botrader.core.engine.engine import Engine, EngineConfig
from botrader.core.engine.execution import ExecutionConfig
from botrader.core.engine.risk import RiskConfig
from botrader.core.errors import UserError
from engine_helpers import Scripted, feed


def engine(actions: dict[int, float], **kw: object) -> Engine:
    risk = kw.pop("risk", RiskConfig())
    execution = kw.pop("execution", ExecutionConfig())
    return Engine(
        Scripted(actions),
        EngineConfig(budget=Decimal(str(kw.pop("budget", 10_000))), risk=risk, execution=execution),
    )


def test_market_buy_fills_at_the_signal_close_with_all_cash() -> None:
    e = engine({1: 1.0})
    feed(e, [50_000.0, 50_000.0, 51_000.0])
    (fill,) = e.fills
    assert (fill.time, fill.lots, fill.price) == (e.times[1], 19_980, 5_000_000)
    assert e.market.to_quote(e.equity[-1]) == Decimal("0.01") + Decimal("0.19980") * 51_000


def test_max_position_fraction_and_trade_risk_cap_the_size() -> None:
    e = engine({0: 1.0}, risk=RiskConfig(max_position_fraction=0.5))
    feed(e, [50_000.0])
    assert e.fills[0].lots == 9_990  # 0.5 × 10,000 budget incl. fee
    e = engine({0: 1.0, 1: 1.0}, risk=RiskConfig(max_trade_risk_fraction=0.25))
    feed(e, [50_000.0, 50_000.0])
    assert [f.lots for f in e.fills] == [4_995, 4_993]  # each order ≤ 25% of equity at the time


def test_sell_without_position_and_dust_orders_do_nothing() -> None:
    e = engine({0: -1.0, 1: 0.0001})  # 1 USDT is below the 5 USDT minimum notional
    feed(e, [50_000.0, 50_000.0])
    assert e.fills == [] and e.orders == []


def test_twap_slices_over_the_next_candles() -> None:
    e = engine({0: 1.0}, execution=ExecutionConfig(algo="twap", slices=4, fee_rate=0.0))
    feed(e, [100.0, 100.0, 101.0, 102.0, 103.0, 104.0])
    assert [f.time for f in e.fills] == e.times[1:5]  # children at the next 4 closes: 100, 101, 102, 103
    # 25 BTC each while cash lasts; the last child buys what the remaining 2,425 USDT affords
    assert [f.lots for f in e.fills] == [2_500_000] * 3 + [2_354_368]
    assert e.orders[0].status == "partially_filled" and e.portfolio.cash >= 0


def test_twap_children_are_equal_when_cash_allows() -> None:
    e = engine({0: 0.5}, execution=ExecutionConfig(algo="twap", slices=4, fee_rate=0.0))
    feed(e, [100.0] * 6)
    assert [f.lots for f in e.fills] == [1_250_000] * 4 and e.orders[0].status == "filled"


def test_vwap_weights_children_by_volume() -> None:
    e = engine({20: 0.5}, execution=ExecutionConfig(algo="vwap", slices=2, fee_rate=0.0))
    volumes = [10.0] * 21 + [30.0, 10.0]
    feed(e, [100.0] * 23, volumes)
    first, second = e.fills
    assert first.lots == 5_000_000 * 30 // (30 + 10)  # a heavy candle takes more of the 50 BTC
    assert first.lots + second.lots == 5_000_000


def test_participation_cap_spreads_a_market_order() -> None:
    e = engine({0: 1.0}, execution=ExecutionConfig(participation=0.1, fee_rate=0.0))
    feed(e, [100.0] * 6, [200.0] * 6)  # 10% of 200 BTC = 20 BTC per candle; the order wants 100
    assert [f.lots for f in e.fills] == [2_000_000] * 5
    assert e.orders[0].status == "filled" and [f.time for f in e.fills] == e.times[:5]


def test_drawdown_breaker_halts_and_says_why() -> None:
    e = engine({0: 1.0, 5: -1.0}, risk=RiskConfig(max_drawdown_fraction=0.1))
    feed(e, [100.0, 100.0, 95.0, 89.0, 90.0, 120.0])
    assert "max_drawdown" in e.risk.state.open
    assert "below its peak" in e.risk.state.open["max_drawdown"]
    assert len(e.fills) == 1  # the sell at candle 5 was blocked


def test_daily_loss_breaker_resets_next_utc_day() -> None:
    e = engine({0: 1.0, 3: -1.0, 1441: -1.0}, risk=RiskConfig(daily_loss_limit_fraction=0.02))
    feed(e, [100.0] + [97.0] * 1442)  # -3% on day one; candle 1440 opens the next UTC day
    assert "daily_loss" not in e.risk.state.open  # the new day cleared it
    assert [f.side for f in e.fills] == ["buy", "sell"]  # the sell at candle 3 was blocked
    assert e.fills[-1].time == e.times[1441]  # trading resumed the next day


def test_consecutive_losses_breaker() -> None:
    actions = {i: (1.0 if i % 2 == 0 else -1.0) for i in range(10)}
    e = engine(actions, risk=RiskConfig(max_consecutive_losses=2), execution=ExecutionConfig(fee_rate=0.001))
    feed(e, [100.0] * 10)  # every round trip loses the fees
    assert "consecutive_losses" in e.risk.state.open and len(e.fills) == 4


def test_emergency_stop_flattens_and_halts() -> None:
    e = engine({0: 1.0, 3: 1.0})
    feed(e, [100.0, 100.0])
    e.emergency_stop()
    feed(e, [101.0, 102.0], start=2)
    assert [f.side for f in e.fills] == ["buy", "sell"] and e.portfolio.lots == 0
    assert "emergency_stop" in e.risk.state.open
    e.clear_emergency_stop()
    assert not e.risk.halted


def test_stale_data_breaker() -> None:
    e = engine({}, risk=RiskConfig(stale_data_seconds=120))
    feed(e, [100.0])
    assert not e.check_stale(e.times[-1] + 60_000 * 3, 60_000)
    assert e.check_stale(e.times[-1] + 60_000 * 5, 60_000) and e.risk.halted
    feed(e, [100.0], start=5)
    e.check_stale(e.times[-1] + 60_000, 60_000)
    assert not e.risk.halted


def test_snapshot_resume_is_exact() -> None:
    actions = {i: (0.7 if i % 7 == 0 else -0.5) for i in range(0, 60, 3)}
    closes = [100 + (i % 13) * 0.37 for i in range(60)]
    config = dict(execution=ExecutionConfig(algo="twap", slices=3, slippage_bps=1.5))
    whole = engine(actions, **config)
    feed(whole, closes)
    first = engine(actions, **config)
    feed(first, closes[:31])
    snap = json.loads(json.dumps(first.snapshot()))
    second = engine(actions, **config)
    second.restore(snap)
    feed(second, closes[31:], start=31)
    assert first.fills + second.fills == whole.fills
    assert second.portfolio == whole.portfolio


def test_replayed_candles_are_ignored() -> None:
    e = engine({0: 1.0})
    feed(e, [100.0, 100.0])
    feed(e, [100.0, 100.0])
    assert len(e.fills) == 1 and len(e.times) == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"budget": -5}, "bad budget -5"),
        ({"risk": {"max_position_fraction": 1.5}}, "bad max_position_fraction 1.5"),
        ({"execution": {"algo": "iceberg"}}, "unknown execution algo 'iceberg'"),
        ({"execution": {"fee_rate": -0.1}}, "bad fee rate -0.1"),
    ],
)
def test_bad_config_is_a_clear_error(kwargs: dict, message: str) -> None:
    with pytest.raises(UserError, match=message):
        if "budget" in kwargs:
            EngineConfig(budget=Decimal(kwargs["budget"]))
        elif "risk" in kwargs:
            RiskConfig(**kwargs["risk"])
        else:
            ExecutionConfig(**kwargs["execution"])
