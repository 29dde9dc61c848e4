"""What a search searches — one protocol, so the search loop, the card and the command know
nothing about any kind in particular. A subject says what its space is read from, how its
periods are split, how its trials run (one, or many at once), what it did on the held-out tail
and under stress, what it is compared with, and how it is walked forward when asked.

Three subjects today: a rule strategy (`Rules`, by reference), PPO's hyperparameters
(`botrader.jobs.research.ppo.PpoSubject`) and a rule strategy over a portfolio
(`botrader.jobs.research.portfolio.PortfolioRules`). A new kind is a new class in `SUBJECTS`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd

from botrader.core.engine.engine import EngineConfig
from botrader.core.errors import UserError
from botrader.core.market_kind import MarketOptions
from botrader.core.research.objective import (
    Split,
    Trial,
    evaluate,
    evaluate_many,
    held_out,
    market_returns,
    split,
)
from botrader.core.strategy.registry import resolve

if TYPE_CHECKING:
    from botrader.jobs.research.portfolio import Portfolio
    from botrader.jobs.research.search import Search

BATCH = 16  # proposals swept at once in-process (TPE's first 10 are random anyway)
Baselines = tuple[np.ndarray | None, dict[str, Any]]  # buy-and-hold's returns, each rule baseline's


class Subject(Protocol):
    space_owner: Any  # what `botrader.core.research.space` reads: a class with `params`

    def fixed(self, params: dict[str, Any], fee: float) -> dict[str, Any]:
        """The parameters every trial shares (checked by the caller through `space_owner`)."""
        ...

    def check(self, data: Path | None, walk_forward: bool) -> None:
        """A request this subject cannot run, as one UserError."""
        ...

    def split(self, frame: pd.DataFrame, holdout: float, embargo: int) -> Split: ...

    def batch(self, config: EngineConfig) -> int:
        """How many proposals to evaluate at once in this process."""
        ...

    def about(self, config: EngineConfig) -> dict[str, Any]:
        """What the result says of the subject: `evaluated_by` (how its trials ran), and more."""
        ...

    def trials(self, search: Search, frame: pd.DataFrame, sets: list[dict[str, Any]]) -> list[Trial | None]:
        """Each parameter set's trial; None for one the subject refuses."""
        ...

    def held_out(self, best: Trial, split: Split, config: EngineConfig) -> np.ndarray:
        """The winner's hourly returns on the held-out tail."""
        ...

    def stressed(self, best: Trial, split: Split, config: EngineConfig) -> list[dict[str, Any]]: ...

    def alongside(self, frame: pd.DataFrame, config: EngineConfig) -> Baselines:
        """Buy-and-hold and the rule baselines over the search set (the card's walk-forward)."""
        ...

    def retrained(
        self, search: Search, best: Trial, split: Split, on_fold: Callable[[int], None] | None
    ) -> Any:
        """The winner walked forward by retraining (asked with --walk-forward), or None."""
        ...


@functools.cache
def _strategy(ref: str) -> Any:
    """The class once per process (driver or Ray worker): resolving a file reference imports
    the file again, which every trial would otherwise do."""
    return resolve(ref)


class Rules:
    """A rule strategy: trials through the engine, many at once through its vectorised sweep
    where it has one (`evaluate_many`: the same trials, bit for bit)."""

    def __init__(self, ref: str) -> None:
        self.ref, self.space_owner = ref, _strategy(ref)
        self.cache: dict[Any, Any] = {}

    def fixed(self, params: dict[str, Any], fee: float) -> dict[str, Any]:
        return dict(params)

    def check(self, data: Path | None, walk_forward: bool) -> None:
        if walk_forward:
            raise UserError(
                "--walk-forward retrains PPO per fold; "
                "a rule strategy's walk-forward is on every card already"
            )

    def split(self, frame: pd.DataFrame, holdout: float, embargo: int) -> Split:
        return split(frame, holdout, embargo)

    def batch(self, config: EngineConfig) -> int:
        from botrader.core.research.sweep import supports

        return BATCH if supports(self.space_owner, config) is None else 1

    def about(self, config: EngineConfig) -> dict[str, Any]:
        from botrader.core.research.sweep import supports

        why = supports(self.space_owner, config)
        return {
            "evaluated_by": "vectorised sweep (checked against the engine)"
            if why is None
            else f"the engine ({why})"
        }

    def trials(self, search: Search, frame: pd.DataFrame, sets: list[dict[str, Any]]) -> list[Trial | None]:
        if len(sets) == 1:  # one trial (a Ray worker): the engine itself
            try:
                return [
                    evaluate(self.space_owner, sets[0], frame, search.config, search.folds, search.objective)
                ]
            except UserError:
                return [None]
        return evaluate_many(
            self.space_owner, sets, frame, search.config, search.folds, search.objective, self.cache
        )

    def held_out(self, best: Trial, split: Split, config: EngineConfig) -> np.ndarray:
        return held_out(self.space_owner, best.params, split, config)

    def stressed(self, best: Trial, split: Split, config: EngineConfig) -> list[dict[str, Any]]:
        from botrader.core.research.stress import stress

        return stress(self.space_owner, best.params, split, config)

    def alongside(self, frame: pd.DataFrame, config: EngineConfig) -> Baselines:
        from botrader.core.research.stress import baseline_returns

        return market_returns(frame), baseline_returns(frame, config)

    def retrained(
        self, search: Search, best: Trial, split: Split, on_fold: Callable[[int], None] | None
    ) -> Any:
        return None


def _ppo(data: str | None, budget: float, market: MarketOptions) -> Subject:
    from botrader.jobs.research.ppo import PpoSubject

    return PpoSubject(data, budget, market)


# by --strategy name; any other name is a rule strategy's reference
SUBJECTS: dict[str, Callable[[str | None, float, MarketOptions], Subject]] = {"ppo": _ppo}


def subject_for(
    strategy: str,
    data: str | None = None,
    budget: float = 10_000.0,
    market: MarketOptions | None = None,
    portfolio: Portfolio | None = None,
) -> Subject:
    """`data`, `budget` and `market`: what a trial trains on, for subjects that train (PPO);
    `portfolio`: the pairs and wallet a rule strategy is searched over."""
    if portfolio is not None:
        from botrader.jobs.research.portfolio import PortfolioRules

        return PortfolioRules(strategy, portfolio)
    make = SUBJECTS.get(strategy)
    return make(data, budget, market or MarketOptions()) if make is not None else Rules(strategy)


def subject_of(search: Search) -> Subject:
    return subject_for(search.strategy, search.data, search.budget, search.market, search.portfolio)
