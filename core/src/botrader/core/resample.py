"""1m → 5m/15m/1h resampling exactly as Binance aggregates candles.

A bucket starts on a UTC boundary that is a multiple of the interval since the epoch; its
open is the first minute's open, high the max, low the min, close the last minute's close,
volume the sum, and the exchange's quote volume (where the minutes carry it) the sum of their
whole 1e-8 units (`universe.quote_units`) — the nearest double to the exact sum, so a universe
ranked from hours picks what one ranked from their minutes picks. A bucket missing any of its
minutes (the still-forming last one, or a gap) is left out rather than published with a wrong
open or close.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from botrader.core.errors import UserError
from botrader.core.intervals import interval_ms
from botrader.core.portfolio.universe import QUOTE_UNITS, quote_units


def resample(frame: pd.DataFrame, source_interval: str, target_interval: str) -> pd.DataFrame:
    src, dst = interval_ms(source_interval), interval_ms(target_interval)
    if dst % src:
        raise UserError(f"cannot resample {source_interval} into {target_interval}")
    if dst == src:
        return frame.copy()
    per_bucket = dst // src
    bucket = frame["open_time"].to_numpy() // dst * dst
    grouped = frame.assign(bucket=bucket).groupby("bucket", sort=True)
    out = grouped.agg(
        open=("open", "first"),
        high=("high", "max"),
        low=("low", "min"),
        close=("close", "last"),
        volume=("volume", "sum"),
        n=("open", "size"),
    )
    out = out[out["n"] == per_bucket].drop(columns="n")
    out.index.name = "open_time"
    result = out.reset_index()
    result["open_time"] = result["open_time"].astype(np.int64)
    if "quote_volume" in frame:
        result["quote_volume"] = _quote_sums(frame, bucket, result["open_time"].to_numpy())
    return result


def _quote_sums(frame: pd.DataFrame, bucket: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """Each kept bucket's quote volume: its minutes' whole units summed as Python integers
    (NaN where any minute has none: a partial sum would understate it)."""
    given = frame["quote_volume"].to_numpy(dtype=np.float64)
    units = quote_units(frame)
    sums: dict[int, int | None] = {}
    for b, u, q in zip(bucket.tolist(), units, given.tolist(), strict=True):
        total = sums.get(b, 0)
        sums[b] = None if total is None or q != q else total + u  # q != q: NaN
    return np.array([np.nan if sums[b] is None else sums[b] / QUOTE_UNITS for b in kept.tolist()])
