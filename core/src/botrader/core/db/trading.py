"""Persistence of paper-trading bots: fills, orders, equity marks and the engine snapshot,
written together in one transaction per batch of candles.

That single transaction is the trader's idempotency: the snapshot says which candle was
processed last, and it commits with exactly the fills that candle produced (keyed by the
engine's fill sequence). A crash before the commit leaves nothing, and the restarted trader
re-decides the same candles to the same fills; a crash after it resumes past them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from botrader.core.db import changes
from botrader.core.db.models import AuditRow, BotRow, EquityRow, FundingRow, OrderRow, TradeRow
from botrader.core.engine.orders import Fill, Order
from botrader.core.engine.units import MarketRules
from botrader.core.timeutil import datetime_to_ms, ms_to_datetime

BOTS, ORDERS, TRADES, EQUITY, AUDIT, FUNDING = (
    m.__table__ for m in (BotRow, OrderRow, TradeRow, EquityRow, AuditRow, FundingRow)
)


def _insert(conn: Connection, table: Table) -> Any:
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


class TradingStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def bot(self, name: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(BOTS).where(BOTS.c.name == name)).mappings().first()
        return dict(row) if row else None

    def register(self, name: str, namespace: str, spec: dict[str, Any]) -> dict[str, Any]:
        """Create the bot's row, or refresh its spec; its state is kept."""
        with self.engine.begin() as conn:
            stmt = _insert(conn, BOTS).values(
                name=name, namespace=namespace, spec=spec, phase="Pending", message="", breakers={}, trades=0
            )
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["name"], set_={"spec": spec, "namespace": namespace}
                )
            )
            changes.notify(conn, changes.bot_topic(name))
        changes.committed(self.engine, changes.bot_topic(name))
        return self.bot(name) or {}

    def save_progress(
        self,
        name: str,
        market: MarketRules,
        snapshot: dict[str, Any],
        summary: dict[str, Any],
        fills: Sequence[Fill],
        orders: Sequence[Order],
        marks: Sequence[tuple[int, int, int, int, int]],
        funding: Sequence[tuple[int, int, int]] = (),
    ) -> None:
        """One transaction: new fills, orders as they now stand, equity marks
        (time, equity, cash, lots, price ticks), funding payments (time, rate in 1e-8, cash
        units; once per funding time) and the bot's snapshot and summary."""
        funding_rows = [self._funding_row(name, market, event) for event in funding]
        mark_rows = [
            {
                "bot": name,
                "time": ms_to_datetime(t),
                "equity": market.to_quote(eq),
                "cash": market.to_quote(cash),
                "position": market.to_base(lots),
                "price": market.price(px),
            }
            for t, eq, cash, lots, px in marks
        ]
        self.save_rows(
            name,
            snapshot,
            summary,
            [self._fill_row(name, market, f) for f in fills],
            [self._order_row(name, market, o) for o in orders],
            mark_rows,
            funding_rows,
        )

    def save_portfolio_progress(
        self,
        name: str,
        snapshot: dict[str, Any],
        summary: dict[str, Any],
        fills: Sequence[tuple[str, MarketRules, Fill]],
        orders: Sequence[tuple[str, MarketRules, Order]],
        marks: Sequence[tuple[int, Decimal, Decimal]],
        funding: Sequence[tuple[str, MarketRules, tuple[int, int, int]]] = (),
    ) -> None:
        """A portfolio bot's `save_progress`: each fill, order and funding payment with its
        symbol (and that symbol's units), equity marks as (time, equity, cash) in the quote
        asset."""
        self.save_rows(
            name,
            snapshot,
            summary,
            [{**self._fill_row(name, m, f), "symbol": s} for s, m, f in fills],
            [{**self._order_row(name, m, o), "symbol": s} for s, m, o in orders],
            [
                {
                    "bot": name,
                    "time": ms_to_datetime(t),
                    "equity": eq,
                    "cash": cash,
                    "position": 0,
                    "price": 0,
                }
                for t, eq, cash in marks
            ],
            [{**self._funding_row(name, m, event), "symbol": s} for s, m, event in funding],
        )

    @staticmethod
    def _funding_row(name: str, market: MarketRules, event: tuple[int, int, int]) -> dict[str, Any]:
        """(time, rate in 1e-8, cash units) as a `funding` row in the quote asset."""
        time, rate, amount = event
        return {
            "bot": name,
            "time": ms_to_datetime(time),
            "rate": Decimal(rate).scaleb(-8),
            "amount": market.to_quote(amount),
        }

    def save_rows(
        self,
        name: str,
        snapshot: dict[str, Any],
        summary: dict[str, Any],
        fills: Sequence[dict[str, Any]],
        orders: Sequence[dict[str, Any]],
        marks: Sequence[dict[str, Any]],
        funding: Sequence[dict[str, Any]] = (),
    ) -> None:
        """The one transaction behind both: a fill and a funding payment stored once (by their
        keys), orders as they now stand, the marks, the snapshot and the summary."""
        with self.engine.begin() as conn:
            if funding:
                conn.execute(_insert(conn, FUNDING).on_conflict_do_nothing(), list(funding))
            if fills:
                conn.execute(_insert(conn, TRADES).on_conflict_do_nothing(), list(fills))
            for row in orders:
                stmt = _insert(conn, ORDERS).values(**row)
                keep = {k: row[k] for k in ("filled_quantity", "status")}
                conn.execute(stmt.on_conflict_do_update(index_elements=["bot", "id"], set_=keep))
            if marks:
                conn.execute(_insert(conn, EQUITY).on_conflict_do_nothing(), list(marks))
            conn.execute(
                BOTS.update()
                .where(BOTS.c.name == name)
                .values(state=snapshot, updated_at=datetime.now(UTC), **summary)
            )
            changes.notify(conn, changes.bot_topic(name))
        changes.committed(self.engine, changes.bot_topic(name))

    def set_phase(self, name: str, phase: str, message: str = "") -> None:
        with self.engine.begin() as conn:
            conn.execute(
                BOTS.update()
                .where(BOTS.c.name == name)
                .values(phase=phase, message=message, updated_at=datetime.now(UTC))
            )
            changes.notify(conn, changes.bot_topic(name))
        changes.committed(self.engine, changes.bot_topic(name))

    def audit(self, actor: str, bot: str, action: str, before: dict[str, Any], after: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                AUDIT.insert().values(
                    time=datetime.now(UTC), actor=actor, bot=bot, action=action, before=before, after=after
                )
            )
            changes.notify(conn, changes.audit_topic(bot))
        changes.committed(self.engine, changes.audit_topic(bot))

    def bots(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(select(BOTS).order_by(BOTS.c.name)).mappings()]

    def trades_page(
        self, name: str, start: int | None = None, end: int | None = None, limit: int = 100, offset: int = 0
    ) -> tuple[list[dict[str, Any]], int]:
        """Fills newest first, and how many match in all (for pagination)."""
        conds = [TRADES.c.bot == name]
        if start is not None:
            conds.append(TRADES.c.time >= ms_to_datetime(start))
        if end is not None:
            conds.append(TRADES.c.time <= ms_to_datetime(end))
        query = select(TRADES).where(*conds).order_by(TRADES.c.seq.desc()).limit(limit).offset(offset)
        with self.engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(query).mappings()]
            if start is None and end is None:  # the bot's row keeps the count: no scan of its fills
                count = select(BOTS.c.trades).where(BOTS.c.name == name)
            else:
                count = select(func.count()).select_from(TRADES).where(*conds)
            total = conn.execute(count).scalar_one_or_none() or 0
        return rows, int(total)

    def equity_series(
        self, name: str, start: int | None = None, end: int | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Equity marks oldest first (the newest `limit` of the range when limited)."""
        conds = [EQUITY.c.bot == name]
        if start is not None:
            conds.append(EQUITY.c.time >= ms_to_datetime(start))
        if end is not None:
            conds.append(EQUITY.c.time <= ms_to_datetime(end))
        query = select(EQUITY).where(*conds).order_by(EQUITY.c.time.desc())
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(query).mappings()]
        rows.reverse()
        return rows

    def since(
        self, name: str, seq: int, mark: int, limit: int = 1000
    ) -> tuple[dict[str, Any] | None, list[dict[str, Any]], list[dict[str, Any]]]:
        """The bot's row, its fills after fill `seq` and equity marks after time `mark` (epoch
        ms), oldest first: what a live stream sends once it has sent everything up to them.
        One connection for the three (a stream asks at every commit)."""
        fills = (
            select(TRADES).where(TRADES.c.bot == name, TRADES.c.seq > seq).order_by(TRADES.c.seq).limit(limit)
        )
        marks = (
            select(EQUITY)
            .where(EQUITY.c.bot == name, EQUITY.c.time > ms_to_datetime(mark))
            .order_by(EQUITY.c.time)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            # the row last: a commit landing between these reads then makes the summary newer
            # than the fills (the next read sends those), never older than fills already sent
            new_fills = [dict(r) for r in conn.execute(fills).mappings()]
            new_marks = [dict(r) for r in conn.execute(marks).mappings()]
            row = conn.execute(select(BOTS).where(BOTS.c.name == name)).mappings().first()
            return dict(row) if row else None, new_fills, new_marks

    def newest(self, name: str) -> tuple[int, int]:
        """The last fill's sequence number and the last equity mark's time (epoch ms), or -1."""
        with self.engine.connect() as conn:
            seq = conn.execute(select(func.max(TRADES.c.seq)).where(TRADES.c.bot == name)).scalar()
            mark = conn.execute(select(func.max(EQUITY.c.time)).where(EQUITY.c.bot == name)).scalar()
        return (-1 if seq is None else int(seq)), (-1 if mark is None else datetime_to_ms(mark))

    def latest_order(self, name: str) -> dict[str, Any] | None:
        query = select(ORDERS).where(ORDERS.c.bot == name).order_by(ORDERS.c.id.desc()).limit(1)
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return dict(row) if row else None

    def fills(self, name: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(TRADES).where(TRADES.c.bot == name).order_by(TRADES.c.seq)).mappings()
            return [dict(r) for r in rows]

    def funding(self, name: str) -> list[dict[str, Any]]:
        """A perpetual bot's funding payments, oldest first (a portfolio's: each with its
        pair, in pair order within a funding time)."""
        with self.engine.connect() as conn:
            query = select(FUNDING).where(FUNDING.c.bot == name).order_by(FUNDING.c.time, FUNDING.c.symbol)
            return [dict(r) for r in conn.execute(query).mappings()]

    def audit_log(
        self, bot: str | None = None, limit: int | None = None, newest: bool = False, after: int | None = None
    ) -> list[dict[str, Any]]:
        query = select(AUDIT).order_by(AUDIT.c.id.desc() if newest else AUDIT.c.id)
        if after is not None:
            query = query.where(AUDIT.c.id > after)
        if bot is not None:
            query = query.where(AUDIT.c.bot == bot)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    @staticmethod
    def _fill_row(name: str, m: MarketRules, f: Fill) -> dict[str, Any]:
        return {
            "bot": name,
            "seq": f.seq,
            "order_id": f.order_id,
            "time": ms_to_datetime(f.time),
            "side": f.side,
            "quantity": m.to_base(f.lots),
            "price": m.price(f.price),
            "fee": m.to_quote(f.fee),
            "pnl": m.to_quote(f.pnl),
            "reason": f.reason,
        }

    @staticmethod
    def _order_row(name: str, m: MarketRules, o: Order) -> dict[str, Any]:
        return {
            "bot": name,
            "id": o.id,
            "time": ms_to_datetime(o.time),
            "side": o.side,
            "algo": o.algo,
            "quantity": m.to_base(o.lots),
            "filled_quantity": m.to_base(o.filled_lots),
            "status": o.status,
            "action": o.action,
            "reason": o.reason,
            "explanation": o.explanation,
        }
