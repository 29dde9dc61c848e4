"""What the engine needs of a wallet, whatever the instrument: `portfolio.Portfolio` (spot)
and `perp_portfolio.PerpPortfolio` (a USD-M isolated position) both are one."""

from __future__ import annotations

from typing import Any, Protocol


class Ledger(Protocol):
    cash: int
    lots: int  # signed: a short is negative
    entry_notional: int
    realized_pnl: int
    fees_paid: int
    round_trips: list[int]

    def equity(self, mark: int) -> int: ...

    def unrealized_pnl(self, mark: int) -> int: ...

    def average_entry_ticks(self) -> float: ...

    def max_fill(self, side: str, price: int, fee_ppm: int) -> int:
        """The most lots a fill on `side` can take at `price` (cash, margin, what is held)."""
        ...

    def apply(self, side: str, lots: int, price: int, fee: int) -> int:
        """Apply a fill; its realised PnL."""
        ...

    def state(self) -> dict[str, Any]: ...
