"""A TradingBot manifest → the engine's strategy and configuration, so the paper trader, the
embedded mode and `botrader backtest --bot` build the same engine from the same YAML."""

from __future__ import annotations

from decimal import Decimal

from botrader.core.engine.engine import EngineConfig
from botrader.core.engine.execution import ExecutionConfig
from botrader.core.engine.risk import RiskConfig
from botrader.core.engine.strategies import Strategy, make_strategy
from botrader.core.engine.units import MarketRules
from botrader.core.manifests import TradingBotSpec


def engine_config(spec: TradingBotSpec, market: MarketRules | None = None) -> EngineConfig:
    r, x = spec.risk, spec.execution
    return EngineConfig(
        budget=Decimal(str(spec.budget)),
        market=market or MarketRules(symbol=spec.symbol),
        risk=RiskConfig(
            max_position_fraction=r.max_position_fraction,
            max_trade_risk_fraction=r.max_trade_risk_fraction,
            daily_loss_limit_fraction=r.daily_loss_limit_fraction,
            max_drawdown_fraction=r.max_drawdown_fraction,
            max_consecutive_losses=r.max_consecutive_losses,
            stale_data_seconds=r.stale_data_seconds,
        ),
        execution=ExecutionConfig(
            algo=x.algo,
            slices=x.slices,
            fee_rate=x.fee_rate,
            slippage_bps=x.slippage_bps,
            participation=x.participation,
        ),
    )


def strategy_for(spec: TradingBotSpec) -> Strategy:
    return make_strategy(spec.strategy.type, dict(spec.strategy.params), spec.strategy.model_ref)
