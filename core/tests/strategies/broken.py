"""Fixtures for `botrader strategy check`: each has one defect the check must name."""

from __future__ import annotations

from botrader.core.strategy import EMA, SMA, Batch, Param, Strategy


class PeeksAhead(Strategy):
    """Buys when the *next* close will be higher: a vectorised signal with shift(-1), the
    classic look-ahead bug. Its backtest looks wonderful."""

    def indicators(self) -> dict:
        return {
            "next_up": Batch(
                lambda f: (
                    (f["close"].shift(-1) > f["close"]).astype(float).where(f["close"].shift(-1).notna())
                ),
                window=2,
            )
        }

    def on_candle(self, candle, ind, account):
        if ind.next_up is None:
            return None
        if account.flat and ind.next_up == 1.0:
            return 1.0
        if account.long and ind.next_up == 0.0:
            return -1.0
        return None


class ShortWarmup(Strategy):
    """Trades an EMA(200) trend but declares a 20-candle warm-up: the paper trader, which warms
    on exactly that, would trade differently from the backtest."""

    span = Param(200, ge=2)
    warmup = 20

    def indicators(self) -> dict:
        return {"trend": EMA(self.span, "close"), "fast": SMA(5)}

    def on_candle(self, candle, ind, account):
        if ind.trend is None or ind.fast is None:
            return None
        if account.flat and ind.fast > ind.trend:
            return 1.0
        if account.long and ind.fast < ind.trend:
            return -1.0
        return None


class ForgetsItsState(Strategy):
    """Counts candles in a non-plain attribute (a set), which the default state leaves out:
    after a restart it forgets and trades differently."""

    def setup(self) -> None:
        self.seen = set()

    def on_candle(self, candle, ind, account):
        self.seen.add(candle.time)
        if len(self.seen) % 97 == 0:
            return -1.0 if account.long else 1.0
        return None
