"""Paper against venue, decision by decision: what "dry-run wins, live loses" costs, in numbers.

The paper engine and the venue act on the same decisions (the venue order's `decision` is the
engine's order id). Per decision: the paper fills' average price against the venue fills'
(bps, signed so that positive is worse for the bot: paying more on a buy, getting less on a
sell), the fees on each side in the quote asset, the venue's delay from the intent's commit
to its last fill, how many venue fills it took, and a rejection's reason. Overall: the PnL
difference and its parts — price (spread, slippage and timing: what the venue's prices cost
against paper's on the quantity the venue filled), fees, and the paper notional the venue did
not fill (rejected or expired decisions).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from botrader.core.venue.orders import Order, State, VenueFill


@dataclass(frozen=True)
class Decision:
    decision: int
    side: str
    client_id: str
    state: str
    paper_price: Decimal | None
    venue_price: Decimal | None
    slippage_bps: float | None  # venue against paper; positive: worse for the bot
    paper_fee: Decimal
    venue_fee: Decimal  # commissions in the quote asset (base commissions at the fill's price)
    paper_quantity: Decimal
    venue_quantity: Decimal
    fills: int
    delay_ms: int | None  # intent committed → last venue fill
    error: str = ""
    difference: Decimal = Decimal(0)  # this decision's venue − paper PnL (price and fees)


@dataclass
class Divergence:
    decisions: list[Decision] = field(default_factory=list)
    price_cost: Decimal = Decimal(0)  # quote lost to worse venue prices on what it filled
    fee_cost: Decimal = Decimal(0)  # venue fees − paper fees
    unfilled_notional: Decimal = Decimal(0)  # paper notional the venue did not fill
    rejections: int = 0

    @property
    def pnl_difference(self) -> Decimal:
        """Venue PnL − paper PnL from execution alone (negative: the venue did worse)."""
        return -(self.price_cost + self.fee_cost)

    def summary(self) -> dict[str, Any]:
        slips = [d.slippage_bps for d in self.decisions if d.slippage_bps is not None]
        delays = sorted(d.delay_ms for d in self.decisions if d.delay_ms is not None)
        return {
            "decisions": len(self.decisions),
            "pnl_difference": float(self.pnl_difference),
            "price_cost": float(self.price_cost),
            "fee_cost": float(self.fee_cost),
            "unfilled_notional": float(self.unfilled_notional),
            "rejections": self.rejections,
            "mean_slippage_bps": sum(slips) / len(slips) if slips else None,
            "median_delay_ms": delays[len(delays) // 2] if delays else None,
            "partial_fills": sum(1 for d in self.decisions if d.fills > 1),
        }


def _vwap(pairs: Sequence[tuple[Decimal, Decimal]]) -> tuple[Decimal | None, Decimal]:
    qty = sum((q for _, q in pairs), Decimal(0))
    return ((sum((p * q for p, q in pairs), Decimal(0)) / qty) if qty else None), qty


def _quote_fee(f: VenueFill, base_asset: str, quote_asset: str) -> Decimal:
    fee = Decimal(f.commission)
    if f.commission_asset == quote_asset:
        return fee
    if f.commission_asset == base_asset:
        return fee * Decimal(f.price)
    return Decimal(0)  # BNB and others: no price here; reported apart by the ledger


def divergence(
    paper_fills: Iterable[Mapping[str, Any]],
    venue_orders: Iterable[Order],
    venue_fills: Iterable[VenueFill],
    base_asset: str,
    quote_asset: str,
) -> Divergence:
    """`paper_fills`: the trades table's rows (order_id, price, quantity, fee)."""
    paper: dict[int, list[Mapping[str, Any]]] = {}
    for row in paper_fills:
        paper.setdefault(int(row["order_id"]), []).append(row)
    by_client: dict[str, list[VenueFill]] = {}
    for f in venue_fills:
        by_client.setdefault(f.client_id, []).append(f)
    out = Divergence()
    for order in sorted(venue_orders, key=lambda o: o.intent.decision):
        i = order.intent
        mine = paper.get(i.decision, [])
        paper_price, paper_qty = _vwap(
            [(Decimal(str(r["price"])), Decimal(str(r["quantity"]))) for r in mine]
        )
        paper_fee = sum((Decimal(str(r["fee"])) for r in mine), Decimal(0))
        fills = by_client.get(i.client_id, [])
        venue_price, venue_qty = _vwap([(Decimal(f.price), Decimal(f.quantity)) for f in fills])
        venue_fee = sum((_quote_fee(f, base_asset, quote_asset) for f in fills), Decimal(0))
        sign = 1 if i.side == "BUY" else -1
        slip, price_cost = None, Decimal(0)
        if paper_price and venue_price is not None:
            slip = float(sign * (venue_price - paper_price) / paper_price * 10_000)
            price_cost = sign * (venue_price - paper_price) * venue_qty
        out.price_cost += price_cost
        out.fee_cost += venue_fee - paper_fee
        if paper_price is not None and venue_qty < paper_qty:
            out.unfilled_notional += (paper_qty - venue_qty) * paper_price
        out.rejections += order.state is State.REJECTED
        delay = max(f.time_ms for f in fills) - i.created_ms if fills else None
        out.decisions.append(
            Decision(
                i.decision,
                i.side,
                i.client_id,
                order.state.value,
                paper_price,
                venue_price,
                slip,
                paper_fee,
                venue_fee,
                paper_qty,
                venue_qty,
                len(fills),
                delay,
                order.error,
                -(price_cost + venue_fee - paper_fee),
            )
        )
    return out
