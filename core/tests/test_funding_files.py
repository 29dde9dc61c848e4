"""Funding-rate dumps in Binance's own format (data.binance.vision fundingRate: the CSV with
or without its header, gzipped or zipped, a folder of months) and the schedule the engine
asks which funding times fall between two candles."""

import gzip
import zipfile
from pathlib import Path

import pytest

from botrader.core.data.funding import read_funding
from botrader.core.engine.funding import ConstantFunding, FundingSchedule
from botrader.core.errors import UserError

HOUR = 3_600_000
HEADER = "calc_time,funding_interval_hours,last_funding_rate\n"
FEB = 1_738_368_000_000  # 2025-02-01 00:00 UTC
CSV = (
    "calc_time,funding_interval_hours,last_funding_rate\n"
    f"{FEB},8,0.00010000\n"
    f"{FEB + 8 * HOUR + 5},8,-0.00002500\n"  # the milliseconds a dump carries are noise
    f"{FEB + 16 * HOUR},8,0.00012345\n"
)


def test_a_monthly_zip_as_binance_publishes_it(tmp_path: Path) -> None:
    dump = tmp_path / "AVAXUSDT-fundingRate-2025-02.zip"
    with zipfile.ZipFile(dump, "w") as archive:
        archive.writestr("AVAXUSDT-fundingRate-2025-02.csv", CSV)
    schedule = read_funding(dump)
    assert schedule.times == (FEB, FEB + 8 * HOUR, FEB + 16 * HOUR)
    assert schedule.rates == (10_000, -2_500, 12_345)


def test_headerless_gzipped_and_a_folder_of_months_merge(tmp_path: Path) -> None:
    rows = CSV.splitlines()[1:]
    (tmp_path / "X-fundingRate-2025-02.csv.gz").write_bytes(gzip.compress("\n".join(rows[:2]).encode()))
    (tmp_path / "X-fundingRate-2025-03.csv").write_text("\n".join(rows[1:]) + "\n")  # overlaps one row
    (tmp_path / "X-1m-2025-02.csv").write_text("not funding\n")  # candles beside them are ignored
    schedule = read_funding(tmp_path)
    assert schedule.times == (FEB, FEB + 8 * HOUR, FEB + 16 * HOUR)


def test_between_is_open_below_and_closed_above() -> None:
    schedule = FundingSchedule((FEB, FEB + 8 * HOUR), (10_000, 20_000))
    assert schedule.between(FEB - 1, FEB) == [(FEB, 10_000)]
    assert schedule.between(FEB, FEB + 8 * HOUR - 1) == []  # opened at the funding time: pays nothing for it
    assert schedule.between(FEB - 1, FEB + 8 * HOUR) == [(FEB, 10_000), (FEB + 8 * HOUR, 20_000)]


def test_a_constant_rate_and_coverage() -> None:
    constant = ConstantFunding.of("0.0001", 8 * HOUR)
    assert constant.between(FEB + 1, FEB + 24 * HOUR) == [
        (FEB + 8 * HOUR, 10_000),
        (FEB + 16 * HOUR, 10_000),
        (FEB + 24 * HOUR, 10_000),
    ]
    assert constant.between(FEB - 1, FEB) == [(FEB, 10_000)]
    assert constant.between(FEB, FEB + 8 * HOUR - 1) == []  # opened at the funding time: pays nothing for it
    assert constant.next_after(FEB) == FEB + 8 * HOUR and constant.next_after(FEB - 1) == FEB
    assert constant.between(FEB + 10**12, FEB + 10**12 + 8 * HOUR)  # no end: a bot runs for months
    schedule = FundingSchedule((FEB + 8 * HOUR, FEB + 16 * HOUR), (1, 2))
    assert schedule.first_missing(FEB + 1, FEB + 16 * HOUR, 8 * HOUR) is None
    assert schedule.first_missing(FEB, FEB + 16 * HOUR, 8 * HOUR) == FEB  # FEB itself is missing


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("open_time,open\n1,2\n", r"not a funding file \(no calc_time, last_funding_rate column"),
        (f"{HEADER}{FEB},8,0.000123456\n", r"row 1: bad funding rate"),
        (f"{HEADER}yesterday,8,0.0001\n", r"row 1: bad calc_time"),
    ],
)
def test_bad_files_are_one_line(tmp_path: Path, text: str, message: str) -> None:
    bad = tmp_path / "bad-fundingRate.csv"
    bad.write_text(text)
    with pytest.raises(UserError, match=message):
        read_funding(bad)


def test_conflicting_rates_and_missing_paths(tmp_path: Path) -> None:
    (tmp_path / "a-fundingRate.csv").write_text(f"{FEB},8,0.0001\n")
    (tmp_path / "b-fundingRate.csv").write_text(f"{FEB},8,0.0002\n")
    with pytest.raises(UserError, match="given twice with different rates"):
        read_funding(tmp_path)
    with pytest.raises(UserError, match="funding file not found"):
        read_funding(tmp_path / "nope.zip")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UserError, match="no fundingRate files in the folder"):
        read_funding(empty)
