"""What a training run is asked to do (data, budgets, hyperparameters, where to track it) and
the splits it trains, validates and tests on."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from botrader.core.binance.filters import rules_for
from botrader.core.data.files import read_candles_frame
from botrader.core.engine.engine import EngineConfig
from botrader.core.engine.execution import ExecutionConfig
from botrader.core.engine.units import MarketRules
from botrader.core.market_kind import MarketOptions
from botrader.core.research.stress import BASELINES
from botrader.core.strategy.registry import make
from botrader.core.training_spec import DEFAULT_EXPERIMENT
from botrader.jobs.rl.data import Splits, make_splits


@dataclass
class TrainRequest:
    data: Path
    budgets: list[float]
    hyperparameters: Any  # ppo.Hyperparameters
    experiment: str = DEFAULT_EXPERIMENT
    tracking_uri: str | None = None
    ray_address: str | None = None  # None: RAY_ADDRESS or a local Ray; "none": no Ray
    symbol: str | None = None  # None: the dataset's own (or a Binance dump's name), else BTCUSDT
    interval: str | None = None
    val_fraction: float = 0.15
    test_fraction: float = 0.15
    run_name: str = ""  # the `run` label of the training metrics (default: the experiment)
    baselines: tuple[str, ...] = (
        BASELINES  # strategies (any reference) beside buy-and-hold: the search card's
    )
    walk_forward: int = 0  # folds the hyperparameters are retrained over before the test split
    market_options: MarketOptions = field(default_factory=MarketOptions)  # spot, or a perpetual's
    span: tuple[int, int] | None = None  # the candles' first and last open times (`load_splits`)
    results: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        from botrader.jobs.dataset import market_of

        symbol, interval = market_of(Path(self.data))
        self.symbol = (self.symbol or symbol or "BTCUSDT").upper()
        self.interval = self.interval or interval or "1m"

    @property
    def market(self) -> MarketRules:
        return rules_for(str(self.symbol))

    def engine_config(self, budget: float) -> EngineConfig:
        """The engine that trains (a perpetual's environment is the engine itself) and
        evaluates: the symbol's rules and market, the training fee, no breakers."""
        from decimal import Decimal

        execution = ExecutionConfig(fee_rate=self.hyperparameters.fee_rate)
        config = EngineConfig(budget=Decimal(str(budget)), market=self.market, execution=execution)
        m = self.market_options
        if m.market == "spot" and m == MarketOptions():
            return config
        if self.span is None:
            raise RuntimeError("engine_config before load_splits: the funding's span is not known yet")
        return m.over(config, *self.span)


def load_splits(request: TrainRequest) -> tuple[pd.DataFrame, Splits]:
    for ref in request.baselines:
        make(ref)  # a bad baseline fails here, before any work
    frame = read_candles_frame(request.data)
    if len(frame):
        request.span = (int(frame["open_time"].iloc[0]), int(frame["open_time"].iloc[-1]))
        request.engine_config(request.budgets[0])  # a bad market option fails here, before any work
    splits = make_splits(frame, val_fraction=request.val_fraction, test_fraction=request.test_fraction)
    request.hyperparameters.validate(len(splits.train))
    return frame, splits
