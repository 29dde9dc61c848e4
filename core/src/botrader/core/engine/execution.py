"""Execution simulator: market orders with fee and slippage at the candle's close (fill model
`close`) or at the next candle's open (`next_open`, Freqtrade's assumption); TWAP
and VWAP parents sliced over the following candles; an optional participation cap (a
fraction of each candle's volume) that spreads large orders over several candles.

VWAP sizes each child by the candle's volume against the volume still expected for the
remaining slices (the average of recent candles): a causal schedule, not a peek at future
volume. Every child is re-checked against cash, position and the minimum notional.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Literal

from botrader.core.engine.ledger import Ledger
from botrader.core.engine.orders import Algo, Fill, Order
from botrader.core.engine.units import (
    MarketRules,
    buy_price,
    fee_for,
    fee_ppm,
    sell_price,
    slippage_units,
)
from botrader.core.errors import UserError

FillModel = Literal["close", "next_open"]
FILL_MODELS = ("close", "next_open")


@dataclass(frozen=True, slots=True)
class ExecutionConfig:
    algo: Algo = "market"
    slices: int = 1
    fee_rate: float = 0.001
    slippage_bps: float = 0.0
    participation: float | None = None  # max fraction of a candle's volume per fill
    fill: FillModel = "close"

    def __post_init__(self) -> None:
        if self.algo not in ("market", "twap", "vwap"):
            raise UserError(f"unknown execution algo {self.algo!r}: expected market, twap or vwap")
        if self.slices < 1:
            raise UserError(f"bad slices {self.slices}: must be >= 1")
        if not 0 <= self.fee_rate < 0.1:
            raise UserError(f"bad fee rate {self.fee_rate}: expected a fraction in [0, 0.1)")
        if not 0 <= self.slippage_bps < 1000:
            raise UserError(f"bad slippage {self.slippage_bps} bp: expected 0 to 1000")
        if self.participation is not None and not 0 < self.participation <= 1:
            raise UserError(f"bad participation {self.participation}: expected a fraction in (0, 1]")
        if self.fill not in FILL_MODELS:
            raise UserError(f"unknown fill model {self.fill!r}: expected {' or '.join(FILL_MODELS)}")


class ExecutionSimulator:
    VOLUME_MEMORY = 20  # candles of volume history behind VWAP's expectation

    def __init__(self, config: ExecutionConfig, market: MarketRules) -> None:
        self.config = config
        self.market = market
        self.fee_ppm = fee_ppm(config.fee_rate)
        self.slip = slippage_units(config.slippage_bps)
        self.step = float(market.step_size)
        self.min_notional = market.min_notional_units
        self.recent_volume: deque[float] = deque(maxlen=self.VOLUME_MEMORY)
        self.active: Order | None = None

    def fill_price(self, side: str, close_ticks: int) -> int:
        return buy_price(close_ticks, self.slip) if side == "buy" else sell_price(close_ticks, self.slip)

    def note_volume(self, volume: float) -> None:
        self.recent_volume.append(volume)

    def child_target(self, order: Order, volume: float) -> int:
        """Lots this candle should take of the parent, before cash/position/volume caps."""
        left = order.slices - order.slices_done
        if order.algo == "market" or left <= 1:
            return order.remaining
        if order.algo == "twap":
            return order.remaining // left
        expected = sum(self.recent_volume) / len(self.recent_volume) if self.recent_volume else volume
        share = volume / (volume + expected * (left - 1)) if volume + expected > 0 else 1.0 / left
        return int(order.remaining * share)

    def work(self, order: Order, portfolio: Ledger, close_ticks: int, volume: float) -> tuple[int, int, int]:
        """(lots, price, fee) to fill now for `order`, after every cap; lots may be 0."""
        price = self.fill_price(order.side, close_ticks)
        lots = self.child_target(order, volume)
        if self.config.participation is not None:
            lots = min(lots, int(volume * self.config.participation / self.step * (1 + 1e-12)))
        lots = max(min(lots, portfolio.max_fill(order.side, price, self.fee_ppm)), 0)
        if lots and lots * price < self.min_notional:
            lots = 0  # below the exchange's minimum notional: wait (or end) instead
        return lots, price, fee_for(lots * price, self.fee_ppm) if lots else 0

    def settle(
        self, order: Order, portfolio: Ledger, time: int, close_ticks: int, volume: float, seq: int
    ) -> Fill | None:
        """Work `order` at this candle: apply the fill to the portfolio and advance the parent."""
        lots, price, fee = self.work(order, portfolio, close_ticks, volume)
        order.slices_done += 1
        fill = None
        if lots:
            pnl = portfolio.apply(order.side, lots, price, fee)
            order.filled_lots += lots
            fill = Fill(order.id, seq, time, order.side, lots, price, fee, pnl, order.reason)
        self._finish_if_done(order, portfolio, price)
        return fill

    def _finish_if_done(self, order: Order, portfolio: Ledger, price: int) -> None:
        if order.remaining == 0:
            order.status = "filled"
            return
        left = portfolio.max_fill(order.side, price, self.fee_ppm)
        exhausted = order.side == "sell" and left == 0  # nothing left to sell
        unaffordable = order.side == "buy" and left * price < self.min_notional
        dust = order.remaining * price < self.min_notional and order.slices_done >= order.slices
        if exhausted or unaffordable or dust:
            order.status = "partially_filled" if order.filled_lots else "cancelled"
