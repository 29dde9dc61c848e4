"""The Probability of Backtest Overfitting by combinatorially symmetric cross-validation
(Bailey, Borwein, López de Prado & Zhu 2015).

Given every trial's returns over the same periods (T × N), cut the periods into S blocks; for
each way of choosing half of them as in-sample, pick the trial with the best in-sample Sharpe
and see where it ranks out of sample (the other half). PBO is how often the in-sample winner
is below the out-of-sample median: 0.5 for a search that picks noise, near 0 for one whose
winner stays a winner. It judges the *selection*, so it needs all trials, not just the best.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from botrader.core.errors import UserError


@dataclass(frozen=True, slots=True)
class Pbo:
    pbo: float
    logits: tuple[float, ...]  # one per split: log(ω / (1 − ω)), ω the winner's OOS rank share
    splits: int
    degradation: float  # mean OOS Sharpe of the IS winner minus its mean IS Sharpe (per period)


def _sharpes(count: np.ndarray, total: np.ndarray, squares: np.ndarray) -> np.ndarray:
    """Per-trial Sharpe (sample std) from summed counts, sums and sums of squares."""
    mean = total / count
    variance = (squares - count * mean**2) / (count - 1)
    std = np.sqrt(np.maximum(variance, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(std > 1e-15, mean / std, 0.0)


def probability_of_overfitting(returns: np.ndarray, blocks: int = 16) -> Pbo:
    """`returns`: periods × trials. `blocks` must be even; C(blocks, blocks/2) splits are
    evaluated (12,870 for 16). Each split's Sharpes come from per-block sums, so a split
    costs O(blocks × trials), not a pass over the returns."""
    returns = np.asarray(returns, dtype=float)
    periods, trials = returns.shape
    if blocks % 2 or blocks < 2:
        raise UserError(f"bad PBO blocks {blocks}: an even number of at least 2")
    if trials < 2:
        raise UserError(f"PBO needs at least 2 trials, got {trials}")
    if periods < 2 * blocks:
        raise UserError(f"PBO with {blocks} blocks needs at least {2 * blocks} periods, got {periods}")
    edges = np.linspace(0, periods, blocks + 1).astype(int)
    count = np.diff(edges).astype(float)[:, None]  # blocks × 1
    total = np.add.reduceat(returns, edges[:-1], axis=0)  # blocks × trials
    squares = np.add.reduceat(returns**2, edges[:-1], axis=0)
    logits, is_best, oos_best = [], [], []
    everything = (count.sum(), total.sum(axis=0), squares.sum(axis=0))
    for chosen in itertools.combinations(range(blocks), blocks // 2):
        rows = list(chosen)
        part = (count[rows].sum(), total[rows].sum(axis=0), squares[rows].sum(axis=0))
        in_sample = _sharpes(*part)
        out_sample = _sharpes(*(whole - half for whole, half in zip(everything, part, strict=True)))
        best = int(np.argmax(in_sample))
        # the winner's OOS rank among all trials, 1 (worst) … N (best), ties shared
        below = float((out_sample < out_sample[best]).sum())
        rank = below + ((out_sample == out_sample[best]).sum() + 1) / 2
        omega = rank / (trials + 1)
        logits.append(math.log(omega / (1 - omega)))
        is_best.append(in_sample[best])
        oos_best.append(out_sample[best])
    found = np.asarray(logits)
    return Pbo(
        float((found <= 0).mean()),
        tuple(float(x) for x in found),
        len(found),
        float(np.mean(oos_best) - np.mean(is_best)),
    )
