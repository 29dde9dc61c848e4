"""Reading candle files: the replay source, the backtester and tests all come through here.

Accepted: CSV (optionally gzipped) or parquet with a time column named `open_time` or
`timestamp` (epoch milliseconds or ISO-8601 UTC) and `open, high, low, close, volume`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from botrader.core.candles import Candle
from botrader.core.errors import UserError

PRICE_COLUMNS = ("open", "high", "low", "close", "volume")
TIME_COLUMNS = ("open_time", "timestamp")


def read_candles_frame(path: str | Path, start: int | None = None, end: int | None = None) -> pd.DataFrame:
    """A frame with int64 `open_time` (epoch ms, ascending, unique) and float OHLCV,
    optionally cut to open times in [start, end]."""
    frame = _read(path)
    if start is not None:
        frame = frame[frame["open_time"] >= start]
    if end is not None:
        frame = frame[frame["open_time"] <= end]
    return frame.reset_index(drop=True)


def _read(path: str | Path) -> pd.DataFrame:
    file = Path(path)
    if not file.is_file():
        raise UserError(f"candle file not found: {str(path)!r}")
    try:
        if file.suffix == ".parquet":
            raw = pd.read_parquet(file)
        else:
            raw = pd.read_csv(file)
    except Exception as exc:  # pandas raises many types for unreadable files
        raise UserError(f"cannot read candle file {str(path)!r}: {exc}") from None
    return normalize_frame(raw, source=str(path))


def normalize_frame(raw: pd.DataFrame, *, source: str = "data") -> pd.DataFrame:
    columns = {c.lower().strip(): c for c in raw.columns}
    time_col = next((columns[c] for c in TIME_COLUMNS if c in columns), None)
    if time_col is None:
        raise UserError(f"{source}: no time column; expected one of {', '.join(TIME_COLUMNS)}")
    missing = [c for c in PRICE_COLUMNS if c not in columns]
    if missing:
        raise UserError(f"{source}: missing column(s) {', '.join(missing)}")
    frame = pd.DataFrame({"open_time": _to_epoch_ms(raw[time_col], source)})
    for name in PRICE_COLUMNS:
        values = pd.to_numeric(raw[columns[name]], errors="coerce").astype("float64")
        if values.isna().any():
            row = int(np.flatnonzero(values.isna().to_numpy())[0])
            raise UserError(f"{source}: non-numeric {name} at data row {row + 1}")
        frame[name] = values.to_numpy()
    frame = frame.sort_values("open_time").drop_duplicates("open_time", keep="last")
    return frame.reset_index(drop=True)


def _to_epoch_ms(column: pd.Series, source: str) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(column):
        return column.to_numpy(dtype=np.int64)
    try:
        parsed = pd.to_datetime(column, utc=True, format="ISO8601")
    except (ValueError, TypeError) as exc:
        raise UserError(f"{source}: bad timestamp ({exc})") from None
    return (parsed.astype("datetime64[ms, UTC]").astype("int64")).to_numpy()


def frame_to_candles(frame: pd.DataFrame) -> list[Candle]:
    cols = [frame[c].to_numpy() for c in ("open_time", *PRICE_COLUMNS)]
    return [
        Candle(int(t), float(o), float(h), float(lo), float(c), float(v))
        for t, o, h, lo, c, v in zip(*cols, strict=True)
    ]
