"""Indicators a strategy asks for, updated by the engine before each decision.

They wrap the streaming indicators of `botrader.core.indicators.streaming` (whose values
equal the `ta` library's batch values on the same history), so a strategy sees the same
numbers in a backtest, in the paper trader and after a restart. Each knows two lengths:

- `warmup`: candles until it has a value (before that it is None);
- `settle`: candles until its value no longer depends on older history (to 1e-9): an SMA
  forgets at once, exponential averages slowly. A strategy's default warm-up is the largest
  `settle` of its indicators, which is what `botrader strategy check` verifies.

`Batch(fn, window)` runs your own vectorised function (pandas/numpy) over the candles: in a
backtest once over the whole file, in the paper trader over the last `window` candles at each
candle. It is where look-ahead bugs live (`shift(-1)`), and what the check's look-ahead
analysis is for.
"""

from __future__ import annotations

import math
import operator
from collections import deque
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from botrader.core.indicators.streaming import Atr, Ewm, Rsi, Window, ema

FORGET = 1e-9
SOURCES = ("open", "high", "low", "close", "volume", "hl2", "hlc3")


def settle_ewm(alpha: float) -> int:
    """Candles until an exponential average's seed weighs less than FORGET."""
    return math.ceil(math.log(FORGET) / math.log(1.0 - alpha)) if 0 < alpha < 1 else 1


def _source(name: str) -> Callable[[Any], float]:
    if name not in SOURCES:
        raise ValueError(f"unknown source {name!r}: expected one of {', '.join(SOURCES)}")
    if name == "hl2":
        return lambda bar: (bar.high + bar.low) / 2.0
    if name == "hlc3":
        return lambda bar: (bar.high + bar.low + bar.close) / 3.0
    return operator.attrgetter(name)  # a C call: indicators run on every candle


class Indicator:
    """Base class: `step(bar)` returns the new value (None while warming up). Subclasses keep
    their state in plain attributes or in streaming parts with `state()`/`load()`.

    `fast`, when set, is a pair (read, update) with value = update(read(bar)): the strategy
    calls those two directly (C-level reads, no Python frame of the indicator's own), which is
    what keeps a one-indicator strategy within a few percent of hand-written engine code."""

    warmup: int = 1
    settle: int = 1
    value: Any = None
    fast: tuple[Callable[[Any], Any], Callable[[Any], Any]] | None = None

    def step(self, bar: Any) -> Any:
        raise NotImplementedError

    def state(self) -> dict[str, Any]:
        return {"value": self.value}

    def load(self, state: dict[str, Any]) -> None:
        self.value = state["value"]


class SMA(Indicator):
    """Simple moving average of `source` over `period` candles."""

    def __init__(self, period: int, source: str = "close") -> None:
        self.window, self.source = Window(period), source
        self.read = _source(source)
        self.fast = (self.read, self.window.push)
        self.warmup = self.settle = period

    def step(self, bar: Any) -> float | None:
        self.value = value = self.window.push(self.read(bar))
        return value

    def state(self) -> dict[str, Any]:
        return {"window": self.window.state()}

    def load(self, state: dict[str, Any]) -> None:
        self.window.load(state["window"])


class EMA(Indicator):
    """Exponential moving average (span, as `ta`/pandas `ewm(span, adjust=False)`), defined
    from the `span`-th candle."""

    def __init__(self, span: int, source: str = "close") -> None:
        self.avg, self.span, self.source = ema(span), span, source
        self.read = _source(source)
        self.warmup, self.settle = span, max(span, settle_ewm(self.avg.alpha))

    def step(self, bar: Any) -> float | None:
        value = self.avg.update(self.read(bar))
        self.value = value if self.avg.count >= self.span else None
        return self.value

    def state(self) -> dict[str, Any]:
        return {"avg": self.avg.state(), "value": self.value}

    def load(self, state: dict[str, Any]) -> None:
        self.avg.load(state["avg"])
        self.value = state["value"]


class RSI(Indicator):
    """Relative strength index with Wilder's smoothing (as `ta.momentum.RSIIndicator`)."""

    def __init__(self, period: int = 14, source: str = "close") -> None:
        self.rsi, self.source = Rsi(period), source
        self.read = _source(source)
        self.fast = (self.read, self.rsi.update)
        self.warmup, self.settle = period, 1 + max(period, settle_ewm(1.0 / period))

    def step(self, bar: Any) -> float | None:
        self.value = value = self.rsi.update(self.read(bar))
        return value

    def state(self) -> dict[str, Any]:
        return {"rsi": self.rsi.state()}

    def load(self, state: dict[str, Any]) -> None:
        self.rsi.load(state["rsi"])


class MacdValue(NamedTuple):
    line: float
    signal: float
    hist: float


class MACD(Indicator):
    """MACD(fast, slow, signal) of the close, as `ta.trend.MACD`: value (line, signal, hist)."""

    def __init__(self, fast: int = 12, slow: int = 26, signal: int = 9) -> None:
        self.fast, self.slow, self.signal = ema(fast), ema(slow), ema(signal)
        self.spans = (fast, slow, signal)
        self.warmup = max(fast, slow) + signal - 1
        self.settle = max(settle_ewm(2 / (fast + 1)), settle_ewm(2 / (slow + 1))) + settle_ewm(
            2 / (signal + 1)
        )

    def step(self, bar: Any) -> MacdValue | None:
        f, s = self.fast.update(bar.close), self.slow.update(bar.close)
        fast, slow, signal = self.spans
        if self.fast.count < fast or self.slow.count < slow:
            self.value = None
            return None
        line = f - s
        sig = self.signal.update(line)
        self.value = MacdValue(line, sig, line - sig) if self.signal.count >= signal else None
        return self.value

    def state(self) -> dict[str, Any]:
        return {k: getattr(self, k).state() for k in ("fast", "slow", "signal")} | {
            "value": list(self.value) if self.value else None
        }

    def load(self, state: dict[str, Any]) -> None:
        for k in ("fast", "slow", "signal"):
            getattr(self, k).load(state[k])
        self.value = MacdValue(*state["value"]) if state["value"] else None


class BandsValue(NamedTuple):
    middle: float
    upper: float
    lower: float
    percent: float | None  # where the close sits: 0 at the lower band, 1 at the upper


class Bollinger(Indicator):
    """Bollinger Bands: SMA(period) ± k population standard deviations (as `ta`)."""

    def __init__(self, period: int = 20, k: float = 2.0) -> None:
        self.window, self.k = Window(period), k
        self.warmup = self.settle = period

    def step(self, bar: Any) -> BandsValue | None:
        w = self.window
        w.update(bar.close)
        if not w.full:
            self.value = None
            return None
        mid, width = w.mean(), self.k * w.pstdev()
        upper, lower = mid + width, mid - width
        pct = (bar.close - lower) / (upper - lower) if upper != lower else None
        self.value = BandsValue(mid, upper, lower, pct)
        return self.value

    def state(self) -> dict[str, Any]:
        return {"window": self.window.state(), "value": list(self.value) if self.value else None}

    def load(self, state: dict[str, Any]) -> None:
        self.window.load(state["window"])
        self.value = BandsValue(*state["value"]) if state["value"] else None


class ATR(Indicator):
    """Average true range (as `ta.volatility.AverageTrueRange`)."""

    def __init__(self, period: int = 14) -> None:
        self.atr = Atr(period)
        self.warmup, self.settle = period, period + settle_ewm(1.0 / period)

    def step(self, bar: Any) -> float | None:
        self.value = self.atr.update(bar.high, bar.low, bar.close)
        return self.value

    def state(self) -> dict[str, Any]:
        return {"atr": self.atr.state(), "value": self.value}

    def load(self, state: dict[str, Any]) -> None:
        self.atr.load(state["atr"])
        self.value = state["value"]


COLUMNS = ("open_time", "open", "high", "low", "close", "volume")


class Batch(Indicator):
    """Your vectorised function of the candles: `fn(frame) -> Series | ndarray` aligned with
    `frame` (columns open_time, open, high, low, close, volume), whose last row is this
    candle's value (NaN → None). `window` is how many candles it needs to be exact: the paper
    trader computes it over the last `window` candles at every candle."""

    def __init__(self, fn: Callable[[Any], Any], window: int) -> None:
        if window < 1:
            raise ValueError(f"bad Batch window {window}: need at least 1 candle")
        self.fn, self.warmup, self.settle = fn, window, window
        self.rows: deque[tuple[float, ...]] = deque(maxlen=window)
        self.prepared: np.ndarray | None = None
        self.index = 0

    def prepare(self, frame: Any) -> None:
        """A backtest hands over every candle up front: one vectorised call."""
        self.prepared = np.asarray(self.fn(frame.loc[:, list(COLUMNS)]), dtype=np.float64)
        self.index = 0

    def step(self, bar: Any) -> float | None:
        self.rows.append((bar.time, bar.open, bar.high, bar.low, bar.close, bar.volume))
        if self.prepared is not None and self.index < len(self.prepared):
            raw = self.prepared[self.index]
            self.index += 1
        else:
            import pandas as pd

            self.prepared = None
            raw = float(np.asarray(self.fn(pd.DataFrame(list(self.rows), columns=COLUMNS)))[-1])
        self.value = None if math.isnan(raw) else float(raw)
        return self.value

    def state(self) -> dict[str, Any]:
        return {"rows": [list(r) for r in self.rows], "value": self.value}

    def load(self, state: dict[str, Any]) -> None:
        self.rows.clear()  # exactly the saved rows (a pair woken in a universe loads a fresh state)
        self.rows.extend(tuple(r) for r in state["rows"])
        self.value, self.prepared = state["value"], None


__all__ = ["ATR", "EMA", "MACD", "RSI", "SMA", "BandsValue", "Batch", "Bollinger", "Indicator", "MacdValue"]
_ = Ewm  # re-exported for custom indicators that need an exponential average
