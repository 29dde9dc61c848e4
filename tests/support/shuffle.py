"""The negative control's candles, shared by the one-pair and portfolio search tests."""

from __future__ import annotations

import numpy as np
import pandas as pd


def shuffled(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The month's own one-minute returns in a random order: every property of real returns
    except any order a strategy could exploit."""
    rng = np.random.default_rng(seed)
    log_returns = np.diff(np.log(frame["close"].to_numpy()))
    rng.shuffle(log_returns)
    close = frame["close"].iloc[0] * np.exp(np.concatenate([[0.0], np.cumsum(log_returns)]))
    opened = np.concatenate([[close[0]], close[:-1]])
    out = frame.copy()
    out["open"], out["close"] = opened, close
    out["high"], out["low"] = np.maximum(opened, close), np.minimum(opened, close)
    return out
