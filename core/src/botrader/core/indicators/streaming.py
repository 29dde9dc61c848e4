"""Streaming indicators for the live trader: O(1)-ish updates per closed candle whose values
equal `ta`'s batch values over the same history (tested on real candles).

Equality matters: a backtest computes indicators in batch, the paper trader computes them
one candle at a time, and both must take the same decisions. The exponential averages
therefore follow pandas' `ewm(adjust=False)` recurrence operation for operation, including
how it seeds from the first observation.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

from botrader.core.candles import Candle
from botrader.core.indicators.params import DEFAULT_PARAMS, IndicatorParams


class Ewm:
    """pandas `Series.ewm(alpha=a, adjust=False).mean()` one value at a time."""

    def __init__(self, alpha: float) -> None:
        self.alpha = alpha
        self.keep = 1.0 - alpha
        self.value: float | None = None
        self.count = 0

    def state(self) -> dict[str, Any]:
        return {"value": self.value, "count": self.count}

    def load(self, state: dict[str, Any]) -> None:
        self.value, self.count = state["value"], state["count"]

    def update(self, x: float) -> float:
        self.count += 1
        if self.value is None:
            self.value = x
        elif self.value != x:
            self.value = (self.keep * self.value + self.alpha * x) / (self.keep + self.alpha)
        return self.value


def ema(span: int) -> Ewm:
    return Ewm(2.0 / (span + 1.0))


class Window:
    """The last `size` values, with mean and population standard deviation."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.values: deque[float] = deque(maxlen=size)

    def update(self, x: float) -> None:
        self.values.append(x)

    def push(self, x: float) -> float | None:
        """Add a value; the mean once the window is full (None before)."""
        values = self.values
        values.append(x)
        return math.fsum(values) / self.size if len(values) == self.size else None

    def state(self) -> dict[str, Any]:
        return {"values": list(self.values)}

    def load(self, state: dict[str, Any]) -> None:
        self.values = deque(state["values"], maxlen=self.size)

    @property
    def full(self) -> bool:
        return len(self.values) == self.size

    def mean(self) -> float:
        return math.fsum(self.values) / self.size

    def pstdev(self) -> float:
        mu = self.mean()
        return math.sqrt(math.fsum((v - mu) ** 2 for v in self.values) / self.size)


class Rsi:
    """RSI as `ta.momentum.RSIIndicator`: Wilder averages (alpha = 1/n) seeded with a zero
    move on the first candle, defined from the n-th candle on."""

    def __init__(self, window: int) -> None:
        self.window = window
        self.up, self.down = Ewm(1.0 / window), Ewm(1.0 / window)
        self.prev: float | None = None
        alpha = self.up.alpha
        self._weights = (1.0 - alpha, alpha, (1.0 - alpha) + alpha)  # Ewm's keep, alpha, keep + alpha

    def state(self) -> dict[str, Any]:
        return {"prev": self.prev, "up": self.up.state(), "down": self.down.state()}

    def load(self, state: dict[str, Any]) -> None:
        self.prev = state["prev"]
        self.up.load(state["up"])
        self.down.load(state["down"])

    def update(self, close: float) -> float | None:
        """Both Wilder averages updated inline — `Ewm.update`'s arithmetic, operation for
        operation (so the values stay bitwise ta's), without two calls per candle."""
        prev = self.prev
        self.prev = close
        u, d = self.up, self.down
        up, down = u.value, d.value
        if prev is None or up is None:
            up = down = 0.0  # the first candle: a zero move seeds both averages
        else:
            diff = close - prev
            keep, alpha, total = self._weights
            if diff > 0:
                if up != diff:
                    up = (keep * up + alpha * diff) / total
                if down != 0.0:
                    down = (keep * down) / total  # alpha × 0.0 is +0.0: the sum is unchanged
            else:
                loss = -diff if diff < 0 else 0.0
                if up != 0.0:
                    up = (keep * up) / total
                if down != loss:
                    down = (keep * down + alpha * loss) / total
        u.value, d.value = up, down
        u.count += 1
        d.count = u.count
        if u.count < self.window:
            return None
        if down == 0:
            return 100.0
        return 100.0 - 100.0 / (1.0 + up / down)


class Atr:
    """ATR as `ta.volatility.AverageTrueRange`: mean of the first n true ranges, then
    Wilder smoothing."""

    def __init__(self, window: int) -> None:
        self.window = window
        self.first: list[float] = []
        self.value: float | None = None
        self.prev_close: float | None = None

    def state(self) -> dict[str, Any]:
        return {"first": list(self.first), "value": self.value, "prev_close": self.prev_close}

    def load(self, state: dict[str, Any]) -> None:
        self.first, self.value, self.prev_close = list(state["first"]), state["value"], state["prev_close"]

    def update(self, high: float, low: float, close: float) -> float | None:
        ranges = [high - low]
        if self.prev_close is not None:
            ranges += [abs(high - self.prev_close), abs(low - self.prev_close)]
        true_range = max(ranges)
        self.prev_close = close
        if self.value is not None:
            self.value = (self.value * (self.window - 1) + true_range) / float(self.window)
        else:
            self.first.append(true_range)
            if len(self.first) == self.window:
                self.value = sum(self.first) / self.window
        return self.value


class StreamingIndicators:
    """All of `add_features`' columns, updated one closed candle at a time."""

    def __init__(self, params: IndicatorParams = DEFAULT_PARAMS) -> None:
        self.params = params
        self.sma_fast, self.sma_slow = Window(params.sma_fast), Window(params.sma_slow)
        self.ema_fast, self.ema_slow = ema(params.ema_fast), ema(params.ema_slow)
        self.macd_fast, self.macd_slow = ema(params.ema_fast), ema(params.ema_slow)
        self.macd_signal = ema(params.macd_signal)
        self.rsi = Rsi(params.rsi)
        self.bands = Window(params.bb_window)
        self.atr = Atr(params.atr)
        self.prev_close: float | None = None
        self.count = 0
        self.latest: dict[str, float | None] = {}

    _PARTS = (
        "sma_fast",
        "sma_slow",
        "ema_fast",
        "ema_slow",
        "macd_fast",
        "macd_slow",
        "macd_signal",
        "rsi",
        "bands",
        "atr",
    )

    def state(self) -> dict[str, Any]:
        """JSON-able state, for an exact resume after a restart."""
        return {
            "parts": {name: getattr(self, name).state() for name in self._PARTS},
            "prev_close": self.prev_close,
            "count": self.count,
        }

    def load(self, state: dict[str, Any]) -> None:
        for name in self._PARTS:
            getattr(self, name).load(state["parts"][name])
        self.prev_close, self.count = state["prev_close"], state["count"]

    def update(self, candle: Candle) -> dict[str, float | None]:
        p, close = self.params, candle.close
        self.count += 1
        out: dict[str, float | None] = {
            "log_return": math.log(close / self.prev_close) if self.prev_close else None
        }
        self.prev_close = close
        for name, window in (("sma_fast", self.sma_fast), ("sma_slow", self.sma_slow)):
            window.update(close)
            out[name] = window.mean() if window.full else None
        for name, avg, span in (
            ("ema_fast", self.ema_fast, p.ema_fast),
            ("ema_slow", self.ema_slow, p.ema_slow),
        ):
            value = avg.update(close)
            out[name] = value if avg.count >= span else None
        out["rsi"] = self.rsi.update(close)
        out.update(self._macd(close))
        out.update(self._bands(close))
        out["atr"] = self.atr.update(candle.high, candle.low, close)
        self.latest = out
        return out

    def _macd(self, close: float) -> dict[str, float | None]:
        fast, slow = self.macd_fast.update(close), self.macd_slow.update(close)
        if self.macd_slow.count < self.params.ema_slow or self.macd_fast.count < self.params.ema_fast:
            return {"macd": None, "macd_signal": None, "macd_diff": None}
        line = fast - slow
        signal = self.macd_signal.update(line)
        if self.macd_signal.count < self.params.macd_signal:
            return {"macd": line, "macd_signal": None, "macd_diff": None}
        return {"macd": line, "macd_signal": signal, "macd_diff": line - signal}

    def _bands(self, close: float) -> dict[str, float | None]:
        self.bands.update(close)
        if not self.bands.full:
            return dict.fromkeys(("bb_mavg", "bb_hband", "bb_lband", "bb_pband"))
        mavg, width = self.bands.mean(), self.params.bb_dev * self.bands.pstdev()
        high, low = mavg + width, mavg - width
        pband = (close - low) / (high - low) if high != low else None
        return {"bb_mavg": mavg, "bb_hband": high, "bb_lband": low, "bb_pband": pband}
