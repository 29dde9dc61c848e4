"""Persistence of orders on a venue: intents committed before they are sent, their states as
the venue reports them, and the venue's fills stored once by its trade id. Every write is its
own transaction: what is committed is what a restarted trader reconciles from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict

from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine

from botrader.core.db.models import VenueCursorRow, VenueFillRow, VenueOrderRow
from botrader.core.db.trading import _insert
from botrader.core.venue.orders import Intent, Order, State, VenueFill

ORDERS, FILLS, CURSORS = (m.__table__ for m in (VenueOrderRow, VenueFillRow, VenueCursorRow))
CHUNK = 500  # rows per INSERT: under SQLite's bound-parameter limit


class VenueStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def commit_intent(self, intent: Intent) -> bool:
        """The intent as SENDING, before anything is sent. False when it is there already (a
        restart re-deriving the same decision): the caller must not send it again."""
        row = {
            "bot": intent.bot,
            "client_id": intent.client_id,
            "symbol": intent.symbol,
            "side": intent.side,
            "lots": intent.lots,
            "limit_ticks": intent.limit,
            "decision": intent.decision,
            "state": State.SENDING.value,
            "filled_lots": 0,
            "error": "",
            "created_ms": intent.created_ms,
            "updated_ms": intent.created_ms,
        }
        with self.engine.begin() as conn:
            stmt = _insert(conn, ORDERS).values(row).on_conflict_do_nothing()
            return conn.execute(stmt.returning(ORDERS.c.client_id)).first() is not None

    def save(self, order: Order, now_ms: int) -> None:
        i = order.intent
        values = {
            "state": order.state.value,
            "venue_id": order.venue_id,
            "filled_lots": order.filled_lots,
            "error": order.error,
            "updated_ms": now_ms,
        }
        with self.engine.begin() as conn:
            conn.execute(
                update(ORDERS).where(ORDERS.c.bot == i.bot, ORDERS.c.client_id == i.client_id).values(values)
            )

    def orders(self, bot: str, *, final: bool | None = None) -> list[Order]:
        query = select(ORDERS).where(ORDERS.c.bot == bot).order_by(ORDERS.c.decision, ORDERS.c.client_id)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        found = [_order(r) for r in rows]
        return found if final is None else [o for o in found if o.state.final == final]

    def order(self, bot: str, client_id: str) -> Order | None:
        query = select(ORDERS).where(ORDERS.c.bot == bot, ORDERS.c.client_id == client_id)
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return None if row is None else _order(row)

    def add_fills(self, bot: str, fills: Sequence[VenueFill]) -> int:
        """Store each fill once (the venue's trade id is the key); the number that were new."""
        if not fills:
            return 0
        rows = [{**asdict(f), "bot": bot} for f in fills]
        added = 0
        with self.engine.begin() as conn:
            for start in range(0, len(rows), CHUNK):
                stmt = _insert(conn, FILLS).values(rows[start : start + CHUNK]).on_conflict_do_nothing()
                added += len(conn.execute(stmt.returning(FILLS.c.trade_id)).all())
        return added

    def fills(self, bot: str) -> list[VenueFill]:
        query = select(FILLS).where(FILLS.c.bot == bot).order_by(FILLS.c.trade_id)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        fields = VenueFill.__dataclass_fields__
        return [VenueFill(**{k: r[k] for k in fields}) for r in rows]

    def cursor(self, bot: str, symbol: str) -> int:
        """The last trade id this bot has read on `symbol` (0: none)."""
        query = select(CURSORS.c.last_trade_id).where(CURSORS.c.bot == bot, CURSORS.c.symbol == symbol)
        with self.engine.connect() as conn:
            found = conn.execute(query).scalar()
        return int(found or 0)

    def advance(self, bot: str, symbol: str, last_trade_id: int) -> None:
        with self.engine.begin() as conn:
            stmt = _insert(conn, CURSORS).values(bot=bot, symbol=symbol, last_trade_id=last_trade_id)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["bot", "symbol"], set_={"last_trade_id": last_trade_id}
                )
            )

    def count_fills(self, bot: str) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(select(func.count()).select_from(FILLS).where(FILLS.c.bot == bot)).scalar() or 0
            )


def _order(r: dict) -> Order:
    intent = Intent(
        r["client_id"],
        r["bot"],
        r["symbol"],
        r["side"],
        r["lots"],
        r["decision"],
        r["created_ms"],
        r["limit_ticks"],
    )
    return Order(intent, State(r["state"]), r["venue_id"], r["filled_lots"], r["error"])
