import pytest

from botrader.core.candles import make_key, normalize_symbol
from botrader.core.errors import UserError
from botrader.core.intervals import floor_to_interval, interval_ms, last_closed_open_time
from botrader.core.timeutil import format_ms, parse_instant

JUNE_1 = 1748736000000  # 2025-06-01T00:00:00Z


def test_parse_instant_accepts_dates_iso_and_epoch_ms() -> None:
    assert parse_instant("2025-06-01") == JUNE_1
    assert parse_instant("2025-06-01T00:01:00Z") == JUNE_1 + 60_000
    assert parse_instant("2025-06-01T02:00:00+02:00") == JUNE_1
    assert parse_instant(str(JUNE_1)) == JUNE_1
    assert format_ms(JUNE_1) == "2025-06-01 00:00"


@pytest.mark.parametrize("bad", ["2024-13-01", "yesterday", "2024-01-01T25:00"])
def test_parse_instant_names_the_bad_value(bad: str) -> None:
    with pytest.raises(UserError, match=f"bad --start '{bad}'"):
        parse_instant(bad, option="--start")


def test_interval_arithmetic_is_utc_aligned() -> None:
    assert interval_ms("15m") == 900_000
    assert floor_to_interval(JUNE_1 + 7 * 60_000 + 5, "5m") == JUNE_1 + 5 * 60_000
    assert last_closed_open_time(JUNE_1 + 90_000, "1m") == JUNE_1
    with pytest.raises(UserError, match="unknown interval '7m'"):
        interval_ms("7m")


def test_symbols_are_normalized_and_checked() -> None:
    assert normalize_symbol(" btcusdt ") == "BTCUSDT"
    assert str(make_key("binance", "ethusdt", "1h")) == "binance:ETHUSDT:1h"
    with pytest.raises(UserError, match="bad symbol 'BTC-USDT'"):
        normalize_symbol("BTC-USDT")


def test_a_series_is_caught_up_when_its_newest_candle_is_the_last_closed_or_the_one_before() -> None:
    from botrader.core.intervals import caught_up

    hour, minute = 3_600_000, 60_000
    start = 472_222 * hour  # 2023-11-14 22:00 UTC, a whole hour
    now = start + 10 * minute + 30_000  # 22:10:30: the 22:09 candle has closed
    assert caught_up(start + 9 * minute, now, "1m")  # the last closed
    assert caught_up(start + 8 * minute, now, "1m")  # the one before: the next is being written
    assert not caught_up(start + 7 * minute, now, "1m")  # two behind: a backfill still landing
    assert not caught_up(None, now, "1m")  # nothing stored yet
    assert caught_up(start - 2 * hour, now, "1h")  # 21:00 closed last, 20:00 before it
    assert not caught_up(start - 3 * hour, now, "1h")
