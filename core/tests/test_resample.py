"""1m → 5m/15m/1h exactly as Binance aggregates, checked on real candles against an
independent aggregation written out by hand."""

import numpy as np
import pandas as pd
import pytest

from botrader.core.errors import UserError
from botrader.core.resample import resample


def _by_hand(minutes: pd.DataFrame, width_ms: int) -> dict[int, tuple[float, ...]]:
    out: dict[int, list] = {}
    for row in minutes.itertuples():
        out.setdefault(row.open_time - row.open_time % width_ms, []).append(row)
    need = width_ms // 60_000
    return {
        start: (
            rows[0].open,
            max(r.high for r in rows),
            min(r.low for r in rows),
            rows[-1].close,
            sum(r.volume for r in rows),
        )
        for start, rows in out.items()
        if len(rows) == need
    }


@pytest.mark.parametrize(("interval", "width"), [("5m", 300_000), ("15m", 900_000), ("1h", 3_600_000)])
def test_resample_matches_hand_aggregation(real_candles: pd.DataFrame, interval: str, width: int) -> None:
    minutes = real_candles.iloc[:5000]  # starts at 16:39, so the first buckets are partial
    got = resample(minutes, "1m", interval)
    expected = _by_hand(minutes, width)
    assert list(got["open_time"]) == sorted(expected)
    for row in got.itertuples():
        o, h, lo, c, v = expected[row.open_time]
        assert (row.open, row.high, row.low, row.close) == (o, h, lo, c)
        assert row.volume == pytest.approx(v, rel=1e-12)
    assert (got["open_time"] % width == 0).all()


def test_incomplete_buckets_are_excluded(real_candles: pd.DataFrame) -> None:
    minutes = real_candles.iloc[21 : 21 + 60 * 5 + 7].reset_index(drop=True)  # 16:39+21 = 17:00
    assert minutes["open_time"].iloc[0] % 3_600_000 == 0
    hours = resample(minutes, "1m", "1h")
    assert len(hours) == 5  # the trailing 7 minutes do not make an hour
    holed = minutes.drop(index=30)
    assert len(resample(holed, "1m", "1h")) == 4  # a missing minute voids its hour


def test_resample_rejects_uneven_intervals() -> None:
    frame = pd.DataFrame(
        {
            "open_time": np.array([0], dtype=np.int64),
            "open": [1.0],
            "high": [1.0],
            "low": [1.0],
            "close": [1.0],
            "volume": [1.0],
        }
    )
    with pytest.raises(UserError, match="cannot resample 5m into 3m"):
        resample(frame, "5m", "3m")
