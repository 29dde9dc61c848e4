"""Strategies: given each closed candle (and the account), a target action in [-1, 1] —
-1 sell the whole position, +1 buy with all cash, values between proportional — or None
to do nothing. Strategies keep their own streaming indicators, so the backtester and the
paper trader, which both feed them one candle at a time, see identical values; their
state serialises for an exact resume after a restart.

Each strategy pairs with a frozen parameter object checked up front.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar, Protocol

from botrader.core.errors import UserError
from botrader.core.indicators.streaming import Rsi, Window


class Bar:
    """The candle being decided on; one instance is reused (the hot loop allocates nothing)."""

    __slots__ = ("close", "high", "low", "open", "time", "volume")

    def __init__(self) -> None:
        self.time, self.open, self.high, self.low, self.close, self.volume = 0, 0.0, 0.0, 0.0, 0.0, 0.0


class Account:
    """What a strategy may know about the account (quote amounts as floats, for models)."""

    __slots__ = ("avg_entry_price", "cash", "equity", "long", "position")

    def __init__(self) -> None:
        self.long = False  # holding more than dust
        self.cash = self.position = self.avg_entry_price = self.equity = 0.0


class Strategy(Protocol):
    name: ClassVar[str]

    def decide(self, bar: Bar, account: Account) -> float | None: ...
    def explain(self) -> dict[str, Any]: ...
    def state(self) -> dict[str, Any]: ...
    def load(self, state: dict[str, Any]) -> None: ...


def _params(cls: type, raw: dict[str, Any], strategy: str) -> Any:
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise UserError(
            f"unknown parameter(s) for {strategy}: {', '.join(unknown)} (known: {', '.join(sorted(known))})"
        )
    try:
        return cls(**raw)
    except TypeError as exc:
        raise UserError(f"bad parameters for {strategy}: {exc}") from None


@dataclass(frozen=True, slots=True)
class RsiParams:
    period: int = 14
    oversold: float = 30.0
    overbought: float = 70.0

    def __post_init__(self) -> None:
        if not isinstance(self.period, int) or self.period < 2:
            raise UserError(f"bad RSI period {self.period!r}: expected an integer >= 2")
        if not 0 <= self.oversold < self.overbought <= 100:
            raise UserError(
                f"bad RSI thresholds {self.oversold}/{self.overbought}: "
                "need 0 <= oversold < overbought <= 100"
            )


class SimpleRsi:
    """Flat and RSI < oversold → buy with all cash; long and RSI > overbought → sell all."""

    name: ClassVar[str] = "simple_rsi"

    def __init__(self, params: RsiParams = RsiParams()) -> None:
        self.params = params
        self.rsi = Rsi(params.period)
        self.value: float | None = None

    def decide(self, bar: Bar, account: Account) -> float | None:
        value = self.value = self.rsi.update(bar.close)
        if value is None:
            return None
        if account.long:
            return -1.0 if value > self.params.overbought else None
        return 1.0 if value < self.params.oversold else None

    def explain(self) -> dict[str, Any]:
        value, p = self.value, self.params
        if value is None:
            return {"rsi": None}
        edge = (p.oversold - value) if value < p.oversold else (value - p.overbought)
        return {
            "rsi": value,
            "oversold": p.oversold,
            "overbought": p.overbought,
            "confidence": max(0.0, min(1.0, edge / 30.0)),
        }

    def state(self) -> dict[str, Any]:
        return {"rsi": self.rsi.state(), "value": self.value}

    def load(self, state: dict[str, Any]) -> None:
        self.rsi.load(state["rsi"])
        self.value = state["value"]


@dataclass(frozen=True, slots=True)
class RsiSmaParams(RsiParams):
    sma_period: int = 200

    def __post_init__(self) -> None:
        RsiParams.__post_init__(self)
        if not isinstance(self.sma_period, int) or self.sma_period < 2:
            raise UserError(f"bad sma_period {self.sma_period!r}: expected an integer >= 2")


class RsiSma(SimpleRsi):
    """RSI with a trend filter: buy an oversold dip only while the close is above its SMA
    (an uptrend); sell when overbought or when the close falls below the SMA."""

    name: ClassVar[str] = "rsi_sma"

    def __init__(self, params: RsiSmaParams = RsiSmaParams()) -> None:
        super().__init__(params)
        self.sma = Window(params.sma_period)
        self.trend: float | None = None

    def decide(self, bar: Bar, account: Account) -> float | None:
        value = self.value = self.rsi.update(bar.close)
        self.sma.update(bar.close)
        if value is None or not self.sma.full:
            return None
        trend = self.trend = self.sma.mean()
        if account.long:
            return -1.0 if value > self.params.overbought or bar.close < trend else None
        return 1.0 if value < self.params.oversold and bar.close > trend else None

    def explain(self) -> dict[str, Any]:
        return {**super().explain(), "sma": self.trend}

    def state(self) -> dict[str, Any]:
        return {**super().state(), "sma": self.sma.state(), "trend": self.trend}

    def load(self, state: dict[str, Any]) -> None:
        super().load(state)
        self.sma.load(state["sma"])
        self.trend = state["trend"]


ALIASES = {"rsi": "simple_rsi", "simple_rsi": "simple_rsi", "rsi_sma": "rsi_sma", "ppo": "ppo"}
_BUILDERS: dict[str, tuple[type, Callable[[Any], Strategy]]] = {
    "simple_rsi": (RsiParams, SimpleRsi),
    "rsi_sma": (RsiSmaParams, RsiSma),
}
PPO_FACTORY: Callable[[dict[str, Any], str | None], Strategy] | None = None  # set by the RL package


def strategy_names() -> list[str]:
    return ["simple_rsi", "rsi_sma", "ppo"]


def describe_strategies() -> list[dict[str, Any]]:
    """For the API's /strategies: names and default parameters."""
    return [{"name": name, "params": asdict(params())} for name, (params, _) in _BUILDERS.items()]


def make_strategy(name: str, params: dict[str, Any] | None = None, model: str | None = None) -> Strategy:
    canonical = ALIASES.get(name)
    if canonical is None:
        raise UserError(f"unknown strategy {name!r}: expected one of {', '.join(strategy_names())}")
    if canonical == "ppo":
        if PPO_FACTORY is None:
            try:  # registers PPO_FACTORY
                importlib.import_module("botrader.jobs.train.model")
            except ModuleNotFoundError:
                raise UserError(
                    "strategy 'ppo' needs the RL support: pip install 'botrader-jobs[rl]'"
                ) from None
        return globals()["PPO_FACTORY"](params or {}, model)
    param_cls, build = _BUILDERS[canonical]
    return build(_params(param_cls, params or {}, canonical))
