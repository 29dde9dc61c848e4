"""Indicator parameters of the feature set, shared by the batch (`ta`) and streaming versions
(kept apart from both so that streaming code does not import pandas or ta)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class IndicatorParams:
    sma_fast: int = 20
    sma_slow: int = 50
    ema_fast: int = 12
    ema_slow: int = 26
    macd_signal: int = 9
    rsi: int = 14
    bb_window: int = 20
    bb_dev: float = 2.0
    atr: int = 14

    def warmup(self) -> int:
        """Rows needed before every feature is defined."""
        return max(
            self.sma_fast,
            self.sma_slow,
            self.ema_fast,
            self.ema_slow,
            self.ema_slow + self.macd_signal - 1,
            self.rsi,
            self.bb_window,
            self.atr,
        )


DEFAULT_PARAMS = IndicatorParams()
