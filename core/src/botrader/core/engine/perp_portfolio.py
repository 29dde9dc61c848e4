"""A USD-M wallet with one isolated, one-way position, in integer units: the perpetual
counterpart of `portfolio.Portfolio` (spot), with the same reading surface (`equity`,
`realized_pnl`, `fees_paid`, `round_trips`, `state`) so risk, performance and the dashboard
read either the same way.

The position is signed lots (long > 0, short < 0). Opening or adding locks initial margin
(`notional / leverage`, rounded up) out of the wallet into the position's isolated margin;
reducing releases the same share of it, plus the realised PnL of the lots closed; a fill
through zero closes the position and opens the rest the other way. Funding moves the
isolated margin (Binance settles an isolated position's funding there), and a liquidation
closes everything at the liquidation price: the clearance fee comes out of what the margin
still holds and the wallet never loses more than that margin.

Every division is `units.release_basis` (the share of basis and margin a partial close
releases, rounded down, so a full close releases exactly all of it) or `margin`'s helpers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from botrader.core.engine.margin import PerpRules, funding_payment, unrealized_pnl
from botrader.core.engine.units import PPM, fee_for, release_basis


@dataclass(slots=True)
class PerpPortfolio:
    cash: int  # wallet balance outside the position's margin
    leverage: int = 1
    lots: int = 0  # signed position
    entry_notional: int = 0  # |lots| × average entry price, fees excluded
    margin: int = 0  # the position's isolated margin
    realized_pnl: int = 0  # closed PnL net of fees, funding and liquidation losses
    fees_paid: int = 0  # trading fees and liquidation clearance fees
    funding: int = 0  # funding received (> 0) or paid (< 0), all positions
    trip_pnl: int = 0  # PnL of the position in progress (flat → open → flat)
    round_trips: list[int] = field(default_factory=list)
    can_short: bool = True  # the strategy's: without it a sell never goes below flat

    def equity(self, mark: int) -> int:
        # `margin.unrealized_pnl` inlined: the engine marks equity twice every candle
        lots = self.lots
        entry = self.entry_notional if lots >= 0 else -self.entry_notional
        return self.cash + self.margin + lots * mark - entry

    def unrealized_pnl(self, mark: int) -> int:
        return unrealized_pnl(self.lots, self.entry_notional, mark)

    def opening_cost(self, lots: int, price: int, fee: int) -> int:
        """Wallet cash that opening `lots` (unsigned) at `price` takes: margin plus fee."""
        return -(-lots * price // self.leverage) + fee

    def max_fill(self, side: str, price: int, fee_ppm: int) -> int:
        """The most lots a fill on `side` can take at `price`: all of an opposite position,
        then what the wallet (with what closing it frees) can open — or, for a sell without
        shorting, the long held."""
        sign = 1 if side == "buy" else -1
        if sign < 0 and not self.can_short:
            return max(self.lots, 0)
        closing = abs(self.lots) if self.lots * sign < 0 else 0
        return closing + self.openable_after(closing, price, fee_ppm)

    def openable_after(self, closing: int, price: int, fee_ppm: int) -> int:
        """Most lots the wallet can open in the same order after `closing` lots close (a full
        close frees the position's margin and PnL; a partial one leaves nothing to open).
        Checked with the fill's own arithmetic: one fee on the whole order, split by lots."""
        if closing and closing < abs(self.lots):
            return 0
        gross = (1 if self.lots > 0 else -1) * (closing * price - self.entry_notional) if closing else 0
        freed = self.margin + gross if closing else 0

        def fits(lots: int) -> bool:
            fee = fee_for((closing + lots) * price, fee_ppm)
            close_fee = fee * closing // (closing + lots)
            return self.opening_cost(lots, price, fee - close_fee) <= self.cash + freed - close_fee

        budget = self.cash + freed
        if budget <= 0:
            return 0
        lots = budget * self.leverage * PPM // (price * (PPM + self.leverage * fee_ppm))
        while lots > 0 and not fits(lots):
            lots -= 1  # margin and fee each round up: a step or two below the bound
        return lots

    def apply(self, side: str, lots: int, price: int, fee: int) -> int:
        return self.fill(lots if side == "buy" else -lots, price, fee)

    def average_entry_ticks(self) -> float:
        return self.entry_notional / abs(self.lots) if self.lots else 0.0

    def fill(self, signed_lots: int, price: int, fee: int) -> int:
        """Apply a fill (buy > 0, sell < 0) that reduces, closes, opens or flips the
        position; returns its realised PnL net of its fee. The fee is split by lots between
        a closing part and an opening part."""
        if signed_lots == 0:
            return 0
        against = self.lots != 0 and (self.lots > 0) != (signed_lots > 0)
        closing = min(abs(signed_lots), abs(self.lots)) if against else 0
        opening = abs(signed_lots) - closing
        close_fee = fee * closing // abs(signed_lots)
        pnl = self._close(closing, price, close_fee) if closing else 0
        if opening:
            pnl += self._open(opening if signed_lots > 0 else -opening, price, fee - close_fee)
        return pnl

    def _open(self, signed_lots: int, price: int, fee: int) -> int:
        notional = abs(signed_lots) * price
        margin = -(-notional // self.leverage)
        if margin + fee > self.cash:
            raise ValueError(f"opening {signed_lots} lots at {price} needs {margin + fee} > cash {self.cash}")
        self.cash -= margin + fee
        self.margin += margin
        self.lots += signed_lots
        self.entry_notional += notional
        self.fees_paid += fee
        self.realized_pnl -= fee
        self.trip_pnl -= fee
        return -fee

    def _close(self, lots: int, price: int, fee: int) -> int:
        held = abs(self.lots)
        entry = release_basis(self.entry_notional, lots, held)
        margin = release_basis(self.margin, lots, held)
        side = 1 if self.lots > 0 else -1
        gross = side * (lots * price - entry)
        self.cash += margin + gross - fee
        self.margin -= margin
        self.entry_notional -= entry
        self.lots -= side * lots
        self.fees_paid += fee
        pnl = gross - fee
        self._book(pnl)
        return pnl

    def apply_funding(self, mark: int, rate_e8: int) -> int:
        """One funding time: the position's payment moves its isolated margin."""
        if self.lots == 0:
            return 0
        return self.receive_funding(funding_payment(self.lots, mark, rate_e8))

    def receive_funding(self, amount: int) -> int:
        """A funding payment already computed (received > 0, paid < 0) — also how a stored
        ledger is replayed."""
        self.margin += amount
        self.funding += amount
        self._book(amount)
        return amount

    def liquidate(self, price: int, rules: PerpRules) -> tuple[int, int]:
        """Close the whole position at `price` (the liquidation tick, or worse where the mark
        gapped past it): (PnL, clearance fee). The fee is `notional × liquidationFee` out of
        what the margin balance still holds; the rest of that balance returns to the wallet."""
        notional = abs(self.lots) * price
        balance = self.margin + unrealized_pnl(self.lots, self.entry_notional, price)
        fee = min(rules.liquidation_fee(notional), max(balance, 0))
        returned = max(balance - fee, 0)
        pnl = returned - self.margin
        self.cash += returned
        self.fees_paid += fee
        self.lots = self.entry_notional = self.margin = 0
        self._book(pnl)
        return pnl, fee

    def _book(self, pnl: int) -> None:
        """`pnl` into the realised and round-trip totals (funding counts toward the trip it
        was paid in); a position back at zero closes its round trip."""
        self.realized_pnl += pnl
        self.trip_pnl += pnl
        if self.lots == 0:
            self.round_trips.append(self.trip_pnl)
            self.trip_pnl = 0

    def state(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> PerpPortfolio:
        return cls(**state)
