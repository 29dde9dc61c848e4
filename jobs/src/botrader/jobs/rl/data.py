"""Candles → what the environment and the evaluator need: chronological train /
validation / test splits with standardised features (statistics from train only)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from botrader.core.engine.units import MarketRules
from botrader.core.errors import UserError
from botrader.jobs.rl.features import FeatureConfig, first_defined_row, fit, raw_features, transform


@dataclass(frozen=True)
class Split:
    """One contiguous period: candles plus their standardised market features."""

    name: str
    frame: pd.DataFrame  # the candles (open_time, OHLCV)
    features: np.ndarray  # (n, F) float32
    close_ticks: np.ndarray  # (n,) int64

    def __len__(self) -> int:
        return len(self.frame)


@dataclass(frozen=True)
class Splits:
    train: Split
    val: Split
    test: Split
    config: FeatureConfig


def make_splits(
    frame: pd.DataFrame,
    *,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    returns: int = 10,
    market: MarketRules | None = None,
    min_rows: int = 500,
) -> Splits:
    """Split by time (train, then validation, then test; no overlap, no shuffling)."""
    if not (0 < val_fraction < 0.5 and 0 < test_fraction < 0.5):
        raise UserError(f"bad split fractions {val_fraction}/{test_fraction}: each must be in (0, 0.5)")
    market = market or MarketRules()
    raw = raw_features(frame, returns)
    start = first_defined_row(raw)
    n = len(frame) - start
    n_test, n_val = int(n * test_fraction), int(n * val_fraction)
    n_train = n - n_val - n_test
    if min(n_train, n_val, n_test) < min_rows:
        raise UserError(
            f"not enough candles: {len(frame)} give {n_train}/{n_val}/{n_test} train/validation/test "
            f"rows after warm-up; need at least {min_rows} in each"
        )
    train, val = (start, start + n_train), (start + n_train, start + n_train + n_val)
    return splits_at(frame, raw, train, val, (val[1], len(frame)), returns, market)


def splits_at(
    frame: pd.DataFrame,
    raw: np.ndarray,
    train: tuple[int, int],
    val: tuple[int, int],
    test: tuple[int, int],
    returns: int,
    market: MarketRules,
) -> Splits:
    """Splits at given row ranges; the features standardised with train's statistics only.
    The test range need not follow validation (a walk-forward fold leaves a gap)."""
    config = fit(raw[train[0] : train[1]], returns)
    z = transform(raw, config)
    ticks = np.rint(frame["close"].to_numpy() * (1.0 / float(market.tick_size))).astype(np.int64)
    parts = [
        Split(name, frame.iloc[lo:hi].reset_index(drop=True), z[lo:hi], ticks[lo:hi])
        for name, (lo, hi) in zip(("train", "val", "test"), (train, val, test), strict=True)
    ]
    return Splits(*parts, config=config)


def fold_splits(
    frame: pd.DataFrame,
    origin: int,
    end: int,
    embargo: int,
    val_fraction: float = 0.15,
    returns: int = 10,
    market: MarketRules | None = None,
) -> Splits:
    """A walk-forward fold: train and validate on rows before `origin` less `embargo` (so no
    training episode's window reaches the test block), test on rows [origin, end)."""
    market = market or MarketRules()
    raw = raw_features(frame, returns)
    start = first_defined_row(raw)
    stop = origin - embargo
    n_val = int((stop - start) * val_fraction)
    if stop - start - n_val < 100 or n_val < 100 or end - origin < 60:
        raise UserError(f"a walk-forward fold at row {origin} is too short to train, validate and test")
    return splits_at(frame, raw, (start, stop - n_val), (stop - n_val, stop), (origin, end), returns, market)
