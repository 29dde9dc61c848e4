"""A TradingBot manifest → the engine's strategy and configuration, so the paper trader, the
embedded mode and `botrader backtest --bot` build the same engine from the same YAML. The
manifest's risk and execution fields are the configs' fields (camelCase in YAML)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from botrader.core.binance.filters import rules_for
from botrader.core.engine.engine import EngineConfig
from botrader.core.engine.execution import ExecutionConfig
from botrader.core.engine.risk import RiskConfig
from botrader.core.engine.units import MarketRules
from botrader.core.errors import UserError
from botrader.core.manifests import TradingBot, TradingBotSpec
from botrader.core.strategy.base import Strategy
from botrader.core.strategy.registry import resolve


def engine_config(spec: TradingBotSpec, market: MarketRules | None = None) -> EngineConfig:
    return EngineConfig(
        budget=Decimal(str(spec.budget)),
        market=market or rules_for(spec.symbol),
        risk=RiskConfig(**spec.risk.model_dump()),
        execution=ExecutionConfig(**spec.execution.model_dump()),
        exits=spec.strategy.exits.overrides() if spec.strategy.exits else {},
    )


def strategy_params(
    bot: TradingBot, cls: type[Strategy], extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The manifest's params (and `modelRef` as the `model` parameter of a strategy that has
    one), with `extra` (the command line's) on top."""
    s = bot.spec.strategy
    if s.params_from is not None:  # the operator swaps it for the search's parameters
        raise UserError(
            f"{bot.name}: spec.strategy.paramsFrom names OptimizationRun {s.params_from.optimization_run!r}, "
            "which only the operator resolves: put its bestParams in spec.strategy.params "
            "(botrader optimize --json prints them as best.params)"
        )
    params = dict(s.params)
    if s.model_ref is not None:
        if "model" not in cls.params:
            raise UserError(
                f"{bot.name}: spec.strategy.modelRef is only for strategies with a model (such as ppo)"
            )
        params["model"] = s.model_ref
    return {**params, **(extra or {})}


def strategy_for(bot: TradingBot, extra: dict[str, Any] | None = None) -> Strategy:
    cls = resolve(bot.strategy_reference())
    return cls(**strategy_params(bot, cls, extra))
