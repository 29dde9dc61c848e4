"""Searching a portfolio: one rule strategy's parameters over many pairs and one wallet, each
trial scored on the portfolio's hourly returns — the card unchanged.

The search set, the embargo and the held-out tail are cut on the pairs' merged clock of minutes
(`Portfolio.minutes`), whose `close` is the pairs' equal-weight index: so the card's market, its
purge and its held-out chart read the table as they read one pair's candles, and every trial
runs the portfolio engine over the pairs' candles in the table's minutes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from botrader.core.engine.engine import EngineConfig
from botrader.core.errors import UserError
from botrader.core.portfolio.backtest import PortfolioResult, index_closes
from botrader.core.portfolio.config import PortfolioConfig
from botrader.core.portfolio.universe import UniverseRule
from botrader.core.research.objective import Split, Trial, hourly, market_returns, scored
from botrader.core.strategy.base import Strategy
from botrader.jobs.research.subjects import Baselines, Rules

if TYPE_CHECKING:
    from botrader.core.optimize_options import OptimizeOptions
    from botrader.jobs.research.search import Search


@dataclass(frozen=True)
class Portfolio:
    """The pairs' candles and engines, the wallet and its caps: everything a trial needs beside
    the parameters (picklable, so it travels to Ray's workers inside the `Search`)."""

    frames: dict[str, pd.DataFrame]
    configs: dict[str, EngineConfig]  # one per pair; they share the costs (`reference`'s execution)
    budget: Decimal
    caps: PortfolioConfig
    universe: UniverseRule | None = None

    @property
    def reference(self) -> EngineConfig:
        """The costs and budget the card and its stress variants read (every pair's are these)."""
        return self.configs[min(self.configs)]

    def minutes(self) -> pd.DataFrame:
        """The merged clock: every minute any pair has a candle, with the equal-weight index."""
        clock = np.unique(
            np.concatenate([f["open_time"].to_numpy(dtype=np.int64) for f in self.frames.values()])
        )
        return pd.DataFrame({"open_time": clock, "close": index_closes(self.frames, clock.tolist())})

    def run(
        self,
        make: Callable[[], Strategy],
        minutes: pd.DataFrame,
        costs: EngineConfig | None = None,
        warmup: int = 0,
    ) -> PortfolioResult:
        """`make`'s strategy (a fresh one per pair) over the pairs' candles in `minutes`, the
        first `warmup` of them only warming; `costs`: another execution for every pair."""
        from botrader.core.cli import portfolio_backtest as pb

        times = minutes["open_time"]
        first, last = int(times.iloc[0]), int(times.iloc[-1])
        frames = {}
        for symbol, frame in self.frames.items():
            inside = frame["open_time"].between(first, last)
            if inside.any():
                frames[symbol] = frame[inside].reset_index(drop=True)
        configs = self.configs
        if costs is not None:
            configs = {s: dataclasses.replace(c, execution=costs.execution) for s, c in configs.items()}
        request = pb.PortfolioRequest(None, self.universe, self.caps)
        return pb.run(frames, request, lambda _symbol: make(), configs.__getitem__, self.budget, warmup)


def load(o: OptimizeOptions) -> Portfolio:
    """The portfolio a `botrader optimize` asks for, its candles read; bad input is one line."""
    from botrader.core.binance.filters import rules_for
    from botrader.core.cli import portfolio_backtest as pb
    from botrader.core.cli.backtest import engine_from_options, load_candles, stored_symbols

    pb.refuse_unsupported(
        {
            "--funding FILE (one pair's; give a folder of every pair's dumps)": o.funding is not None
            and o.funding.is_file(),
            "--mark (one file for many pairs)": o.mark,
            f"--strategy {o.strategy}": o.strategy == "ppo",
            "--symbol": o.symbol,
            "--walk-forward": o.walk_forward,
        }
    )
    request = pb.PortfolioRequest(
        pb.split_list(o.symbols), pb.parse_universe(o.universe, o.interval), pb.parse_portfolio(o.portfolio)
    )
    where = pb.Where([o.data] if o.data else [], o.db, o.exchange, o.interval, o.start, o.end)
    frames = where.frames(request.symbols, load_candles, stored_symbols)
    if not frames:
        raise UserError("no candles to search in the period asked")
    spot = {s: engine_from_options(rules_for(s), o.budget, o.fee, o.slippage_bps, o.fill) for s in frames}
    configs = {s: o.apply(config, frames[s]) for s, config in spot.items()}  # its market, on every pair
    return Portfolio(frames, configs, Decimal(str(o.budget)), request.config, request.universe)


class PortfolioRules(Rules):
    """A rule strategy over a portfolio: every trial through the portfolio engine (no vectorised
    sweep: the wallet couples the pairs minute by minute)."""

    def __init__(self, ref: str, portfolio: Portfolio) -> None:
        super().__init__(ref)
        self.portfolio = portfolio

    def batch(self, config: EngineConfig) -> int:
        return 1

    def about(self, config: EngineConfig) -> dict[str, Any]:
        pairs = sorted(self.portfolio.frames)
        return {"evaluated_by": f"the portfolio engine ({len(pairs)} pairs, one wallet)", "symbols": pairs}

    def _make(self, params: dict[str, Any]) -> Callable[[], Strategy]:
        return lambda: self.space_owner(**params)

    def trials(self, search: Search, frame: pd.DataFrame, sets: list[dict[str, Any]]) -> list[Trial | None]:
        budget = float(self.portfolio.budget)
        out: list[Trial | None] = []
        for params in sets:
            try:
                result = self.portfolio.run(self._make(params), frame)
            except UserError:
                out.append(None)
                continue
            out.append(scored(params, result, budget, search.folds, search.objective))
        return out

    def _tail(self, make: Callable[[], Strategy], split: Split, costs: EngineConfig) -> PortfolioResult:
        minutes, lead = split.held_out(make().warmup_length())
        return self.portfolio.run(make, minutes, costs, warmup=lead)

    def held_out(self, best: Trial, split: Split, config: EngineConfig) -> np.ndarray:
        result = self._tail(self._make(best.params), split, config)
        return hourly(result.times, result.equity, float(self.portfolio.budget))

    def stressed(self, best: Trial, split: Split, config: EngineConfig) -> list[dict[str, Any]]:
        from botrader.core.research.stress import stress_on

        return stress_on(
            lambda make, costs: self._tail(make, split, costs),
            self._make(best.params),
            config,
            supported=lambda costs: costs.execution.fill == "close",  # a portfolio's only fill
        )

    def alongside(self, frame: pd.DataFrame, config: EngineConfig) -> Baselines:
        from botrader.core.research.stress import baseline_returns_on

        return market_returns(frame), baseline_returns_on(
            lambda make: self.portfolio.run(make, frame), config
        )
