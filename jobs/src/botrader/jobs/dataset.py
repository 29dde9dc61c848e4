"""Dataset job: candles (from the database or a file) → indicator features → parquet.

The feature columns are `botrader.core.indicators.batch.FEATURE_COLUMNS` (documented
there); rows are in time order, warm-up rows dropped, no row uses a later candle. An
interval that is not stored is resampled from stored 1m candles the way Binance would.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from botrader.core.candles import SeriesKey
from botrader.core.db.candles import CandleStore
from botrader.core.errors import UserError
from botrader.core.indicators import FEATURE_COLUMNS, add_features, drop_warmup
from botrader.core.indicators.batch import DEFAULT_PARAMS, IndicatorParams
from botrader.core.resample import resample


@dataclass(frozen=True, slots=True)
class DatasetResult:
    rows: int
    dropped_warmup: int
    first: int | None
    last: int | None
    path: Path


def candles_from_store(
    store: CandleStore, key: SeriesKey, start: int | None, end: int | None
) -> pd.DataFrame:
    frame = store.load_frame(key, start, end)
    if frame.empty and key.interval != "1m":
        minute = SeriesKey(key.exchange, key.symbol, "1m")
        frame = resample(store.load_frame(minute, start, end), "1m", key.interval)
    if frame.empty:
        todo = "choose a stored series (--exchange, --symbol), pass --data FILE, or run `botrader backfill`"
        raise store.missing(key, todo, start, end)
    return frame


DATASET_COLUMNS = ["open_time", "open", "high", "low", "close", "volume", *FEATURE_COLUMNS]


def build_dataset(
    candles: pd.DataFrame,
    out: Path,
    params: IndicatorParams = DEFAULT_PARAMS,
    *,
    symbol: str = "BTCUSDT",
    interval: str = "1m",
) -> DatasetResult:
    features = drop_warmup(add_features(candles, params))[DATASET_COLUMNS]  # the same columns from any source
    if features.empty:
        raise UserError(
            f"only {len(candles)} candles: need more than {params.warmup()} to warm up the indicators"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".partial")
    _write_parquet(features, tmp, {"botrader.symbol": symbol, "botrader.interval": interval})
    tmp.replace(out)  # never leave a half-written dataset under the real name
    return DatasetResult(
        len(features),
        len(candles) - len(features),
        int(features["open_time"].iloc[0]),
        int(features["open_time"].iloc[-1]),
        out,
    )


def _write_parquet(frame: pd.DataFrame, path: Path, meta: dict[str, str]) -> None:
    """Parquet with Botrader's keys in the schema metadata: a dataset knows its market."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    extra = {k.encode(): v.encode() for k, v in meta.items()}
    pq.write_table(table.replace_schema_metadata({**(table.schema.metadata or {}), **extra}), path)


def market_of(path: Path) -> tuple[str | None, str | None]:
    """(symbol, interval) a dataset was built for, or a Binance dump's name says; else None."""
    from botrader.core.data.files import DUMP_NAME

    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            meta = pq.read_schema(path).metadata or {}
        except (OSError, ValueError):
            meta = {}
        if b"botrader.symbol" in meta:
            return meta[b"botrader.symbol"].decode(), meta.get(b"botrader.interval", b"1m").decode()
    found = DUMP_NAME.match(path.name)
    return (found.group(1), found.group(2)) if found else (None, None)
