"""Reading candle files: the replay source, the backtester, datasets and tests all come
through here.

Accepted:
- CSV (optionally gzipped) or parquet with a time column named `open_time` or `timestamp`
  (epoch milliseconds or ISO-8601 UTC) and `open, high, low, close, volume`;
- Binance's public data dumps (data.binance.vision) as they come: the monthly or daily kline
  CSV with or without its header row, or the `.zip` holding it; open times in milliseconds or,
  as spot files have since 2025, in microseconds. `symbol_of` reads the symbol from the
  dump's file name (`AVAXUSDT-1m-2024-01.zip`).
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from botrader.core.candles import Candle
from botrader.core.errors import UserError

PRICE_COLUMNS = ("open", "high", "low", "close", "volume")
QUOTE_VOLUME = "quote_volume"  # optional: a file's or a stored candle's, in the quote asset
TIME_COLUMNS = ("open_time", "timestamp")
# Binance's kline columns, in the order its dumps and its REST API give them
KLINE_COLUMNS = (
    "open_time", "open", "high", "low", "close", "volume", "close_time",
    "quote_volume", "count", "taker_buy_volume", "taker_buy_quote_volume", "ignore",
)  # fmt: skip
DUMP_NAME = re.compile(r"^([A-Z0-9]{2,20})-(\d+[smhdwM])-\d{4}-\d{2}(?:-\d{2})?\.(?:csv|csv\.gz|zip)$")
MICROSECONDS = 10**14  # epoch values above this are µs (ms stay below it until the year 5138)


def symbol_of(path: str | Path) -> str | None:
    """The symbol a Binance dump's file name carries, if it is one."""
    found = DUMP_NAME.match(Path(path).name)
    return found.group(1) if found else None


def read_candles_frame(path: str | Path, start: int | None = None, end: int | None = None) -> pd.DataFrame:
    """A frame with int64 `open_time` (epoch ms, ascending, unique) and float OHLCV (and
    `quote_volume` when the file has it), optionally cut to open times in [start, end]."""
    frame = _read(path)
    if start is not None:
        frame = frame[frame["open_time"] >= start]
    if end is not None:
        frame = frame[frame["open_time"] <= end]
    return frame.reset_index(drop=True)


SNIFF = 64 * 1024  # bytes read before trusting a file's kind
MAGIC = {b"\x1f\x8b": "gzip", b"PK": "zip", b"PAR1": "parquet"}


def _sniff(file: Path) -> None:
    """Refuse, before reading it whole, a file that cannot be candles: binary that is not
    gzip, zip or parquet, or text whose first line is not comma-separated (a 2 GB log file
    is one line in well under a second, not minutes of parsing and gigabytes of memory)."""
    with file.open("rb") as handle:
        head = handle.read(SNIFF)
    if any(head.startswith(magic) for magic in MAGIC):
        return
    if not head.strip():
        raise UserError(f"{file}: the file is empty (expected a header and candles)")
    first = head.split(b"\n", 1)[0]
    if b"\0" in head or b"," not in first:
        raise UserError(
            f"{file}: not a candle file (expected CSV with a header naming open_time or timestamp "
            "and open, high, low, close, volume; gzip, zip or parquet)"
        )


def _read(path: str | Path) -> pd.DataFrame:
    file = Path(path)
    if not file.is_file():
        raise UserError(f"candle file not found: {str(path)!r}")
    _sniff(file)
    try:
        if file.suffix == ".parquet":
            raw = pd.read_parquet(file)
        elif file.suffix == ".zip":
            raw = _read_csv_text(_zip_member(file))
        else:
            raw = _read_csv_text(file.read_bytes(), gzipped=file.suffix == ".gz")
    except UserError:
        raise
    except Exception as exc:  # pandas raises many types for unreadable files
        raise UserError(f"cannot read candle file {str(path)!r}: {exc}") from None
    return normalize_frame(raw, source=str(path))


def _zip_member(file: Path) -> bytes:
    with zipfile.ZipFile(file) as archive:
        members = [n for n in archive.namelist() if n.lower().endswith(".csv")]
        if len(members) != 1:
            raise UserError(f"{file}: expected one CSV inside the zip, found {len(members)}")
        return archive.read(members[0])


def _read_csv_text(data: bytes, *, gzipped: bool = False) -> pd.DataFrame:
    """A CSV with a header, or a headerless Binance kline dump (its first field a number)."""
    if gzipped:
        import gzip

        data = gzip.decompress(data)
    first = data.split(b"\n", 1)[0].split(b",", 1)[0].strip()
    headerless = first.isdigit()
    return pd.read_csv(
        io.BytesIO(data),
        header=None if headerless else "infer",
        names=list(KLINE_COLUMNS) if headerless else None,
    )


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
        bad = ~np.isfinite(values.to_numpy())
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise UserError(
                f"{source}: non-numeric {name} at data row {row + 1} (missing, not a number or infinite)"
            )
        frame[name] = values.to_numpy()
    if QUOTE_VOLUME in columns:  # Binance's own, which a universe ranks by (kept where given)
        frame[QUOTE_VOLUME] = _quote_volumes(raw[columns[QUOTE_VOLUME]], source)
    check_candles(frame, source)
    frame = frame.sort_values("open_time", kind="stable")  # files concatenated out of order
    twice = frame.duplicated("open_time", keep=False)
    if twice.any():
        clash = frame[twice].groupby("open_time").nunique().gt(1).any(axis=1)
        if clash.any():
            when = pd.Timestamp(int(clash[clash].index[0]), unit="ms", tz="UTC").strftime("%Y-%m-%d %H:%M")
            raise UserError(f"{source}: two different candles open at {when}: which one is right?")
        frame = frame.drop_duplicates("open_time", keep="last")  # the same candle twice
    check_grid(frame["open_time"].to_numpy(), frame, source)
    return frame.reset_index(drop=True)


def _quote_volumes(column: pd.Series, source: str) -> np.ndarray:
    """A file's quote volumes: empty where it has none (NaN), else finite and not negative."""
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)
    given = ~pd.isna(column.to_numpy())
    bad = given & ~(np.isfinite(values) & (values >= 0))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise UserError(
            f"{source}: bad quote_volume {column.iloc[row]} at data row {row + 1} (expected a number >= 0)"
        )
    return values


def check_candles(frame: pd.DataFrame, source: str) -> None:
    """Candles a market could have printed, in time order, or one line naming the first row
    that is not: prices > 0, volume ≥ 0, low ≤ open, close ≤ high, times strictly rising on one
    interval's grid (a gap of several intervals is real — exchanges halt — and allowed)."""
    o, h, lo, c, v = (frame[n].to_numpy() for n in PRICE_COLUMNS)
    problems = [
        (np.minimum.reduce([o, h, lo, c]) <= 0, "a price is zero or negative"),
        (v < 0, "volume is negative"),
        (h < lo, "high is below low"),
        ((np.maximum(o, c) > h) | (np.minimum(o, c) < lo), "open or close is outside high-low"),
    ]
    for mask, what in problems:
        if mask.any():
            row = int(np.flatnonzero(mask)[0])
            raise UserError(f"{source}: data row {row + 1}: {what} ({_describe(frame, row)})")


def check_grid(times: np.ndarray, frame: pd.DataFrame, source: str) -> None:
    """Sorted open times on one interval's grid: a step that is not a whole number of the
    shortest step means two intervals are mixed (a gap of several intervals is allowed)."""
    steps = np.diff(times)
    if not len(steps):
        return
    interval = int(steps.min())
    off = np.flatnonzero(steps % interval != 0)
    if len(off):
        row = int(off[0]) + 1
        raise UserError(
            f"{source}: candle at {_describe(frame, row)} is off the file's {interval // 1000} s grid: "
            "mixed intervals"
        )


def _describe(frame: pd.DataFrame, row: int) -> str:
    r = frame.iloc[row]
    when = pd.Timestamp(int(r["open_time"]), unit="ms", tz="UTC").strftime("%Y-%m-%d %H:%M:%S")
    prices = " ".join(f"{name} {r[name]:g}" for name in PRICE_COLUMNS)
    return f"{when} {prices}"


def _to_epoch_ms(column: pd.Series, source: str) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(column):
        values = column.to_numpy(dtype=np.int64)
        return np.where(values >= MICROSECONDS, values // 1000, values)
    try:
        parsed = pd.to_datetime(column, utc=True, format="ISO8601")
    except (ValueError, TypeError) as exc:
        raise UserError(f"{source}: bad timestamp ({exc})") from None
    return (parsed.astype("datetime64[ms, UTC]").astype("int64")).to_numpy()


def frame_to_candles(frame: pd.DataFrame) -> list[Candle]:
    """The frame's candles, with their quote volume where the frame has one (a replay stores
    what a backtest of the same file ranks by)."""
    cols = [frame[c].to_numpy() for c in ("open_time", *PRICE_COLUMNS)]
    quote = frame[QUOTE_VOLUME].to_numpy() if QUOTE_VOLUME in frame else np.full(len(frame), np.nan)
    return [
        Candle(int(t), float(o), float(h), float(lo), float(c), float(v), None if q != q else float(q))
        for t, o, h, lo, c, v, q in zip(*cols, quote, strict=True)
    ]


def frames_by_symbol(
    paths: list[Path], wanted: list[str] | None, start: int | None, end: int | None
) -> dict[str, pd.DataFrame]:
    """Each symbol's candles from files and folders of them; a file's symbol is its Binance
    dump name's (`AVAXUSDT-1m-2025-02.csv.gz`). Several files of one symbol are joined."""
    found: dict[str, list[Path]] = {}
    for path in paths:
        files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
        for file in files:
            symbol = symbol_of(file)
            if symbol is None:
                if path.is_dir():
                    continue  # a folder may hold other files (a README, a checksum)
                example = "AVAXUSDT-1m-2025-02.csv.gz"
                raise UserError(
                    f"{file}: no symbol in its name (expected a Binance dump name like {example})"
                )
            found.setdefault(symbol, []).append(file)
    if not found:
        raise UserError(
            f"no candle files named like SYMBOL-1m-YYYY-MM.csv(.gz)/.zip in {', '.join(map(str, paths))}"
        )
    missing = sorted(set(wanted or []) - set(found))
    if missing:
        raise UserError(f"no candle file for {missing[0]} (found: {', '.join(sorted(found))})")
    frames = {}
    for symbol in wanted or sorted(found):
        parts = [read_candles_frame(f, start, end) for f in found[symbol]]
        frame = pd.concat(parts).drop_duplicates("open_time").sort_values("open_time").reset_index(drop=True)
        if len(frame):
            frames[symbol] = frame
    return frames
