"""Bad candle files never hurt: each broken file, given to every command that reads candles
(backtest, dataset build, strategy check, optimize, a replay), is one line naming the file,
the row and the problem, exit 2, and nothing written to any database. Then hypothesis throws
bytes at the reader: a frame of sane candles or a UserError, never anything else."""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from botrader.core.cli.main import main
from botrader.core.data.files import read_candles_frame
from botrader.core.errors import UserError
from tests.support.paths import SAMPLE

HEADER = "open_time,open,high,low,close,volume\n"
GOOD = [
    "2025-06-01T00:00:00Z,100,101,99,100.5,3",
    "2025-06-01T00:01:00Z,100.5,102,100,101,4",
    "2025-06-01T00:02:00Z,101,101.5,100.5,101,2",
]


def csv(*rows: str) -> bytes:
    return (HEADER + "\n".join(rows) + "\n").encode()


def gz_truncated() -> bytes:
    return gzip.compress(
        SAMPLE.read_bytes() if not SAMPLE.name.endswith(".gz") else gzip.decompress(SAMPLE.read_bytes())
    )[:5000]


def zip_truncated() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("BTCUSDT-1m-2025-06.csv", csv(*GOOD * 1))
    return buffer.getvalue()[:60]


# name, suffix, content, what the one line must say
CASES = [
    ("truncated-gzip", ".csv.gz", gz_truncated, "cannot read candle file"),
    ("truncated-zip", ".zip", zip_truncated, "cannot read candle file"),
    (
        "nan",
        ".csv",
        lambda: csv(GOOD[0], "2025-06-01T00:01:00Z,100.5,NaN,100,101,4"),
        "non-numeric high at data row 2",
    ),
    (
        "negative",
        ".csv",
        lambda: csv(GOOD[0], "2025-06-01T00:01:00Z,-1,102,-2,101,4"),
        "data row 2: a price is zero or negative",
    ),
    (
        "zero",
        ".csv",
        lambda: csv("2025-06-01T00:00:00Z,0,0,0,0,1", *GOOD[1:]),
        "data row 1: a price is zero or negative",
    ),
    (
        "high-below-low",
        ".csv",
        lambda: csv(GOOD[0], "2025-06-01T00:01:00Z,100.5,99,101,100,4"),
        "data row 2: high is below low",
    ),
    (
        "close-outside",
        ".csv",
        lambda: csv(GOOD[0], "2025-06-01T00:01:00Z,100.5,101,100,105,4"),
        "data row 2: open or close is outside high-low",
    ),
    (
        "clashing-duplicate",
        ".csv",
        lambda: csv(*GOOD, "2025-06-01T00:02:00Z,101,103,100,102,9"),
        "two different candles open at 2025-06-01 00:02",
    ),
    (
        "mixed-intervals",
        ".csv",
        lambda: csv(*GOOD, "2025-06-01T00:07:30Z,101,101.5,100.5,101,2"),
        "off the file's 60 s grid: mixed intervals",
    ),
    ("empty", ".csv", lambda: b"", "the file is empty"),
    ("not-csv", ".csv", lambda: b"\x00\x01\x02 binary junk " * 5000, "not a candle file"),
    ("log-file", ".csv", lambda: b"2025-06-01 INFO started\n" * 10_000, "not a candle file"),
]


def command(name: str, data: Path, db: str) -> list[str]:
    return {
        "backtest": ["backtest", "--data", str(data), "--db", db],
        "dataset": ["dataset", "build", "--data", str(data), "--out", str(data.parent / "d.parquet")],
        "check": ["strategy", "check", "simple_rsi", "--data", str(data)],
        "optimize": ["optimize", "--strategy", "simple_rsi", "--data", str(data), "--trials", "2",
                     "--ray-address", "none", "--mlflow-uri", db.replace("bt.db", "mlflow.db")],
        "replay": ["collect", "--source", "replay", "--symbol", "BTCUSDT", "--replay-file", str(data),
                   "--db", db, "--speed", "0"],
    }[name]  # fmt: skip


@pytest.mark.parametrize(("case", "suffix", "content", "needle"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("name", ["backtest", "dataset", "check", "optimize", "replay"])
def test_a_bad_file_is_one_line_and_writes_nothing(
    tmp_path, capsys, name, case, suffix, content, needle
) -> None:
    data = tmp_path / f"bad{suffix}"
    data.write_bytes(content())
    db = f"sqlite:///{tmp_path / 'bt.db'}"
    assert main(command(name, data, db)) == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert str(data) in err and needle in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == [data.name], "something was written"


def test_a_two_gigabyte_file_that_is_not_csv_is_refused_at_once(tmp_path, capsys) -> None:
    """A sparse 2 GB file of NUL bytes: refused from its first 64 KiB, not read whole."""
    import resource
    import time

    data = tmp_path / "huge.csv"
    with data.open("wb") as handle:
        handle.truncate(2 * 1024**3)
    began, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert main(["backtest", "--data", str(data)]) == 2
    assert "not a candle file" in capsys.readouterr().err
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert time.perf_counter() - began < 5 and grown < 100 * 1024  # KiB: far below the file


ROW = st.tuples(
    st.integers(-2, 5),  # minutes from the start, repeats and reversals allowed
    *[
        st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(["", "x", "1e400"]))
        for _ in range(5)
    ],
)


@pytest.mark.slow
@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(rows=st.lists(ROW, max_size=8), junk=st.binary(max_size=64), cut=st.integers(0, 400))
def test_the_reader_returns_sane_candles_or_one_user_error(tmp_path_factory, rows, junk, cut) -> None:
    """Whatever the bytes — random rows, junk appended, the text cut anywhere — the reader
    gives candles the engine can trust or a UserError; any other exception is a failure."""
    text = HEADER + "".join(
        f"{1_748_736_000_000 + m * 60_000},{o},{h},{lo},{c},{v}\n" for m, o, h, lo, c, v in rows
    )
    raw = (text.encode() + junk)[: cut or None]
    path = tmp_path_factory.mktemp("fuzz") / "f.csv"
    path.write_bytes(raw)
    try:
        frame = read_candles_frame(path)
    except UserError:
        return
    o, h, lo, c, v = (frame[n].to_numpy() for n in ("open", "high", "low", "close", "volume"))
    assert np.isfinite(frame[["open", "high", "low", "close", "volume"]].to_numpy()).all()
    assert (
        (lo > 0).all() and (lo <= np.minimum(o, c)).all() and (h >= np.maximum(o, c)).all() and (v >= 0).all()
    )
    assert (np.diff(frame["open_time"].to_numpy()) > 0).all()
