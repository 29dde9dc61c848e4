"""Observation features for the RL agents, versioned and saved with every model.

Market part (per candle t, from candles at or before t only): the last `returns` log
returns of the close, then scale-free indicator readings —

| name | value |
|---|---|
| `ret_0` … `ret_{k-1}` | ln(close_t / close_{t-1}), ln(close_{t-1} / close_{t-2}), … |
| `rsi` | RSI(14) / 100 − 0.5 |
| `sma_fast_gap`, `sma_slow_gap` | close / SMA(20) − 1, close / SMA(50) − 1 |
| `ema_gap` | EMA(12) / EMA(26) − 1 |
| `macd`, `macd_hist` | MACD line / close, MACD histogram / close |
| `bb_pos` | position of the close in the Bollinger Bands − 0.5 |
| `atr` | ATR(14) / close |

Each column is standardised with the mean and standard deviation of the **training split
only** and clipped to ±10. The portfolio part is appended by the environment: cash /
equity, position value / equity, unrealised PnL / equity.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from botrader.core.indicators import add_features

VERSION = 1
INDICATOR_NAMES = ("rsi", "sma_fast_gap", "sma_slow_gap", "ema_gap", "macd", "macd_hist", "bb_pos", "atr")
PORTFOLIO_NAMES = ("cash_frac", "position_frac", "unrealized_pnl")
CLIP = 10.0


@dataclass(frozen=True)
class FeatureConfig:
    returns: int = 10
    mean: list[float] = field(default_factory=list)
    std: list[float] = field(default_factory=list)
    version: int = VERSION

    @property
    def names(self) -> list[str]:
        return [f"ret_{i}" for i in range(self.returns)] + list(INDICATOR_NAMES)

    @property
    def obs_dim(self) -> int:
        return len(self.names) + len(PORTFOLIO_NAMES)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> FeatureConfig:
        data = json.loads(text)
        return cls(**data)


def indicator_columns(f: dict[str, Any] | pd.DataFrame, close: Any) -> list[Any]:
    """The indicator part from `add_features`' columns (batch) or the streaming values."""
    return [
        f["rsi"] / 100.0 - 0.5,
        close / f["sma_fast"] - 1.0,
        close / f["sma_slow"] - 1.0,
        f["ema_fast"] / f["ema_slow"] - 1.0,
        f["macd"] / close,
        f["macd_diff"] / close,
        f["bb_pband"] - 0.5,
        f["atr"] / close,
    ]


def portfolio_part(cash: Any, held: Any, unrealized: Any, equity_inverse: Any) -> list[Any]:
    """The observation's portfolio part — cash / equity, position value / equity, unrealised
    PnL / equity, where unrealised PnL is the position's value minus its cost basis *with*
    buy fees (so a fresh position shows the fee it cost). The one definition, used by the
    environment (arrays of integer units) and by the trading strategy (floats)."""
    return [cash * equity_inverse, held * equity_inverse, unrealized * equity_inverse]


def raw_features(frame: pd.DataFrame, returns: int = 10) -> np.ndarray:
    """(n, F) float64; rows before every value is defined hold NaN."""
    feats = add_features(frame)
    close = feats["close"]
    log_ret = np.log(close / close.shift(1))
    cols = [log_ret.shift(i) for i in range(returns)] + indicator_columns(feats, close)
    return np.column_stack([np.asarray(c, dtype=np.float64) for c in cols])


def fit(raw: np.ndarray, returns: int = 10) -> FeatureConfig:
    """Standardisation statistics from (training) rows that are fully defined."""
    rows = raw[~np.isnan(raw).any(axis=1)]
    std = rows.std(axis=0)
    std[std == 0] = 1.0
    return FeatureConfig(returns=returns, mean=rows.mean(axis=0).tolist(), std=std.tolist())


def transform(raw: np.ndarray, config: FeatureConfig) -> np.ndarray:
    z = (raw - np.asarray(config.mean)) / np.asarray(config.std)
    return np.clip(np.nan_to_num(z, nan=0.0), -CLIP, CLIP).astype(np.float32)


def first_defined_row(raw: np.ndarray) -> int:
    defined = ~np.isnan(raw).any(axis=1)
    return int(np.argmax(defined)) if defined.any() else len(raw)
