"""A perpetual's settled funding rates, as the collector fetched them: one row per (exchange,
symbol, funding time), rates in 1e-8 — what a live perpetual bot pays or receives."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from botrader.core.db.models import FundingRateRow
from botrader.core.db.trading import _insert
from botrader.core.engine.funding import FundingSchedule

RATES = FundingRateRow.__table__


class FundingRateStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def upsert(self, exchange: str, symbol: str, rates: Sequence[tuple[int, int]]) -> int:
        """Store (funding time, rate 1e-8) rows; a time already stored keeps its rate (a settled
        rate never changes). Returns how many were new."""
        if not rates:
            return 0
        rows = [{"exchange": exchange, "symbol": symbol, "time": t, "rate_e8": r} for t, r in rates]
        with self.engine.begin() as conn:
            before = self._count(conn, exchange, symbol)
            conn.execute(_insert(conn, RATES).on_conflict_do_nothing(), rows)
            return self._count(conn, exchange, symbol) - before

    @staticmethod
    def _count(conn: object, exchange: str, symbol: str) -> int:
        query = select(func.count()).where(RATES.c.exchange == exchange, RATES.c.symbol == symbol)
        return int(conn.execute(query).scalar_one())  # type: ignore[attr-defined]

    def last_time(self, exchange: str, symbol: str) -> int | None:
        query = select(func.max(RATES.c.time)).where(RATES.c.exchange == exchange, RATES.c.symbol == symbol)
        with self.engine.connect() as conn:
            value = conn.execute(query).scalar_one_or_none()
        return None if value is None else int(value)

    def schedule(self, exchange: str, symbol: str, after: int | None = None) -> FundingSchedule:
        """Every stored rate after `after` (all when None), as the engine's schedule."""
        query = select(RATES.c.time, RATES.c.rate_e8).where(
            RATES.c.exchange == exchange, RATES.c.symbol == symbol
        )
        if after is not None:
            query = query.where(RATES.c.time > after)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(RATES.c.time)).all()
        return FundingSchedule(tuple(int(t) for t, _ in rows), tuple(int(r) for _, r in rows))
