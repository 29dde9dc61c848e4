"""A moving-average crossover, the "hello world" of strategies, on Botrader's strategy API.

    botrader backtest --strategy examples/strategies/sma_cross.py:SmaCross \\
        --data examples/data/bybit_btcusdt_perp_1m_2025-05-30_2025-06-29.csv.gz --param fast=20
"""

from __future__ import annotations

from botrader.core.strategy import SMA, Account, Candle, Param, Strategy, Values


class SmaCross(Strategy):
    """Trend following: when flat and the fast SMA of the close is above the slow one, buy with
    all cash; when long and it is below, sell everything. No exits."""

    fast = Param(10, ge=1, le=1000, search=(5, 30), help="fast SMA window (candles)")
    slow = Param(30, ge=2, le=5000, search=(20, 120), help="slow SMA window (candles)")

    def validate(self) -> None:
        if self.fast >= self.slow:
            raise ValueError(f"fast ({self.fast}) must be shorter than slow ({self.slow})")

    def indicators(self) -> dict:
        return {"fast": SMA(self.fast), "slow": SMA(self.slow)}

    def on_candle(self, candle: Candle, ind: Values, account: Account) -> float | None:
        if ind.fast is None or ind.slow is None:
            return None  # warming up
        if account.flat and ind.fast > ind.slow:
            return 1.0
        if account.long and ind.fast < ind.slow:
            return -1.0
        return None
