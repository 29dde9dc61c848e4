"""A bot's position and cash from the venue's fills — the truth, not the simulator's.

Binance takes a spot commission from what the trade gives: a buy's from the base asset bought,
a sell's from the quote received; or, when the account pays fees in BNB, in BNB, which touches
neither. So the base held is bought − sold − base commissions, and the quote spent is the
buys' quote − the sells' quote + quote commissions; commissions in any other asset are kept
apart, never assumed to be quote.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from botrader.core.venue.orders import VenueFill


@dataclass
class Ledger:
    base: Decimal = Decimal(0)  # base asset held from these fills
    quote: Decimal = Decimal(0)  # quote asset gained (negative: spent)
    other_fees: dict[str, Decimal] = field(default_factory=dict)  # e.g. {"BNB": …}

    @classmethod
    def of(cls, fills: Iterable[VenueFill], base_asset: str, quote_asset: str) -> Ledger:
        out = cls()
        for f in fills:
            qty, quote, fee = Decimal(f.quantity), Decimal(f.quote_quantity), Decimal(f.commission)
            sign = 1 if f.side == "BUY" else -1
            out.base += sign * qty
            out.quote -= sign * quote
            if f.commission_asset == base_asset:
                out.base -= fee
            elif f.commission_asset == quote_asset:
                out.quote -= fee
            else:
                out.other_fees[f.commission_asset] = out.other_fees.get(f.commission_asset, Decimal(0)) + fee
        return out

    def equity(self, budget: Decimal, price: Decimal) -> Decimal:
        """The bot's equity on the venue: its budget, what its fills moved, the base marked
        at `price` (fees in other assets not included: they have no price here)."""
        return budget + self.quote + self.base * price
