from pathlib import Path

import pandas as pd
import pytest

from botrader.core.data.files import frame_to_candles, read_candles_frame
from botrader.core.errors import UserError
from tests.support.paths import SAMPLE

ROWS = "open,high,low,close,volume\n1,2,0.5,1.5,10\n1.5,2.5,1,2,11\n"


def test_reads_iso_csv_gz_sample() -> None:
    frame = read_candles_frame(SAMPLE)
    assert len(frame) == 2880
    assert frame["open_time"].iloc[0] == 1748736000000  # 2025-06-01T00:00Z
    assert frame["open_time"].diff().dropna().eq(60_000).all()


def test_reads_epoch_ms_timestamp_column_and_parquet(tmp_path: Path) -> None:
    csv = tmp_path / "c.csv"
    csv.write_text("timestamp,open,high,low,close,volume\n60000,1.5,2.5,1,2,11\n0,1,2,0.5,1.5,10\n")
    frame = read_candles_frame(csv)
    assert list(frame["open_time"]) == [0, 60000]  # sorted by time
    parquet = tmp_path / "c.parquet"
    frame.to_parquet(parquet)
    again = read_candles_frame(parquet)
    pd.testing.assert_frame_equal(frame, again)
    assert frame_to_candles(again)[0].close == 1.5


def test_bad_files_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="candle file not found"):
        read_candles_frame(tmp_path / "missing.csv")
    no_time = tmp_path / "n.csv"
    no_time.write_text(ROWS)
    with pytest.raises(UserError, match="no time column"):
        read_candles_frame(no_time)
    bad = tmp_path / "b.csv"
    bad.write_text("open_time,open,high,low,close\n2025-01-01T00:00:00Z,1,1,1,1\n")
    with pytest.raises(UserError, match="missing column"):
        read_candles_frame(bad)
    text = tmp_path / "t.csv"
    text.write_text("open_time,open,high,low,close,volume\n2025-01-01T00:00:00Z,1,1,x,1,1\n")
    with pytest.raises(UserError, match="non-numeric low at data row 1"):
        read_candles_frame(text)
