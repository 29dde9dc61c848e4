"""1m → 5m/15m/1h resampling exactly as Binance aggregates candles.

A bucket starts on a UTC boundary that is a multiple of the interval since the epoch; its
open is the first minute's open, high the max, low the min, close the last minute's close,
volume the sum. A bucket missing any of its minutes (the still-forming last one, or a gap)
is left out rather than published with a wrong open or close.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from botrader.core.errors import UserError
from botrader.core.intervals import interval_ms


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
    return result
