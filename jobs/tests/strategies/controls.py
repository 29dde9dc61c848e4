"""Controls for the search harness. `PeekNext` cheats on purpose: `prepare` sees the whole
frame, and it keeps the next candle's return for each candle (a planted feature that leaks the
future). With `shift=-1` it trades on tomorrow's news; with a positive shift it trades on stale
news, which is noise. A harness that cannot find shift=-1, or judges it no better than the
others, is blind; one that passes a search over noise is credulous."""

from __future__ import annotations

from typing import Any

import numpy as np

from botrader.core.engine.view import Account, Bar
from botrader.core.strategy.base import Strategy, Values
from botrader.core.strategy.params import Param


class PeekNext(Strategy):
    """Long while the return into the candle `shift` away is above `threshold` (-1: the next
    candle's, a leak; 1 or more: one already known, stale)."""

    name = "peek_next"
    shift = Param(1, choices=(-1, 1, 2, 3), search=[-1, 1, 2, 3], help="which candle's return it sees")
    threshold = Param(0.0, ge=0, le=0.01, search=(0.0, 0.002), help="return needed to hold")
    warmup = 0

    def prepare(self, frame: Any) -> None:
        close = frame["close"].to_numpy(dtype=float)
        returns = np.zeros_like(close)
        returns[1:] = close[1:] / close[:-1] - 1.0  # the return into each candle
        seen = np.roll(returns, self.shift)  # shift -1: the next candle's
        self.seen = dict(zip(frame["open_time"].tolist(), seen.tolist(), strict=True))

    def on_candle(self, candle: Bar, ind: Values, account: Account) -> float | None:
        return 1.0 if self.seen.get(candle.time, 0.0) > self.threshold else -1.0
