"""The honesty card: a search's or a training run's result with the statistics that say
whether to believe it, a plain-words verdict, and the gate promotion applies. One owner for
the gate: `botrader optimize`, `botrader train`, `botrader promote` and the API import it."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from botrader.core.research.cpcv import cpcv_paths
from botrader.core.research.pbo import probability_of_overfitting
from botrader.core.research.sharpe import (
    block_bootstrap,
    compound_return,
    deflated_sharpe,
    independent_trials,
    moments,
    probabilistic_sharpe,
    sharpe_of,
)
from botrader.core.research.walk_forward import WalkForward, walk_forward


@dataclass(frozen=True, slots=True)
class Gate:
    """What promotion requires: a selection unlikely to be overfit, a Sharpe likely real after
    deflating for the trials that found it."""

    max_pbo: float = 0.5
    min_dsr: float = 0.5


@dataclass(frozen=True, slots=True)
class Card:
    trials: int
    periods: int  # returns per trial in the search set (hourly)
    pbo: float | None  # None: too few trials or periods to say
    dsr: float | None  # the best trial's search-set Sharpe, deflated for `trials`
    psr: float | None  # P(the best trial's held-out Sharpe > 0)
    is_sharpe: float | None  # per period, search set
    oos_sharpe: float | None  # per period, held out
    oos_return: float | None
    oos_sharpe_ci: tuple[float, float] | None = None  # 95%, moving-block bootstrap
    oos_return_ci: tuple[float, float] | None = None
    gate: Gate = field(default_factory=Gate)
    winner_idle: bool = False  # the chosen trial never changed the equity: staying out won
    cpcv_sharpe: tuple[float, float, float] | None = None  # 5th, 50th, 95th percentile over CPCV paths
    cpcv_paths: int = 0
    walk_forward: WalkForward | None = None  # the selection rule at rolling origins over the search set
    independent_trials: float | None = None  # what the trials amount to, given their correlation
    dsr_independent: float | None = None  # the DSR deflated by those only (information; not the gate)
    idle_trials: int = 0  # trials that never traded: left out of PBO's matrix

    @property
    def degenerate(self) -> bool:
        """Most trials never traded: a PBO over what is left (or over columns of zeros) and the
        DSR of the best of them are not evidence of anything."""
        return self.idle_trials * 2 > self.trials

    @property
    def passes(self) -> bool:
        return (
            not self.degenerate
            and self.pbo is not None
            and self.dsr is not None
            and self.pbo <= self.gate.max_pbo
            and self.dsr >= self.gate.min_dsr
        )

    @property
    def verdict(self) -> str:
        return self._judged() + self._walked()

    def _judged(self) -> str:
        figures = f"PBO {_fmt(self.pbo)}, DSR {_fmt(self.dsr)} over {self.trials} trials"
        if self.idle_trials:
            figures += f" ({self.idle_trials} never traded, left out of PBO)"
        if self.degenerate:
            return (
                f"no evidence of skill: a degenerate search — {self.idle_trials} of {self.trials} trials "
                "never traded, so PBO and DSR are not meaningful; widen or fix the space "
                "(parameters that can never signal)"
            )
        if self.winner_idle:
            idle = "the winner never trades (every parameter set that trades scores below staying out)"
            return f"no evidence of skill: {figures}; {idle}"
        if self.pbo is None or self.dsr is None:
            return f"not enough to judge: {figures}"
        if self.passes:
            held = f"held-out Sharpe {_fmt(self.oos_sharpe, 3)} per hour"
            return f"evidence of skill: {figures}; {held}"
        reasons = []
        if self.pbo > self.gate.max_pbo:
            reasons.append(
                f"the search's winner is usually not a winner out of sample (PBO > {self.gate.max_pbo:g})"
            )
        if self.dsr < self.gate.min_dsr:
            reasons.append(
                f"its Sharpe is what luck gives the best of {self.trials} (DSR < {self.gate.min_dsr:g})"
            )
        return f"no evidence of skill: {figures}; " + "; ".join(reasons)

    def _walked(self) -> str:
        wf = self.walk_forward
        if wf is None or wf.market_return is None:
            return ""
        how = "retrained per fold" if wf.retrained else "walk-forward"
        return (
            f"; {how} {wf.oos_return:+.2%} against buy-and-hold {wf.market_return:+.2%}, "
            f"ahead in {wf.beats_market} of {len(wf.folds)} folds"
        )

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(passes=self.passes, verdict=self.verdict)
        return out


def _fmt(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def pbo_blocks(periods: int) -> int | None:
    """16 blocks (12,870 splits) when there are enough periods, fewer (even) when not."""
    blocks = min(16, periods // 8 // 2 * 2)
    return blocks if blocks >= 4 else None


def judge(
    search: np.ndarray,
    best: int,
    held_out: np.ndarray | None,
    gate: Gate = Gate(),
    market: np.ndarray | None = None,
    baselines: dict[str, np.ndarray] | None = None,
    folds: int = 4,
    purge: int = 1,
    walked: WalkForward | None = None,
) -> Card:
    """`search`: periods × trials returns of every trial on the search set; `best`: the
    column the search chose; `held_out`: the chosen parameters' returns after the search set;
    `market` and `baselines`: buy-and-hold's and the rule baselines' returns over the same
    periods, for the walk-forward's comparison; `walked`: a walk-forward computed elsewhere
    (PPO retrained per fold), instead of the selection rule's over `search`."""
    periods, trials = search.shape
    blocks = pbo_blocks(periods)
    trading = search[:, search.any(axis=0)]  # a trial that never trades is no candidate to overfit
    enough = blocks and trading.shape[1] >= 2
    pbo = probability_of_overfitting(trading, blocks).pbo if enough else None
    chosen = moments(search[:, best])
    idle = not np.any(search[:, best])
    sharpes = [s for s in (sharpe_of(search[:, j]) for j in range(trials)) if math.isfinite(s)]
    variance = float(np.var(sharpes, ddof=1)) if len(sharpes) > 1 else 0.0
    dsr = deflated_sharpe(chosen, trials, variance) if chosen else (0.0 if idle else None)
    independent = independent_trials(search)
    dsr_independent = deflated_sharpe(chosen, max(1, round(independent)), variance) if chosen else dsr
    outside = moments(held_out) if held_out is not None else None
    paths = cpcv_paths(search)
    spread = (paths.quantile(0.05), paths.median, paths.quantile(0.95)) if paths and paths.sharpes else None
    return Card(
        trials=trials,
        periods=periods,
        pbo=pbo,
        dsr=dsr,
        psr=probabilistic_sharpe(outside) if outside else None,
        is_sharpe=chosen.sharpe if chosen else (0.0 if idle else None),
        oos_sharpe=outside.sharpe if outside else None,
        oos_return=compound_return(held_out) if held_out is not None and len(held_out) else None,
        oos_sharpe_ci=block_bootstrap(held_out, sharpe_of) if held_out is not None else None,
        oos_return_ci=block_bootstrap(held_out, compound_return) if held_out is not None else None,
        gate=gate,
        winner_idle=idle,
        cpcv_sharpe=spread,
        cpcv_paths=len(paths.sharpes) if paths else 0,
        walk_forward=walked or walk_forward(search, folds, purge, market, baselines),
        independent_trials=independent,
        dsr_independent=dsr_independent,
        idle_trials=trials - trading.shape[1],
    )
