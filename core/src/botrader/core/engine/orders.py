"""Orders and fills: what the engine records and the paper trader persists."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Side = Literal["buy", "sell"]
Algo = Literal["market", "twap", "vwap"]
OrderStatus = Literal["open", "filled", "partially_filled", "rejected", "cancelled"]


@dataclass(slots=True)
class Order:
    """A parent order: one decision. Market orders fill at once (unless a participation cap
    spreads them); TWAP/VWAP orders fill in child slices over the next candles."""

    id: int
    time: int  # open time of the candle whose close triggered it
    side: Side
    lots: int  # requested
    algo: Algo = "market"
    slices: int = 1
    action: float = 0.0  # the strategy's target action in [-1, 1]
    reason: str = "signal"  # signal, or the exit that placed it (exits.REASONS)
    explanation: dict[str, Any] = field(default_factory=dict)
    status: OrderStatus = "open"
    filled_lots: int = 0
    slices_done: int = 0

    @property
    def remaining(self) -> int:
        return self.lots - self.filled_lots

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution (a whole market order, or one child of a sliced order)."""

    order_id: int
    seq: int  # position in the engine's fill sequence: a stable idempotency key
    time: int  # open time of the candle at whose close it filled
    side: Side
    lots: int
    price: int  # ticks, after slippage
    fee: int  # cash units
    pnl: int = 0  # realised PnL for sells, cash units
    reason: str = "signal"  # why: the strategy's signal or an exit (exits.REASONS)

    @property
    def notional(self) -> int:
        return self.lots * self.price

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
