"""A short's exits, mirrored from a long's, on hand-computed levels: 10 lots sold short at
100 (entry notional 1,000, whole-unit ticks). The stop sits above and rounds up, the target
below and rounds down, the trailing stop follows the lowest low of earlier candles."""

from botrader.core.engine.exits import (
    Exits,
    ExitTracker,
    short_stop_level,
    short_target_level,
    short_trail_level,
)

SHORT, ENTRY = -10, 1_000


def tracker(exits: Exits) -> ExitTracker:
    t = ExitTracker(exits)
    t.reset(100)
    return t


def test_levels_round_against_the_trader() -> None:
    assert short_stop_level(1_001, 10, 100_000) == 111  # ceil(100.1 × 1.1 = 110.11)
    assert short_target_level(1_001, 10, 50_000) == 95  # floor(100.1 × 0.95 = 95.095)
    assert short_trail_level(97, 50_000) == 102  # ceil(97 × 1.05 = 101.85)


def test_a_short_stop_loss_triggers_on_the_high_and_fills_at_the_stop_or_the_gapped_open() -> None:
    t = tracker(Exits(stop_loss=0.1))  # stop = ceil(1,000 × 1.1 / 10) = 110
    assert t.intrabar(ENTRY, SHORT, 100, 109, 95) is None
    assert t.intrabar(ENTRY, SHORT, 100, 112, 95) == ("stop_loss", 110)
    assert t.intrabar(ENTRY, SHORT, 115, 118, 114) == ("stop_loss", 115)  # opened through it


def test_a_short_take_profit_on_the_low_and_the_stop_wins_when_both_are_touched() -> None:
    t = tracker(Exits(stop_loss=0.1, take_profit=0.05))  # target = floor(1,000 × 0.95 / 10) = 95
    assert t.intrabar(ENTRY, SHORT, 100, 103, 94) == ("take_profit", 95)
    assert t.intrabar(ENTRY, SHORT, 100, 111, 94) == ("stop_loss", 110)
    assert tracker(Exits(take_profit=1.5)).intrabar(ENTRY, SHORT, 100, 100, 0) is None  # below zero: never


def test_a_short_trailing_stop_arms_at_the_activation_and_follows_earlier_lows() -> None:
    t = tracker(Exits(trailing_stop=0.05, trailing_activation=0.02))  # armed at or below 98
    assert t.after_close(ENTRY, SHORT, 101, 99) is False
    assert not t.active
    assert t.intrabar(ENTRY, SHORT, 100, 120, 99) is None  # not armed: no trailing stop yet
    t.after_close(ENTRY, SHORT, 100, 97)
    assert t.active and t.peak == 97
    # level ceil(97 × 1.05) = 102; this candle's own low (96) does not move it yet
    assert t.intrabar(ENTRY, SHORT, 99, 101, 96) is None
    t.after_close(ENTRY, SHORT, 101, 96)
    assert t.intrabar(ENTRY, SHORT, 98, 101, 97) == ("trailing_stop", 101)  # ceil(96 × 1.05 = 100.8)


def test_a_longs_exits_are_unchanged_by_the_mirror() -> None:
    t = tracker(Exits(stop_loss=0.1, trailing_stop=0.05))
    assert t.intrabar(ENTRY, 10, 100, 101, 89) == ("stop_loss", 90)
    t.after_close(ENTRY, 10, 110)
    assert t.peak == 110 and t.active  # no activation offset: armed at entry
