"""A TradingBot manifest → the engine's strategy and configuration, so the paper trader, the
embedded mode and `botrader backtest --bot` build the same engine from the same YAML. The
manifest's risk and execution fields are the configs' fields (camelCase in YAML)."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

from botrader.core.binance.endpoints import USDM_SOURCES
from botrader.core.engine.engine import EngineConfig
from botrader.core.engine.execution import ExecutionConfig
from botrader.core.engine.risk import RiskConfig
from botrader.core.engine.units import MarketRules
from botrader.core.errors import UserError
from botrader.core.intervals import interval_ms
from botrader.core.manifests import TradingBot, TradingBotSpec
from botrader.core.market_kind import bot_instrument, filters_for
from botrader.core.portfolio.config import PortfolioConfig
from botrader.core.portfolio.universe import UniverseRule, rule_from_spec
from botrader.core.strategy.base import Strategy
from botrader.core.strategy.registry import resolve


def engine_config(spec: TradingBotSpec, market: MarketRules | None = None) -> EngineConfig:
    """The bot's engine; on `market: usdm-perp` its perpetual (`market_kind.bot_instrument`).
    `market`: the filters that set the money units (default: the bundled ones of the bot's
    market; a resumed bot passes its saved ones)."""
    market = market or filters_for(spec.symbol, spec.market)
    config = EngineConfig(
        budget=Decimal(str(spec.budget)),
        market=market,
        risk=RiskConfig(**spec.risk.model_dump()),
        execution=ExecutionConfig(**spec.execution.model_dump()),
        exits=spec.strategy.exits.overrides() if spec.strategy.exits else {},
    )
    if spec.market == "spot":
        return config
    rate = spec.funding.rate if spec.funding else None
    collected = spec.source in USDM_SOURCES  # its collector stores the perpetual's funding rates
    instrument = bot_instrument(spec.symbol, spec.market, spec.leverage, rate, market, collected=collected)
    return dataclasses.replace(config, instrument=instrument)


def sleeve_config(spec: TradingBotSpec, symbol: str, market: MarketRules | None = None) -> EngineConfig:
    """One symbol's engine in a portfolio bot: the bot's per-symbol rules (sizing, exits,
    execution, losing streak); its equity breakers watch the whole wallet instead
    (`portfolio_config`): one symbol's share of it has no equity of its own."""
    if spec.market != "spot" and spec.funding is None and spec.source not in USDM_SOURCES:
        raise UserError(
            f"market {spec.market} with spec.symbols or spec.universe on source {spec.source}: give "
            "every pair one funding rate, spec.funding.rate (e.g. '0.0001'; '0' for none), or trade "
            "a binance-usdm source, whose collectors store each pair's rates"
        )
    config = engine_config(
        spec.model_copy(update={"symbol": symbol}), market or filters_for(symbol, spec.market)
    )
    risk = dataclasses.replace(config.risk, daily_loss_limit_fraction=None, max_drawdown_fraction=None)
    return dataclasses.replace(config, risk=risk)


def portfolio_config(spec: TradingBotSpec) -> PortfolioConfig:
    """`spec.portfolio`, with the bot's daily loss limit (and its drawdown limit, unless the
    portfolio sets its own) over the whole wallet."""
    portfolio = spec.portfolio.model_dump(by_alias=True, exclude_none=True) if spec.portfolio else {}
    return PortfolioConfig.from_spec(portfolio, spec.risk.model_dump(by_alias=True))


def universe_rule(spec: TradingBotSpec) -> UniverseRule | None:
    if spec.universe is None:
        return None
    return rule_from_spec(spec.universe.model_dump(by_alias=True), interval_ms(spec.interval))


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
