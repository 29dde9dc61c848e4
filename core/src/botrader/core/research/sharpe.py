"""Sharpe ratios as estimates: the Probabilistic Sharpe Ratio (Bailey & López de Prado 2012),
the Deflated Sharpe Ratio (2014) and block-bootstrap intervals.

All Sharpe ratios here are *per period* (not annualised) and the kurtosis is Pearson's (3 for
a normal distribution), as in the papers' formulas. A Sharpe from a handful of returns is
mostly noise: its standard error is about √((1 + SR²/2) / n).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

EULER_GAMMA = 0.5772156649015329
NORMAL = NormalDist()


@dataclass(frozen=True, slots=True)
class Moments:
    n: int
    sharpe: float  # per period
    skew: float
    kurtosis: float  # Pearson's: 3 for a normal distribution


def moments(returns: np.ndarray) -> Moments | None:
    """None when there is nothing to estimate (fewer than three returns, or no variance)."""
    returns = np.asarray(returns, dtype=float)
    n = len(returns)
    if n < 3:
        return None
    std = float(returns.std(ddof=1))
    if std == 0 or not math.isfinite(std):
        return None
    z = (returns - returns.mean()) / returns.std(ddof=0)
    return Moments(n, float(returns.mean()) / std, float((z**3).mean()), float((z**4).mean()))


def probabilistic_sharpe(m: Moments, benchmark: float = 0.0) -> float | None:
    """P(true Sharpe > benchmark) given the estimate, its sample length, skew and kurtosis."""
    spread = 1 - m.skew * m.sharpe + (m.kurtosis - 1) / 4 * m.sharpe**2
    if spread <= 0:
        return None
    return NORMAL.cdf((m.sharpe - benchmark) * math.sqrt(m.n - 1) / math.sqrt(spread))


def expected_max_sharpe(trials: int, variance: float) -> float:
    """The Sharpe the best of `trials` unskilled strategies shows by luck alone, given the
    variance of the trials' Sharpe ratios (the False Strategy theorem)."""
    if trials <= 1:
        return 0.0
    spread = math.sqrt(max(variance, 0.0))
    return spread * (
        (1 - EULER_GAMMA) * NORMAL.inv_cdf(1 - 1 / trials)
        + EULER_GAMMA * NORMAL.inv_cdf(1 - 1 / (trials * math.e))
    )


def deflated_sharpe(m: Moments, trials: int, variance: float) -> float | None:
    """PSR against the luck of the best of `trials`: the probability that the selected
    strategy's Sharpe is real after the search that found it."""
    return probabilistic_sharpe(m, expected_max_sharpe(trials, variance))


def independent_trials(returns: np.ndarray) -> float:
    """How many independent trials `returns` (periods × trials) amount to: N̂ = ρ̄ + (1 − ρ̄)·M
    with ρ̄ the trials' mean pairwise correlation (Bailey & López de Prado 2014, the DSR paper's
    estimate). A search of near-copies is worth fewer trials than it ran; the gate still deflates
    by every trial run, the conservative count."""
    trials = returns.shape[1]
    varying = returns[:, returns.std(axis=0) > 0]
    if trials < 2 or varying.shape[1] < 2:
        return float(trials)
    corr = np.corrcoef(varying, rowvar=False)
    k = corr.shape[0]
    mean = float((corr.sum() - k) / (k * (k - 1)))
    return float(min(trials, max(1.0, mean + (1 - mean) * trials)))


def block_bootstrap(
    returns: np.ndarray,
    statistic: Callable[[np.ndarray], float],
    block: int = 24,
    reps: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float] | None:
    """A `level` interval for `statistic` by the moving-block bootstrap: resampling blocks of
    consecutive returns keeps their autocorrelation (volatility clusters), which resampling
    single returns would destroy and so make the interval too narrow."""
    returns = np.asarray(returns, dtype=float)
    n = len(returns)
    if n < 2 * block:
        return None
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, n - block + 1, size=(reps, -(-n // block)))
    index = (starts[:, :, None] + np.arange(block)).reshape(reps, -1)[:, :n]
    values = np.array([statistic(sample) for sample in returns[index]])
    values = values[np.isfinite(values)]
    if len(values) < reps // 2:
        return None
    tail = (1 - level) / 2
    return float(np.quantile(values, tail)), float(np.quantile(values, 1 - tail))


def sharpe_of(returns: np.ndarray) -> float:
    std = returns.std(ddof=1)
    return float(returns.mean() / std) if std > 0 else math.nan


def compound_return(returns: np.ndarray) -> float:
    return float(np.prod(1 + returns) - 1)
