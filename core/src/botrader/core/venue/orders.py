"""The life of an order on a venue, without I/O: intents, client ids, states and what each
venue answer does to them. Modelled on NautilusTrader's order state machine, reduced to what a
spot venue reports, plus the two states only the sender knows:

    SENDING ──ack──► NEW ──trade──► PARTIALLY_FILLED ──trade──► FILLED
       │              │                   │
       │              └──► CANCELED / EXPIRED / REJECTED ◄──┘
       └──timeout, 5xx, -1007──► UNKNOWN ──query / stream──► any state the venue reports

Rules the executor relies on (`docs/architecture.md`, "Orders on a venue"):
- an intent is committed (state SENDING) before anything is sent; its client id is derived from
  the bot and the engine's decision sequence, so a restart that re-derives it finds the same
  order instead of sending a second;
- an unknown outcome is never a failure: UNKNOWN until the venue says what happened;
- final states absorb: a late or duplicated report never reopens an order, and a report that
  says less has been filled than already known is old news, ignored.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from enum import StrEnum


class State(StrEnum):
    SENDING = "SENDING"  # committed, maybe sent, no answer yet
    UNKNOWN = "UNKNOWN"  # sent, the answer was lost (timeout, 5xx, -1007)
    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"

    @property
    def final(self) -> bool:
        return self in FINAL

    @property
    def open(self) -> bool:
        """Resting on the venue (or possibly so): cancel it on an emergency stop."""
        return self in (State.NEW, State.PARTIALLY_FILLED, State.UNKNOWN, State.SENDING)


FINAL = frozenset({State.FILLED, State.CANCELED, State.REJECTED, State.EXPIRED})
# Binance's order statuses that map to ours (PENDING_CANCEL and EXPIRED_IN_MATCH as their outcome)
VENUE_STATUS = {
    "NEW": State.NEW,
    "PARTIALLY_FILLED": State.PARTIALLY_FILLED,
    "FILLED": State.FILLED,
    "CANCELED": State.CANCELED,
    "PENDING_CANCEL": State.CANCELED,
    "REJECTED": State.REJECTED,
    "EXPIRED": State.EXPIRED,
    "EXPIRED_IN_MATCH": State.EXPIRED,
}
CLIENT_ID = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")  # Binance's newClientOrderId


def bot_prefix(namespace: str, name: str) -> str:
    """What every client id of this bot starts with: `bt` and 10 hex digits of the bot's
    identity. Bots sharing one account touch only orders that carry their own prefix."""
    digest = hashlib.sha256(f"{namespace}/{name}".encode()).hexdigest()[:10]
    return f"bt{digest}-"


def client_order_id(prefix: str, decision: int, attempt: int = 0) -> str:
    """The id for the engine's `decision`-th order (its fill sequence); `attempt` > 0 only after
    the venue confirmed the previous attempt does not exist. At most 36 characters."""
    found = f"{prefix}{decision}" + (f"r{attempt}" if attempt else "")
    if not CLIENT_ID.match(found):
        raise ValueError(f"bad client order id {found!r}")
    return found


@dataclass(frozen=True, slots=True)
class Intent:
    """What the engine wants, as committed before sending. Quantities in lots (the symbol's
    step), prices in ticks; `limit` None for a market order."""

    client_id: str
    bot: str
    symbol: str
    side: str  # BUY or SELL
    lots: int
    decision: int  # the engine's order sequence: the client id's source
    created_ms: int
    limit: int | None = None


@dataclass(frozen=True, slots=True)
class Order:
    intent: Intent
    state: State = State.SENDING
    venue_id: int | None = None
    filled_lots: int = 0
    error: str = ""  # the venue's code and message for a rejection

    def apply(self, report: Report) -> Order:
        """This order after a venue report (an answer, a query, a stream event)."""
        if self.state.final:
            return self  # absorbing: duplicates and late reports change nothing
        if report.filled_lots < self.filled_lots:
            return self  # older than what we know
        if report.filled_lots == self.filled_lots and _rank(report.state) < _rank(self.state):
            return self  # NEW after PARTIALLY_FILLED with no new fill: old news
        return replace(
            self,
            state=report.state,
            venue_id=report.venue_id if report.venue_id is not None else self.venue_id,
            filled_lots=report.filled_lots,
            error=report.error or self.error,
        )

    def lost(self) -> Order:
        """The send's answer did not come (timeout, 5xx, -1007): not a failure."""
        return self if self.state.final else replace(self, state=State.UNKNOWN)


def _rank(state: State) -> int:
    order = [State.SENDING, State.UNKNOWN, State.NEW, State.PARTIALLY_FILLED]
    return order.index(state) if state in order else len(order)


@dataclass(frozen=True, slots=True)
class Report:
    """What the venue said about an order: its status and how much of it has filled."""

    state: State
    filled_lots: int
    venue_id: int | None = None
    error: str = ""


@dataclass(frozen=True, slots=True)
class VenueFill:
    """One execution as the venue reports it: the truth, stored once by trade id. Amounts are
    exact decimal strings as the venue printed them; the commission's asset may be the quote,
    the base or another asset (BNB)."""

    trade_id: int
    client_id: str
    venue_id: int
    symbol: str
    side: str
    price: str
    quantity: str
    quote_quantity: str
    commission: str
    commission_asset: str
    time_ms: int
