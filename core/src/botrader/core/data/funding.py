"""Funding rates for perpetual backtests, from Binance's USD-M data dumps as they come
(data.binance.vision `…/monthly/fundingRate/SYMBOL/SYMBOL-fundingRate-YYYY-MM.zip`: a CSV
`calc_time,funding_interval_hours,last_funding_rate`, with or without its header, plain,
gzipped or zipped), a folder of them, or one constant rate at the symbol's funding interval.

A funding time is the whole minute of `calc_time` (Binance settles on the hour; the
milliseconds a dump carries are publication noise): funding at time T is paid or received by
the position held just before T — what the candle closing at T − 1 ms left open.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from botrader.core.data.files import _sniff, _zip_member
from botrader.core.engine.funding import FundingSchedule, funding_time
from botrader.core.engine.margin import funding_rate_e8
from botrader.core.errors import UserError

COLUMNS = ("calc_time", "funding_interval_hours", "last_funding_rate")


def read_funding(path: str | Path, symbol: str | None = None) -> FundingSchedule:
    """A dump, or a folder holding dumps (their rows merged; a time given twice with two
    different rates is refused). `symbol`: only its own dumps of the folder (their names begin
    with it, as Binance names them), so one folder serves a portfolio's pairs."""
    root = Path(path)
    if root.is_dir():
        files = sorted(
            p
            for p in root.iterdir()
            if "fundingRate" in p.name and p.is_file() and (symbol is None or p.name.startswith(f"{symbol}-"))
        )
        if not files:
            name = f"{symbol}-fundingRate" if symbol else "fundingRate"
            raise UserError(f"{root}: no {name} files in the folder (SYMBOL-fundingRate-YYYY-MM.zip)")
    elif root.is_file():
        files = [root]
    else:
        raise UserError(f"funding file not found: {str(path)!r}")
    return _merge(_rows(f) for f in files)


def _rows(file: Path) -> list[tuple[int, int]]:
    _sniff(file)
    data = _zip_member(file) if file.suffix == ".zip" else file.read_bytes()
    if file.suffix == ".gz":
        data = gzip.decompress(data)
    first = data.split(b"\n", 1)[0].split(b",", 1)[0].strip()
    try:
        frame = pd.read_csv(
            io.BytesIO(data),
            header=None if first.isdigit() else "infer",
            names=list(COLUMNS) if first.isdigit() else None,
            dtype=str,
        )
    except Exception as exc:  # pandas raises many types for unreadable files
        raise UserError(f"cannot read funding file {str(file)!r}: {exc}") from None
    missing = [c for c in ("calc_time", "last_funding_rate") if c not in frame.columns]
    if missing:
        raise UserError(
            f"{file}: not a funding file (no {', '.join(missing)} column; expected Binance's "
            f"{','.join(COLUMNS)})"
        )
    rows = []
    for number, (time, rate) in enumerate(zip(frame["calc_time"], frame["last_funding_rate"], strict=True)):
        if not str(time).strip().isdigit():
            raise UserError(f"{file}: row {number + 1}: bad calc_time {time!r} (expected epoch milliseconds)")
        try:
            rows.append((funding_time(int(time)), funding_rate_e8(str(rate).strip())))
        except (UserError, ArithmeticError, ValueError):
            raise UserError(f"{file}: row {number + 1}: bad funding rate {rate!r}") from None
    return rows


def _merge(parts: Iterable[list[tuple[int, int]]]) -> FundingSchedule:
    merged: dict[int, int] = {}
    for rows in parts:
        for time, rate in rows:
            if merged.setdefault(time, rate) != rate:
                raise UserError(f"funding time {time} given twice with different rates")
    times = tuple(sorted(merged))
    return FundingSchedule(times, tuple(merged[t] for t in times))
