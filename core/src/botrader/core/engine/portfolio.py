"""Portfolio accounting in integer units (see `units`): cash, position, cost basis,
realised PnL, fees, and round trips (flat → long → flat) for win/loss statistics."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from botrader.core.engine.units import affordable_lots, release_basis

Side = Literal["buy", "sell"]


@dataclass(slots=True)
class Portfolio:
    cash: int  # cash units
    lots: int = 0  # position, in lots
    cost_basis: int = 0  # cash paid for the open position, buy fees included
    entry_notional: int = 0  # notional paid for the open position, fees excluded (average entry)
    realized_pnl: int = 0  # closed PnL net of every fee
    fees_paid: int = 0
    trip_pnl: int = 0  # PnL of the round trip in progress (its sells so far, minus buy fees)
    round_trips: list[int] = field(default_factory=list)  # PnL of each closed round trip

    def equity(self, price_ticks: int) -> int:
        return self.cash + self.lots * price_ticks

    def unrealized_pnl(self, price_ticks: int) -> int:
        return self.lots * price_ticks - self.cost_basis

    def apply_buy(self, lots: int, price: int, fee: int) -> None:
        notional = lots * price
        if notional + fee > self.cash:
            raise ValueError(f"buy of {lots} lots at {price} costs {notional + fee} > cash {self.cash}")
        self.cash -= notional + fee
        self.lots += lots
        self.cost_basis += notional + fee
        self.entry_notional += notional
        self.fees_paid += fee

    def apply_sell(self, lots: int, price: int, fee: int) -> int:
        """Sell lots; returns the realised PnL of this fill. The cost basis released is
        the sold share of it, rounded down (the remainder stays with what is still held)."""
        if lots > self.lots:
            raise ValueError(f"sell of {lots} lots exceeds the position of {self.lots} (no shorting)")
        proceeds = lots * price - fee
        released = release_basis(self.cost_basis, lots, self.lots)
        entry_released = release_basis(self.entry_notional, lots, self.lots)
        pnl = proceeds - released
        self.cash += proceeds
        self.lots -= lots
        self.cost_basis -= released
        self.entry_notional -= entry_released
        self.realized_pnl += pnl
        self.fees_paid += fee
        self.trip_pnl += pnl
        if self.lots == 0:
            self.cost_basis = self.entry_notional = 0
            self.round_trips.append(self.trip_pnl)
            self.trip_pnl = 0
        return pnl

    def max_fill(self, side: Side, price: int, fee_ppm: int) -> int:
        """The most lots a fill on `side` can take at `price`: what the cash buys, what is held."""
        return affordable_lots(self.cash, price, fee_ppm) if side == "buy" else self.lots

    def apply(self, side: Side, lots: int, price: int, fee: int) -> int:
        """A fill; its realised PnL (a buy realises nothing on spot)."""
        if side == "buy":
            self.apply_buy(lots, price, fee)
            return 0
        return self.apply_sell(lots, price, fee)

    def average_entry_ticks(self) -> float:
        """Average entry price in ticks (display only; accounting uses the exact basis)."""
        return self.entry_notional / self.lots if self.lots else 0.0

    def state(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Portfolio:
        return cls(**state)
