"""Streaming indicators must equal `ta`'s batch values on the same history (real candles)."""

import math

import numpy as np
import pandas as pd
import pytest

from botrader.core.data.files import frame_to_candles
from botrader.core.indicators import (
    FEATURE_COLUMNS,
    IndicatorParams,
    StreamingIndicators,
    add_features,
    drop_warmup,
)


@pytest.fixture(scope="module")
def history(real_candles: pd.DataFrame) -> pd.DataFrame:
    return real_candles.iloc[10_000:13_000].reset_index(drop=True)


def test_streaming_equals_batch_at_every_candle(history: pd.DataFrame) -> None:
    batch = add_features(history)
    stream = StreamingIndicators()
    checked = 0
    for i, candle in enumerate(frame_to_candles(history)):
        values = stream.update(candle)
        for column in FEATURE_COLUMNS:
            expected, got = batch[column].iloc[i], values[column]
            if pd.isna(expected):
                assert got is None, (i, column)
                continue
            assert got is not None, (i, column)
            assert math.isclose(got, expected, rel_tol=1e-9, abs_tol=1e-7), (i, column, got, expected)
            checked += 1
    assert checked > 0.99 * len(history) * len(FEATURE_COLUMNS)


def test_streaming_from_the_last_n_candles_matches_ta_on_those_candles(history: pd.DataFrame) -> None:
    window = history.iloc[-500:].reset_index(drop=True)
    stream = StreamingIndicators()
    for candle in frame_to_candles(window):
        latest = stream.update(candle)
    expected = add_features(window).iloc[-1]
    for column in ("rsi", "sma_fast", "sma_slow", "ema_fast", "macd", "macd_signal", "bb_hband", "atr"):
        assert latest[column] == pytest.approx(expected[column], rel=1e-9), column


def test_rsi_is_ta_compatible_at_extremes() -> None:
    rising = pd.DataFrame(
        {
            "open": np.arange(1.0, 31),
            "high": np.arange(1.0, 31),
            "low": np.arange(1.0, 31),
            "close": np.arange(1.0, 31),
            "volume": 1.0,
            "open_time": np.arange(30) * 60_000,
        }
    )
    stream = StreamingIndicators()
    values = [stream.update(c)["rsi"] for c in frame_to_candles(rising)]
    assert values[12] is None and values[13] == 100.0 and values[-1] == 100.0
    assert add_features(rising)["rsi"].iloc[-1] == 100.0


def test_no_look_ahead(history: pd.DataFrame) -> None:
    """Changing every candle after row k must not change any feature at or before k."""
    k = 1500
    base = add_features(history)
    tampered = history.copy()
    tampered.loc[k + 1 :, ["open", "high", "low", "close"]] *= 1.5
    changed = add_features(tampered)
    pd.testing.assert_frame_equal(base.iloc[: k + 1], changed.iloc[: k + 1])
    assert not base.iloc[k + 1 :]["rsi"].equals(changed.iloc[k + 1 :]["rsi"])


def test_drop_warmup_leaves_only_defined_rows(history: pd.DataFrame) -> None:
    params = IndicatorParams()
    clean = drop_warmup(add_features(history, params))
    assert not clean[list(FEATURE_COLUMNS)].isna().any().any()
    assert len(clean) == len(history) - (params.warmup() - 1)
    assert clean["open_time"].iloc[0] == history["open_time"].iloc[params.warmup() - 1]


def test_streaming_state_round_trips_through_json(history: pd.DataFrame) -> None:
    import json

    candles = frame_to_candles(history.iloc[:600])
    whole, first = StreamingIndicators(), StreamingIndicators()
    for c in candles:
        expected = whole.update(c)
    for c in candles[:300]:
        first.update(c)
    resumed = StreamingIndicators()
    resumed.load(json.loads(json.dumps(first.state())))
    for c in candles[300:]:
        got = resumed.update(c)
    assert got == expected
