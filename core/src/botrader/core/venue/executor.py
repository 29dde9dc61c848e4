"""Sending a bot's orders to a venue and reconciling what it did — nothing lost, nothing doubled.

`submit` commits the intent before it sends it and records whatever comes back; a lost answer
leaves the order UNKNOWN. `reconcile` (on start, after a stream reconnect, on a timer) asks for the
newest acknowledged order (a reset account has lost it), settles every order that is not final
by querying it by client id, reads the account's trades on the
symbol from the stored cursor (`myTrades?fromId=`, no time window) and stores each fill once,
and lists open orders carrying the bot's prefix that the database does not know.

An order the venue does not know is one of two things. If the venue had acknowledged it (we
hold its order id), the account was wiped — the testnet resets monthly — and the bot stops
with `VenueReset`, keeping its history and never re-sending old intents. If it was never
acknowledged, it did not reach the venue in time: once its receive window has passed it cannot
be executed any more, so it is closed as EXPIRED ("never reached the venue"), not sent again.

Between reconciliations the user data stream (`user_stream`) brings the venue's news as it
happens: `on_event` applies an `executionReport` to the order it names and stores its fill.

`crash(point)` lets tests stop the executor at each point a process can die: after the intent
commits (`committed`), after the venue answered but before that is recorded (`answered`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from botrader.core.db.venue import VenueStore
from botrader.core.timeutil import now_ms
from botrader.core.venue.binance_spot import SpotClient
from botrader.core.venue.errors import Banned, NotFound, OutcomeUnknown, RateLimited, Rejected, VenueError
from botrader.core.venue.orders import Intent, Order, Report, State, VenueFill
from botrader.core.venue.user_stream import execution

log = logging.getLogger(__name__)
NEVER_SENT = "never reached the venue: not found after its receive window"


class VenueReset(RuntimeError):
    """Orders the venue had acknowledged are gone: the account was wiped."""


@dataclass
class Reconciled:
    settled: int = 0  # orders that changed state
    fills: int = 0  # fills stored that were not stored before
    unknown_open: list[str] = field(default_factory=list)  # open orders of ours the database lacks
    requests: int = 0


def _no_crash(_point: str) -> None:
    return None


class Executor:
    def __init__(
        self,
        store: VenueStore,
        client: SpotClient,
        bot: str,
        prefix: str,
        *,
        clock: Callable[[], int] = now_ms,
        grace_ms: int = 5000,
        crash: Callable[[str], None] = _no_crash,
        sleep: Callable[[float], None] = time.sleep,
        max_waits: int = 3,
        max_wait_s: float = 60.0,
    ) -> None:
        self.store, self.client, self.bot, self.prefix = store, client, bot, prefix
        self.clock, self.crash, self.sleep = clock, crash, sleep
        self.max_waits, self.max_wait_s = max_waits, max_wait_s
        self.window_ms = client.recv_window + grace_ms  # after this a lost request cannot execute

    def submit(self, intent: Intent) -> Order:
        """Commit, send, record. Never raises for a lost answer (the order is UNKNOWN). A 429
        is waited out (`Retry-After`, at most `max_wait_s`) and the same intent sent again: the
        venue refused it unprocessed. A 418 ends the intent as never sent and raises `Banned`:
        nothing may be sent until the ban ends."""
        if not self.store.commit_intent(intent):
            found = self.store.order(self.bot, intent.client_id)
            assert found is not None
            return found
        self.crash("committed")
        order = Order(intent)
        try:
            report, fills = self._send(intent)
        except Rejected as exc:
            order = order.apply(Report(State.REJECTED, 0, error=str(exc)))
        except OutcomeUnknown:
            order = order.lost()
        except Banned as exc:
            self.store.save(replace(order, state=State.EXPIRED, error=f"not sent: {exc}"), self.clock())
            raise
        except VenueError as exc:  # still rate limited, a clock still off, bad keys: refused unprocessed
            log.warning("%s: %s not sent: %s", self.bot, intent.client_id, exc)
            return order  # stays SENDING: reconciling closes it once its window has passed
        else:
            self.crash("answered")
            self.store.add_fills(self.bot, fills)
            order = order.apply(report)
        self.store.save(order, self.clock())
        return order

    def _send(self, intent: Intent) -> tuple[Report, list[VenueFill]]:
        for _ in range(self.max_waits):
            try:
                return self.client.place(intent)
            except RateLimited as exc:
                log.warning("%s: rate limited, waiting %.1f s", self.bot, exc.retry_after)
                self.sleep(min(exc.retry_after, self.max_wait_s))
        return self.client.place(intent)

    def on_event(self, event: dict[str, Any]) -> bool:
        """A user-data-stream event: an `executionReport` of one of this bot's orders settles
        it and stores its fill. Whether it changed anything (a duplicate does not)."""
        if event.get("e") != "executionReport" or event.get("s") != self.client.market.symbol:
            return False
        client_id, report, fill = execution(event, self.client.lots)
        order = self.store.order(self.bot, client_id) if client_id.startswith(self.prefix) else None
        if order is None:
            return False  # another bot's, or one the database lacks: reconciling reports it
        added = self.store.add_fills(self.bot, [fill]) if fill is not None else 0
        settled = order.apply(report)
        if settled != order:
            self.store.save(settled, self.clock())
        return added > 0 or settled != order

    def reconcile(self) -> Reconciled:
        began = self.client.requests
        found = Reconciled()
        self._check_alive()
        for order in self.store.orders(self.bot, final=False):
            settled = self._settle(order)
            if settled != order:
                self.store.save(settled, self.clock())
                found.settled += 1
        found.fills = self._read_fills()
        known = {o.intent.client_id for o in self.store.orders(self.bot)}
        found.unknown_open = [
            o["clientOrderId"]
            for o in self.client.open_orders()
            if o["clientOrderId"].startswith(self.prefix) and o["clientOrderId"] not in known
        ]
        found.requests = self.client.requests - began
        return found

    def _check_alive(self) -> None:
        """The newest order the venue acknowledged must still be there: when every order is
        final nothing else would notice that the account was wiped."""
        acknowledged = [o for o in self.store.orders(self.bot) if o.venue_id is not None]
        if acknowledged:
            self._settle(max(acknowledged, key=lambda o: o.intent.decision))

    def _settle(self, order: Order) -> Order:
        try:
            return order.apply(self.client.query(order.intent.client_id))
        except NotFound:
            if order.venue_id is not None:
                raise VenueReset(
                    f"order {order.intent.client_id} (venue id {order.venue_id}) is gone from the venue: "
                    "the account was reset; trading stops, history is kept"
                ) from None
            if self.clock() - order.intent.created_ms < self.window_ms:
                return order  # may still arrive: ask again later
            return replace(order, state=State.EXPIRED, error=NEVER_SENT)

    def _read_fills(self) -> int:
        """The account's trades after the cursor, stored once; the cursor moves past each page."""
        symbol = self.client.market.symbol
        ours = {o.venue_id: o.intent.client_id for o in self.store.orders(self.bot) if o.venue_id is not None}
        cursor, added = self.store.cursor(self.bot, symbol), 0
        while True:
            page = self.client.my_trades(from_id=cursor + 1)
            if not page:
                return added
            mine = [replace(f, client_id=ours[f.venue_id]) for f in page if f.venue_id in ours]
            added += self.store.add_fills(self.bot, mine)
            cursor = page[-1].trade_id
            self.store.advance(self.bot, symbol, cursor)
            if len(page) < 1000:
                return added
