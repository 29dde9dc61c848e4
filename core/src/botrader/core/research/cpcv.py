"""Combinatorial purged cross-validation paths (López de Prado 2018; Gort et al. 2022 for its use
on trading agents): the search's own selection rule — the trial with the best Sharpe on the
training groups — replayed on every choice of `test_groups` out of `groups` contiguous groups,
with `embargo` periods purged from the training side of each boundary. Each test group then has
a return series from a selection that never saw it; stitching them gives φ = k/N·C(N, k) full
out-of-sample paths. Their Sharpe ratios show how the *procedure* (search and pick) does out of
sample, as a distribution instead of one held-out number."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from botrader.core.research.sharpe import sharpe_of


@dataclass(frozen=True, slots=True)
class Paths:
    sharpes: tuple[float, ...]  # one per path, per period
    splits: int

    @property
    def median(self) -> float:
        return float(np.median(self.sharpes))

    def quantile(self, q: float) -> float:
        return float(np.quantile(self.sharpes, q))


def cpcv_paths(returns: np.ndarray, groups: int = 6, test_groups: int = 2, embargo: int = 1) -> Paths | None:
    """`returns`: periods × trials. None when there are too few periods for the groups."""
    periods, trials = returns.shape
    if trials < 2 or periods < groups * (2 * embargo + 2):
        return None
    bounds = np.linspace(0, periods, groups + 1).astype(int)
    members = [np.arange(bounds[g], bounds[g + 1]) for g in range(groups)]
    picks: dict[tuple[int, ...], dict[int, int]] = {}  # split -> test group -> chosen trial
    for test in itertools.combinations(range(groups), test_groups):
        train = np.ones(periods, dtype=bool)
        for g in test:  # the test group, and `embargo` periods either side of it, out of training
            train[max(0, bounds[g] - embargo) : bounds[g + 1] + embargo] = False
        scores = [sharpe_of(returns[train, j]) for j in range(trials)]
        chosen = int(np.nanargmax([s if math.isfinite(s) else -np.inf for s in scores]))
        picks[test] = dict.fromkeys(test, chosen)
    paths = _stitch(picks, groups, test_groups)
    sharpes = tuple(
        sharpe_of(np.concatenate([returns[members[g], path[g]] for g in range(groups)])) for path in paths
    )
    return Paths(tuple(s for s in sharpes if math.isfinite(s)), len(picks))


def _stitch(
    picks: dict[tuple[int, ...], dict[int, int]], groups: int, test_groups: int
) -> list[dict[int, int]]:
    """Each group is tested in C(N-1, k-1) splits; the i-th path takes every group's i-th test."""
    per_group: dict[int, list[int]] = {g: [] for g in range(groups)}
    for test, chosen in sorted(picks.items()):
        for g in test:
            per_group[g].append(chosen[g])
    count = math.comb(groups - 1, test_groups - 1)
    return [{g: per_group[g][i] for g in range(groups)} for i in range(count)]
