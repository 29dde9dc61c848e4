"""Exits (stop-loss, take-profit, trailing stop, time stop) and the fill models on
hand-computed candles. A market with tick 1 and step 1 keeps the arithmetic readable: prices
are whole quote units, quantities whole lots, cash units are quote units."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from botrader.core.engine.engine import Engine, EngineConfig
from botrader.core.engine.execution import ExecutionConfig
from botrader.core.engine.exits import Exits, stop_level, target_level, trail_level
from botrader.core.engine.units import MarketRules
from botrader.core.errors import UserError
from engine_helpers import MINUTE, T0, Scripted

WHOLE = MarketRules(symbol="TESTUSDT", tick_size=Decimal(1), step_size=Decimal(1), min_notional=Decimal(0))


def run(
    candles: list[tuple[float, float, float, float]],
    plan: dict[int, float],
    exits: Exits | None = None,
    *,
    fee: float = 0.0,
    fill: str = "close",
    overrides: dict | None = None,
) -> Engine:
    config = EngineConfig(
        budget=Decimal(1000),
        market=WHOLE,
        execution=ExecutionConfig(fee_rate=fee, fill=fill),  # type: ignore[arg-type]
        exits=overrides or {},
    )
    engine = Engine(Scripted(plan, exits), config)
    for i, (o, h, lo, c) in enumerate(candles):
        engine.on_bar(T0 + i * MINUTE, o, h, lo, c, 1e9)
    return engine


def fills(engine: Engine) -> list[tuple[int, str, int, int, int, str]]:
    """(candle, side, lots, price, pnl, reason)"""
    return [((f.time - T0) // MINUTE, f.side, f.lots, f.price, f.pnl, f.reason) for f in engine.fills]


FLAT = (100, 100, 100, 100)


def test_stop_loss_fills_at_the_stop_or_the_gapped_open() -> None:
    # buy 10 lots at 100 (1000 cash); stop = floor(1000 × 0.9 / 10) = 90
    touched = run([FLAT, (100, 105, 95, 98), (97, 99, 88, 92)], {0: 1.0}, Exits(stop_loss=0.1))
    assert fills(touched) == [(0, "buy", 10, 100, 0, "signal"), (2, "sell", 10, 90, -100, "stop_loss")]
    gapped = run([FLAT, (85, 86, 80, 82)], {0: 1.0}, Exits(stop_loss=0.1))  # opened through the stop
    assert fills(gapped)[-1] == (1, "sell", 10, 85, -150, "stop_loss")


def test_stop_and_fees_to_the_unit() -> None:
    # 0.1% fee: affordable = 1000 × 1e6 // (100 × 1_001_000) = 9 lots, fee ceil(0.9) = 1 → cash 99
    # stop = floor(900 × 0.9 / 9) = 90; sell 9 × 90 = 810, fee ceil(0.81) = 1; basis 901 → pnl −92
    engine = run([FLAT, (95, 96, 89, 91)], {0: 1.0}, Exits(stop_loss=0.1), fee=0.001)
    assert fills(engine) == [(0, "buy", 9, 100, 0, "signal"), (1, "sell", 9, 90, -92, "stop_loss")]
    assert engine.portfolio.cash == 99 + 809 and engine.portfolio.fees_paid == 2


def test_take_profit_and_the_stop_wins_when_both_are_touched() -> None:
    exits = Exits(stop_loss=0.1, take_profit=0.05)  # stop 90, target ceil(1000 × 1.05 / 10) = 105
    profit = run([FLAT, (101, 106, 99, 104)], {0: 1.0}, exits)
    assert fills(profit)[-1] == (1, "sell", 10, 105, 50, "take_profit")
    gapped_up = run([FLAT, (110, 112, 109, 111)], {0: 1.0}, exits)  # never better than the target
    assert fills(gapped_up)[-1] == (1, "sell", 10, 105, 50, "take_profit")
    both = run([FLAT, (100, 106, 89, 100)], {0: 1.0}, exits)  # path unknown: assume the worse
    assert fills(both)[-1] == (1, "sell", 10, 90, -100, "stop_loss")


def test_trailing_stop_arms_at_the_activation_and_follows_earlier_highs() -> None:
    # trail 5%, armed once a close-time peak reaches ceil(1000 × 1.02 / 10) = 102
    exits = Exits(trailing_stop=0.05, trailing_activation=0.02)
    candles = [
        FLAT,
        (100, 101, 99, 100),  # peak 101: not armed
        (100, 110, 96, 108),  # its own low 96 is below 110 × 0.95, but its high may have come later
        (107, 108, 104, 105),  # armed, trail = floor(110 × 0.95) = 104: hit, fill at 104
    ]
    engine = run(candles, {0: 1.0}, exits)
    assert fills(engine) == [(0, "buy", 10, 100, 0, "signal"), (3, "sell", 10, 104, 40, "trailing_stop")]
    assert trail_level(110, 50_000) == 104 and target_level(1000, 10, 20_000) == 102


def test_time_stop_closes_at_the_nth_close_through_the_fill_model() -> None:
    candles = [FLAT, (100, 101, 99, 101), (101, 102, 100, 102), (102, 103, 101, 103), (104, 104, 104, 104)]
    at_close = run(candles, {0: 1.0}, Exits(time_stop=3))
    assert fills(at_close)[-1] == (3, "sell", 10, 103, 30, "time_stop")
    next_open = run(candles, {0: 1.0}, Exits(time_stop=3), fill="next_open")
    # bought at candle 1's open (100); its third close is candle 3's → sold at candle 4's open
    assert fills(next_open) == [(1, "buy", 10, 100, 0, "signal"), (4, "sell", 10, 104, 40, "time_stop")]


def test_next_open_fills_at_the_next_open_and_exits_can_trigger_in_the_entry_candle() -> None:
    # decided at candle 0's close (100) for 10 lots; candle 1 opens at 101: 1000 // 101 = 9 lots
    engine = run([FLAT, (101, 103, 100, 102), (102, 102, 102, 102)], {0: 1.0}, fill="next_open")
    assert fills(engine) == [(1, "buy", 9, 101, 0, "signal")]
    # entry at the open of candle 1 (100): its low comes after the open, so the stop can fire
    stopped = run([FLAT, (100, 100, 80, 85)], {0: 1.0}, Exits(stop_loss=0.1), fill="next_open")
    assert fills(stopped) == [(1, "buy", 10, 100, 0, "signal"), (1, "sell", 10, 90, -100, "stop_loss")]


def test_manifest_overrides_and_exits_run_while_paused() -> None:
    declared = Exits(stop_loss=0.1, take_profit=0.5)
    engine = run([FLAT, (95, 96, 94, 95)], {0: 1.0}, declared, overrides={"stop_loss": 0.05})
    assert engine.exit_rules == Exits(stop_loss=0.05, take_profit=0.5)
    assert fills(engine)[-1] == (1, "sell", 10, 95, -50, "stop_loss")
    config = EngineConfig(budget=Decimal(1000), market=WHOLE, execution=ExecutionConfig(fee_rate=0))
    paused = Engine(Scripted({0: 1.0}, Exits(stop_loss=0.1)), config)
    paused.on_bar(T0, *FLAT, 1e9)
    paused.paused = True
    paused.on_bar(T0 + MINUTE, 92, 92, 85, 86, 1e9)
    assert [f.reason for f in paused.fills] == ["signal", "stop_loss"]
    with pytest.raises(UserError, match="unknown exit"):
        declared.merged({"stop": 0.1})


def test_exit_state_survives_a_snapshot_round_trip() -> None:
    exits = Exits(trailing_stop=0.05)
    candles = [FLAT, (100, 110, 100, 109), (109, 109, 105, 106), (106, 106, 104, 104)]
    whole = run(candles, {0: 1.0}, exits)
    config = EngineConfig(budget=Decimal(1000), market=WHOLE, execution=ExecutionConfig(fee_rate=0))
    first = Engine(Scripted({0: 1.0}, exits), config)
    for i, c in enumerate(candles[:2]):
        first.on_bar(T0 + i * MINUTE, *c, 1e9)
    snapshot = json.loads(json.dumps(first.snapshot()))
    second = Engine(Scripted({0: 1.0}, exits), config)
    second.restore(snapshot)
    for i, c in enumerate(candles[2:], start=2):
        second.on_bar(T0 + i * MINUTE, *c, 1e9)
    assert [f.to_dict() for f in first.fills + second.fills] == [f.to_dict() for f in whole.fills]
    assert fills(whole)[-1] == (3, "sell", 10, 104, 40, "trailing_stop")  # floor(110 × 0.95)


def test_levels_round_against_the_trader_and_bad_exits_name_the_value() -> None:
    assert stop_level(1001, 10, 100_000) == 90  # 90.09 → 90 (triggers later)
    assert target_level(1001, 10, 50_000) == 106  # 105.105 → 106 (never early)
    for bad, needle in (
        ({"stop_loss": 1.5}, "bad stop_loss 1.5"),
        ({"take_profit": 0}, "bad take_profit 0"),
        ({"time_stop": 0}, "bad time_stop 0"),
    ):
        with pytest.raises(UserError, match=needle):
            Exits(**bad)
    with pytest.raises(UserError, match="unknown fill model 'midpoint'"):
        ExecutionConfig(fill="midpoint")  # type: ignore[arg-type]
