"""Batch indicator features computed with the `ta` library (the reference implementation).

Every value in a row uses only candles at or before that row's open time — `ta`'s
indicators are trailing windows and recursive averages — so a dataset built here has no
look-ahead. Rows before every indicator has warmed up are NaN and `drop_warmup` removes them.

Columns added (parameters from `IndicatorParams`):

| column | meaning |
|---|---|
| `log_return` | ln(close / previous close) |
| `sma_fast`, `sma_slow` | simple moving averages of close (20, 50) |
| `ema_fast`, `ema_slow` | exponential moving averages of close (12, 26) |
| `rsi` | RSI(14), Wilder smoothing as `ta` computes it |
| `macd`, `macd_signal`, `macd_diff` | MACD(12, 26, 9) line, signal line and histogram |
| `bb_mavg`, `bb_hband`, `bb_lband` | Bollinger Bands(20, 2σ, population σ) |
| `bb_pband` | position of close within the bands (0 = lower, 1 = upper) |
| `atr` | Average True Range(14) |
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from ta.momentum import RSIIndicator
from ta.trend import MACD, EMAIndicator, SMAIndicator
from ta.volatility import AverageTrueRange, BollingerBands

from botrader.core.indicators.params import DEFAULT_PARAMS, IndicatorParams

FEATURE_COLUMNS = (
    "log_return",
    "sma_fast",
    "sma_slow",
    "ema_fast",
    "ema_slow",
    "rsi",
    "macd",
    "macd_signal",
    "macd_diff",
    "bb_mavg",
    "bb_hband",
    "bb_lband",
    "bb_pband",
    "atr",
)


def add_features(frame: pd.DataFrame, params: IndicatorParams = DEFAULT_PARAMS) -> pd.DataFrame:
    """A copy of `frame` (columns open/high/low/close/volume) with FEATURE_COLUMNS added."""
    out = frame.copy()
    close, high, low = out["close"], out["high"], out["low"]
    out["log_return"] = np.log(close / close.shift(1))
    out["sma_fast"] = SMAIndicator(close, params.sma_fast).sma_indicator()
    out["sma_slow"] = SMAIndicator(close, params.sma_slow).sma_indicator()
    out["ema_fast"] = EMAIndicator(close, params.ema_fast).ema_indicator()
    out["ema_slow"] = EMAIndicator(close, params.ema_slow).ema_indicator()
    out["rsi"] = RSIIndicator(close, params.rsi).rsi()
    macd = MACD(close, params.ema_slow, params.ema_fast, params.macd_signal)
    out["macd"], out["macd_signal"], out["macd_diff"] = macd.macd(), macd.macd_signal(), macd.macd_diff()
    bands = BollingerBands(close, params.bb_window, params.bb_dev)
    out["bb_mavg"], out["bb_hband"], out["bb_lband"] = (
        bands.bollinger_mavg(),
        bands.bollinger_hband(),
        bands.bollinger_lband(),
    )
    out["bb_pband"] = bands.bollinger_pband()
    atr = AverageTrueRange(high, low, close, params.atr).average_true_range()
    atr.iloc[: params.atr - 1] = np.nan  # ta reports 0 before its first full window
    out["atr"] = atr
    return out


def drop_warmup(features: pd.DataFrame) -> pd.DataFrame:
    """Rows where every feature is defined (the leading warm-up rows dropped)."""
    defined = features[list(FEATURE_COLUMNS)].notna().all(axis=1).to_numpy()
    first = int(np.argmax(defined)) if defined.any() else len(features)
    return features.iloc[first:].reset_index(drop=True)
