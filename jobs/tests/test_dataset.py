"""Dataset build: features from `ta`, warm-up dropped, no look-ahead, resampling from 1m."""

from pathlib import Path

import pandas as pd
import pytest

from botrader.core.candles import make_key
from botrader.core.cli.main import main
from botrader.core.data.files import frame_to_candles
from botrader.core.db import connect, upgrade
from botrader.core.db.candles import CandleStore
from botrader.core.errors import UserError
from botrader.core.indicators import FEATURE_COLUMNS, IndicatorParams
from botrader.core.resample import resample
from botrader.jobs.dataset import build_dataset, candles_from_store


def test_dataset_from_the_database_resamples_1m(sqlite_url, real_candles, tmp_path: Path) -> None:
    engine = connect(sqlite_url)
    upgrade(engine)
    store = CandleStore(engine)
    minutes = real_candles.iloc[21 : 21 + 60 * 80]  # 80 whole hours from 17:00
    store.upsert(make_key("binance", "BTCUSDT", "1m"), frame_to_candles(minutes))
    frame = candles_from_store(store, make_key("binance", "BTCUSDT", "1h"), None, None)
    expected = resample(minutes.reset_index(drop=True), "1m", "1h").assign(quote_volume=float("nan"))
    pd.testing.assert_frame_equal(frame, expected)  # Bybit's candles carry no quote volume: NaN
    result = build_dataset(frame, tmp_path / "ds.parquet")
    data = pd.read_parquet(tmp_path / "ds.parquet")
    assert result.rows == len(data) == 80 - (IndicatorParams().warmup() - 1)
    assert list(data.columns) == ["open_time", "open", "high", "low", "close", "volume", *FEATURE_COLUMNS]
    assert not data.isna().any().any()
    assert data["open_time"].is_monotonic_increasing


def test_too_few_candles_and_empty_store(sqlite_url, real_candles, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="need more than 50"):
        build_dataset(real_candles.iloc[:40], tmp_path / "x.parquet")
    assert not (tmp_path / "x.parquet").exists()
    engine = connect(sqlite_url)
    upgrade(engine)
    store = CandleStore(engine)
    with pytest.raises(UserError, match=r"no binance:ETHUSDT:1m candles \(stored: none\)"):
        candles_from_store(store, make_key("binance", "ETHUSDT", "1m"), None, None)


def test_a_missing_series_names_the_stored_ones(sqlite_url, candles_slice) -> None:
    """After a replay the candles are stored as replay:…: say so instead of sending the user
    off to backfill binance:… candles."""
    engine = connect(sqlite_url)
    upgrade(engine)
    store = CandleStore(engine)
    store.upsert(make_key("replay", "BTCUSDT", "1m"), candles_slice(0, 120))
    with pytest.raises(UserError) as err:
        candles_from_store(store, make_key("binance", "BTCUSDT", "1m"), None, None)
    assert "stored: replay:BTCUSDT:1m (120 candles)" in str(err.value)
    assert "--exchange" in str(err.value)


def test_dataset_command_from_a_file(tmp_path: Path, capsys) -> None:
    from tests.support.paths import SAMPLE

    out = tmp_path / "sample.parquet"
    rc = main(
        [
            "dataset",
            "build",
            "--data",
            str(SAMPLE),
            "--interval",
            "5m",
            "--start",
            "2025-06-01T12:00",
            "--end",
            "2025-06-01T23:59",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    data = pd.read_parquet(out)
    assert len(data) == 144 - 49  # 12 h of 5m buckets minus the warm-up
    assert "wrote 95 rows" in capsys.readouterr().out
