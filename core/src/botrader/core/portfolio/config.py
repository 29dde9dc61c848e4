"""`spec.portfolio`: the caps and the breaker a portfolio bot adds above its per-symbol rules,
and how much of the wallet one position may take (its stake)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

from botrader.core.engine.risk import ppm_of
from botrader.core.engine.units import PPM, fraction_of
from botrader.core.errors import UserError

OnExit = Literal["close", "hold"]


class Stake(Protocol):
    """The most a position of `symbol` may be worth, in wallet units, given the portfolio's
    equity at this minute's snapshot: what a strategy's full buy (action 1) aims at."""

    uniform: bool  # the same for every symbol (computed once a minute); if not, it watches candles:

    def of(self, symbol: str, equity: int) -> int: ...

    def observe(self, symbol: str, high: float, low: float, close: float) -> None:
        """A pair's closed candle (before any pair of the minute is sized)."""
        ...

    def refresh(self) -> None:
        """Every pair of the minute observed: the stakes it sizes with."""
        ...

    def state(self) -> dict[str, Any]: ...

    def load(self, state: dict[str, Any]) -> None: ...


@dataclass(frozen=True, slots=True)
class FractionStake:
    """Each position up to a fixed share of equity (`stake: {fraction: 0.1}`; `equal` is one
    share per open-position slot: 1 / maxOpenPositions, or 1 / the number of symbols)."""

    ppm: int
    uniform: bool = True

    def of(self, symbol: str, equity: int) -> int:
        return fraction_of(max(equity, 0), self.ppm)

    def observe(self, symbol: str, high: float, low: float, close: float) -> None:
        return None

    def refresh(self) -> None:
        return None

    def state(self) -> dict[str, Any]:
        return {}

    def load(self, state: dict[str, Any]) -> None:
        return None


@dataclass(frozen=True, slots=True)
class PortfolioConfig:
    max_open_positions: int | None = None
    max_position_fraction: float = 1.0  # of portfolio equity, per symbol
    max_gross_exposure: float | None = None  # sum of |notional| over equity (None: the leverage)
    max_drawdown_fraction: float | None = None  # the `portfolio_drawdown` breaker
    daily_loss_limit_fraction: float | None = None  # `daily_loss`, over the whole wallet
    stake: str = "equal"  # equal | fraction | volatility (inverse ATR)
    stake_fraction: float | None = None  # with stake: fraction
    on_exit: OnExit = "close"  # a symbol leaving the universe: close its position, or hold it

    def __post_init__(self) -> None:
        whole = self.max_open_positions
        if whole is not None and (not isinstance(whole, int) or isinstance(whole, bool) or whole < 1):
            raise UserError(f"bad maxOpenPositions {whole!r}: expected a whole number >= 1")
        for name, value in (
            ("maxPositionFraction", self.max_position_fraction),
            ("maxDrawdownFraction", self.max_drawdown_fraction),
            ("dailyLossLimitFraction", self.daily_loss_limit_fraction),
            ("stake fraction", self.stake_fraction),
            ("maxGrossExposure", self.max_gross_exposure),
        ):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
                raise UserError(f"bad {name} {value!r}: expected a number")
            if value is not None and name != "maxGrossExposure" and not 0 < value <= 1:
                raise UserError(f"bad {name} {value}: expected a fraction in (0, 1]")
        if self.max_gross_exposure is not None and not self.max_gross_exposure > 0:
            raise UserError(f"bad maxGrossExposure {self.max_gross_exposure}: must be > 0")
        if self.stake not in ("equal", "fraction", "volatility"):
            raise UserError(f"unknown stake {self.stake!r}: expected equal, fraction or volatility")
        if self.stake == "fraction" and self.stake_fraction is None:
            raise UserError("stake fraction needs stakeFraction (e.g. 0.1: a tenth of equity per position)")
        if self.on_exit not in ("close", "hold"):
            raise UserError(f"bad onExit {self.on_exit!r}: expected close or hold")

    def stake_for(self, symbols: int) -> Stake:
        """The stake rule for a portfolio of `symbols` symbols, capped by maxPositionFraction."""
        from botrader.core.portfolio.volatility import InverseVolatility

        cap = ppm_of(self.max_position_fraction)
        if self.stake == "fraction":
            return FractionStake(min(ppm_of(self.stake_fraction or 0.0), cap))
        share = PPM // (self.max_open_positions or symbols)
        return InverseVolatility(share, cap) if self.stake == "volatility" else FractionStake(min(share, cap))

    @classmethod
    def from_spec(cls, spec: dict[str, Any], risk: dict[str, Any] | None = None) -> PortfolioConfig:
        """From a manifest's `spec.portfolio` (camelCase keys); `risk`: the bot's `spec.risk`,
        whose daily loss limit (and, without portfolio.maxDrawdownFraction, drawdown limit)
        watch the whole wallet."""
        known = {
            "maxOpenPositions",
            "maxPositionFraction",
            "maxGrossExposure",
            "maxDrawdownFraction",
            "stake",
            "stakeFraction",
            "onExit",
        }
        unknown = sorted(set(spec) - known)
        if unknown:
            expected = ", ".join(sorted(known))
            raise UserError(f"unknown portfolio field {unknown[0]!r}: expected one of {expected}")
        risk = risk or {}
        drawdown = spec.get("maxDrawdownFraction", risk.get("maxDrawdownFraction"))
        return cls(
            max_open_positions=spec.get("maxOpenPositions"),
            max_position_fraction=spec.get("maxPositionFraction", 1.0),
            max_gross_exposure=spec.get("maxGrossExposure"),
            max_drawdown_fraction=drawdown,
            daily_loss_limit_fraction=risk.get("dailyLossLimitFraction"),
            stake=spec.get("stake", "equal"),
            stake_fraction=spec.get("stakeFraction"),
            on_exit=spec.get("onExit", "close"),
        )
