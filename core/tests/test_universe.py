"""The point-in-time universe on four real Binance months: hand-checked picks, ties by symbol,
a symbol with nothing closed yet is not eligible, and no pick ever sees a candle that had not
closed at its refresh time (a planted future-volume spike changes nothing before it)."""

import csv
import gzip
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from botrader.core.data.files import read_candles_frame
from botrader.core.errors import UserError
from botrader.core.portfolio.universe import QuoteVolumes, Schedule, UniverseRule, universe_history
from botrader.core.resample import resample
from tests.support.paths import REPO

SYMBOLS = ("ALGOUSDT", "AVAXUSDT", "FILUSDT", "NEARUSDT")
DAY, HOUR = 86_400_000, 3_600_000
FEB = 1_738_368_000_000


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    return {s: read_candles_frame(REPO / "examples" / "data" / f"{s}-1m-2025-02.csv.gz") for s in SYMBOLS}


def test_picks_by_binances_own_trailing_quote_volume_summed_exactly_by_hand(frames) -> None:
    """The dump's quote_volume text, summed as decimals over the candles closed by the refresh
    within the lookback, is the score to the last 1e-8 USDT — and the same from a frame holding
    only that window (what a paper trader loads) as from the whole month."""
    rule = UniverseRule(top=2, lookback_ms=DAY, refresh_ms=DAY)
    at = FEB + 7 * DAY
    by_hand = {}
    for s in SYMBOLS:
        with gzip.open(REPO / "examples" / "data" / f"{s}-1m-2025-02.csv.gz", "rt") as handle:
            rows = list(csv.DictReader(handle))
        closed = [r for r in rows if at - DAY <= int(r["open_time"]) <= at - 60_000]
        by_hand[s] = int(sum(Decimal(r["quote_volume"]) for r in closed) * 10**8)
    volumes = QuoteVolumes(frames, rule)
    windows = {s: f[(f.open_time >= at - DAY) & (f.open_time < at)] for s, f in frames.items()}
    for s in SYMBOLS:
        assert volumes.units(s, at) == by_hand[s] == QuoteVolumes(windows, rule).units(s, at)
        assert volumes.score(s, at) == pytest.approx(by_hand[s] / 10**8, rel=1e-12)
    top = sorted(sorted(by_hand, key=lambda s: (-by_hand[s], s))[:2])
    assert volumes.pick(at) == top


def test_hourly_candles_rank_exactly_as_their_minutes_do(frames) -> None:
    """A rule of whole hours counted on hours (what a paper trader fetches for every candidate)
    picks what its minutes pick at every refresh of the month, each score equal to float64's
    precision: an hour's quote volume is stored as a double (as the exchange's hourly klines
    are), and a busy pair's hour has more digits than a double holds (FIL's week differs by a
    few 1e-8 USDT in 7.5e8). A rule whose refresh is not whole hours is never counted on hours."""
    rule = UniverseRule(top=2, lookback_ms=7 * DAY, refresh_ms=6 * HOUR)
    hourly = rule.hourly
    assert hourly is not None and hourly.interval_ms == HOUR
    hours = {s: resample(f, "1m", "1h") for s, f in frames.items()}
    assert all(h["quote_volume"].notna().all() for h in hours.values())
    by_minutes, by_hours = QuoteVolumes(frames, rule), QuoteVolumes(hours, hourly)
    refreshes = range(FEB + 6 * HOUR, FEB + 28 * DAY, 6 * HOUR)
    for at in refreshes:
        assert by_hours.pick(at) == by_minutes.pick(at)
        for s in SYMBOLS:
            assert by_hours.units(s, at) == pytest.approx(by_minutes.units(s, at), rel=1e-15, abs=0)
    assert len({tuple(by_hours.pick(at)) for at in refreshes}) > 1  # the picks do change
    assert UniverseRule(top=2, lookback_ms=7 * DAY, refresh_ms=90 * 60_000).hourly is None
    assert UniverseRule(top=2, lookback_ms=7 * DAY, refresh_ms=DAY, interval_ms=90 * 60_000).hourly is None


def test_an_hour_s_quote_volume_is_its_minutes_summed_by_hand(frames) -> None:
    """The dump's quote_volume text of each minute, summed as Decimal, is its hour's to the unit;
    an hour with a minute lacking it has none (never an understated partial sum)."""
    with gzip.open(REPO / "examples" / "data" / "NEARUSDT-1m-2025-02.csv.gz", "rt") as handle:
        rows = [r for _, r in zip(range(600), csv.DictReader(handle), strict=False)]
    by_hand: dict[int, Decimal] = {}
    for r in rows:
        hour = int(r["open_time"]) - int(r["open_time"]) % HOUR
        by_hand[hour] = by_hand.get(hour, Decimal(0)) + Decimal(r["quote_volume"])
    minutes = frames["NEARUSDT"].iloc[:600].reset_index(drop=True)
    hours = resample(minutes, "1m", "1h")
    assert len(hours) == 10
    for row in hours.itertuples():
        assert row.quote_volume == float(by_hand[row.open_time])  # the nearest double to the exact sum
    holed = minutes.iloc[:120].copy()
    holed.loc[5, "quote_volume"] = np.nan
    assert resample(holed, "1m", "1h")["quote_volume"].isna().tolist() == [True, False]


def test_a_candle_without_the_exchanges_quote_volume_counts_volume_times_close() -> None:
    frame = pd.DataFrame(
        {
            "open_time": [FEB, FEB + 60_000],
            "open": [2.0, 2.0],
            "high": [2.0, 2.0],
            "low": [2.0, 2.0],
            "close": [2.5, 2.0],
            "volume": [4.0, 3.0],
            "quote_volume": [np.nan, 6.12345678],
        }
    )
    rule = UniverseRule(top=1, lookback_ms=DAY, refresh_ms=HOUR)
    assert QuoteVolumes({"AAAUSDT": frame}, rule).units("AAAUSDT", FEB + 2 * 60_000) == 10 * 10**8 + 612345678


def test_ties_go_to_the_symbol_sorting_first_and_nothing_closed_is_not_eligible() -> None:
    flat = pd.DataFrame(
        {"open_time": [FEB], "open": [1.0], "high": [1.0], "low": [1.0], "close": [1.0], "volume": [5.0]}
    )
    frames = {"BBBUSDT": flat, "AAAUSDT": flat, "CCCUSDT": flat.assign(open_time=FEB + HOUR)}
    rule = UniverseRule(top=2, lookback_ms=DAY, refresh_ms=HOUR)
    assert QuoteVolumes(frames, rule).pick(FEB + 60_000) == ["AAAUSDT", "BBBUSDT"]  # CCC: not yet
    assert QuoteVolumes(frames, rule).pick(FEB) == []  # the first candle closes at FEB + 1 min


def test_no_pick_sees_the_future(frames) -> None:
    """Plant a huge volume on the least traded symbol from mid-month on: every pick before the
    plant is unchanged, and the first after it (the spike has closed) takes that symbol."""
    rule = UniverseRule(top=2, lookback_ms=3 * DAY, refresh_ms=DAY)
    before = universe_history(frames, rule, FEB + 3 * DAY, FEB + 27 * DAY)
    plant = FEB + 14 * DAY
    least = min(SYMBOLS, key=lambda s: QuoteVolumes(frames, rule).score(s, plant))
    leaked = dict(frames)
    f = frames[least]
    spike = f.open_time >= plant
    leaked[least] = f.assign(
        volume=np.where(spike, f.volume * 1e6, f.volume),
        quote_volume=np.where(spike, f.quote_volume * 1e6, f.quote_volume),
    )
    after = universe_history(leaked, rule, FEB + 3 * DAY, FEB + 27 * DAY)
    assert [p for p in after if p[0] <= plant] == [p for p in before if p[0] <= plant]
    first_after = next(p for t, p in after if t > plant)
    assert least in first_after


def test_bad_rules_are_named() -> None:
    with pytest.raises(UserError, match="bad topByQuoteVolume 0"):
        UniverseRule(top=0, lookback_ms=DAY, refresh_ms=DAY)
    with pytest.raises(UserError, match="bad refresh"):
        UniverseRule(top=2, lookback_ms=DAY, refresh_ms=1000)


def test_a_schedule_keeps_its_changes_and_latest_refresh_and_resumes_from_them() -> None:
    schedule = Schedule([])
    for t, picked in [(0, ["A"]), (10, ["A"]), (20, ["B", "A"]), (30, ["A", "B"]), (40, ["A", "B"])]:
        schedule.add(t, picked)
    assert schedule.changes() == [(0, ["A"]), (20, ["A", "B"]), (40, ["A", "B"])]
    resumed = Schedule([])
    for t, picked in schedule.changes():
        resumed.add(t, picked)
    assert [resumed.at(t) for t in range(-5, 50, 5)] == [schedule.at(t) for t in range(-5, 50, 5)]
    assert resumed.last == schedule.last == 40
    with pytest.raises(ValueError, match="not after the last"):
        schedule.add(40, ["C"])
