"""Risk manager: position sizing, order validation, and circuit breakers.

Sizing turns a strategy's target action into lots: a buy spends `action` of the cash, capped
so the position stays within `max_position_fraction` of equity and the order's notional
within `max_trade_risk_fraction` of equity (there are no stop-losses, so the notional is
the amount at risk); a sell sells `-action` of the position. No shorting.

Circuit breakers halt all new orders and say why:
- `daily_loss`: equity fell `daily_loss_limit_fraction` below the UTC day's opening equity
  (closes at the next UTC midnight);
- `max_drawdown`: equity fell `max_drawdown_fraction` below its peak (stays open);
- `consecutive_losses`: that many losing round trips in a row (stays open);
- `stale_data`: no candle for `stale_data_seconds` (closes when a fresh candle arrives);
- `emergency_stop`: manual; the engine flattens the position (stays open until cleared).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botrader.core.engine.portfolio import Portfolio
from botrader.core.engine.units import PPM, affordable_lots, fraction_of
from botrader.core.errors import UserError
from botrader.core.phases import BREAKERS

__all__ = ["BREAKERS", "RiskConfig", "RiskManager", "RiskState", "ppm_of"]

DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class RiskConfig:
    max_position_fraction: float = 1.0
    max_trade_risk_fraction: float = 1.0
    daily_loss_limit_fraction: float | None = None  # None: breaker off
    max_drawdown_fraction: float | None = None
    max_consecutive_losses: int | None = None
    stale_data_seconds: float | None = None
    max_leverage: int | None = None  # a perpetual bot's leverage may not exceed this
    liquidation_buffer: float | None = None  # close a perpetual position this far (a fraction
    # of the price) before its liquidation price, reason `liquidation_guard`

    def __post_init__(self) -> None:
        for name in (
            "max_position_fraction",
            "max_trade_risk_fraction",
            "daily_loss_limit_fraction",
            "max_drawdown_fraction",
        ):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= 1:
                raise UserError(f"bad {name} {value}: expected a fraction in [0, 1]")
        if self.max_consecutive_losses is not None and self.max_consecutive_losses < 1:
            raise UserError(f"bad max_consecutive_losses {self.max_consecutive_losses}: must be >= 1")
        if self.max_leverage is not None and self.max_leverage < 1:
            raise UserError(f"bad max_leverage {self.max_leverage}: must be >= 1")
        if self.liquidation_buffer is not None and not 0 < self.liquidation_buffer < 1:
            raise UserError(
                f"bad liquidation_buffer {self.liquidation_buffer}: expected a fraction in (0, 1)"
            )
        if self.stale_data_seconds is not None and self.stale_data_seconds <= 0:
            raise UserError(f"bad stale_data_seconds {self.stale_data_seconds}: must be > 0")


def ppm_of(fraction: float) -> int:
    return round(fraction * PPM)


@dataclass(slots=True)
class RiskState:
    open: dict[str, str] = field(default_factory=dict)  # breaker -> why
    day: int = -1  # UTC day number of day_start_equity
    day_start_equity: int = 0
    peak_equity: int = 0
    losing_streak: int = 0
    trips_seen: int = 0


class RiskManager:
    def __init__(self, config: RiskConfig) -> None:
        self.config = config
        self.state = RiskState()
        self.position_ppm = ppm_of(config.max_position_fraction)
        # with no equity breaker configured there is nothing to watch per candle
        self.watching = any(
            v is not None
            for v in (
                config.daily_loss_limit_fraction,
                config.max_drawdown_fraction,
                config.max_consecutive_losses,
            )
        )
        self.trade_ppm = ppm_of(config.max_trade_risk_fraction)
        self.now = 0  # open time of the candle being observed (ms)
        # every time a breaker opened: (candle open time in ms, breaker, why) — what a backtest
        # reports; not part of the saved state (a resumed trader logs from its restart on)
        self.trips: list[tuple[int, str, str]] = []

    @property
    def halted(self) -> bool:
        return bool(self.state.open)

    def trip(self, breaker: str, why: str) -> None:
        if breaker not in self.state.open:
            self.trips.append((self.now, breaker, why))
        self.state.open.setdefault(breaker, why)

    def clear(self, breaker: str) -> None:
        self.state.open.pop(breaker, None)

    def observe(self, time: int, equity: int, portfolio: Portfolio, money: Any) -> None:
        """After each candle: roll the day, track the peak, trip breakers. `money` formats
        cash units for the reasons people read."""
        self.observe_equity(time, equity, money)
        self._count_losses(portfolio)

    def observe_equity(self, time: int, equity: int, money: Any) -> None:
        """The equity breakers alone (a portfolio's, over its whole wallet)."""
        cfg, st = self.config, self.state
        self.now = time
        day = time // DAY_MS
        if day != st.day:
            st.day, st.day_start_equity = day, equity
            self.clear("daily_loss")
        st.peak_equity = max(st.peak_equity, equity)
        if cfg.daily_loss_limit_fraction is not None:
            floor = st.day_start_equity - fraction_of(
                st.day_start_equity, ppm_of(cfg.daily_loss_limit_fraction)
            )
            if equity < floor:
                self.trip("daily_loss", f"equity {money(equity)} is below today's loss limit {money(floor)}")
        if cfg.max_drawdown_fraction is not None:
            floor = st.peak_equity - fraction_of(st.peak_equity, ppm_of(cfg.max_drawdown_fraction))
            if equity < floor:
                self.trip(
                    "max_drawdown",
                    f"equity {money(equity)} is more than "
                    f"{cfg.max_drawdown_fraction:.1%} below its peak {money(st.peak_equity)}",
                )

    def _count_losses(self, portfolio: Portfolio) -> None:
        st, limit = self.state, self.config.max_consecutive_losses
        for pnl in portfolio.round_trips[st.trips_seen :]:
            st.losing_streak = st.losing_streak + 1 if pnl < 0 else 0
        st.trips_seen = len(portfolio.round_trips)
        if limit is not None and st.losing_streak >= limit:
            self.trip("consecutive_losses", f"{st.losing_streak} losing trades in a row (limit {limit})")

    def check_gap(self, last_seen_ms: int | None, now_ms: int) -> bool:
        """Stale-data breaker: open when no candle arrived for too long. Returns whether open."""
        limit = self.config.stale_data_seconds
        if limit is None or last_seen_ms is None:
            return False
        if now_ms - last_seen_ms > limit * 1000:
            self.now = now_ms
            self.trip(
                "stale_data", f"no candle for {(now_ms - last_seen_ms) / 1000:.0f} s (limit {limit:g} s)"
            )
            return True
        self.clear("stale_data")
        return False

    def size_buy(
        self, action_ppm: int, portfolio: Portfolio, equity: int, mark: int, price: int, fee: int
    ) -> int:
        """Lots to buy at `price` (after slippage); the position is valued at `mark` (the close)."""
        budget = fraction_of(portfolio.cash, action_ppm)
        room = fraction_of(equity, self.position_ppm) - portfolio.lots * mark
        budget = min(budget, max(room, 0), fraction_of(equity, self.trade_ppm))
        return int(affordable_lots(budget, price, fee))

    def size_sell(self, action_ppm: int, portfolio: Portfolio) -> int:
        return int(fraction_of(portfolio.lots, action_ppm))

    def snapshot(self) -> dict[str, Any]:
        st = self.state
        return {
            "open": dict(st.open),
            "day": st.day,
            "day_start_equity": st.day_start_equity,
            "peak_equity": st.peak_equity,
            "losing_streak": st.losing_streak,
            "trips_seen": st.trips_seen,
        }

    def restore(self, snap: dict[str, Any]) -> None:
        self.state = RiskState(**snap)
