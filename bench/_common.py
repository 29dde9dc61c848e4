"""Shared set-up for benchmarks: repo on sys.path, real candles tiled to any length."""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from botrader.core.data.files import read_candles_frame  # noqa: E402
from tests.support.paths import REAL_MONTH  # noqa: E402


def tiled_candles(n: int) -> pd.DataFrame:
    """`n` consecutive 1m candles: the real month repeated, times continuing past its end."""
    real = read_candles_frame(REAL_MONTH)
    reps = -(-n // len(real))
    frame = pd.concat([real] * reps, ignore_index=True).iloc[:n].copy()
    frame["open_time"] = real["open_time"].iloc[0] + np.arange(n, dtype=np.int64) * 60_000
    return frame


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process and its live descendants (e.g. uvicorn's workers), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for p in [pid, *_descendants(pid)]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _descendants(pid: int) -> list[int]:
    try:
        found = [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []
    return found + [g for c in found for g in _descendants(c)]


def machine_speed() -> str:
    """One line on how fast this machine is running Python right now: shared hosts vary by 2×
    from hour to hour, and latency figures under load follow. Compare runs by it."""
    import time

    began, total = time.perf_counter(), 0
    for i in range(10_000_000):
        total += i
    return f"this machine now: a 10M-step Python loop takes {time.perf_counter() - began:.2f} s"
