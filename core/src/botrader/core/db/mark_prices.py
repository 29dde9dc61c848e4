"""A perpetual's mark-price klines, as the collector fetched them (`markPriceKlines`): what a
live perpetual bot and a backtest of stored candles read for liquidation and funding."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from botrader.core.candles import Candle
from botrader.core.db.models import MarkPriceRow
from botrader.core.db.trading import _insert
from botrader.core.engine.marks import MarkPrices

MARKS = MarkPriceRow.__table__


class MarkPriceStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def upsert(self, exchange: str, symbol: str, interval: str, candles: Sequence[Candle]) -> int:
        """Store closed mark klines (a stored one is final: kept as it is); how many were new."""
        if not candles:
            return 0
        rows = [
            {
                "exchange": exchange,
                "symbol": symbol,
                "interval": interval,
                "open_time": c.open_time,
                "open": c.open,
                "high": c.high,
                "low": c.low,
                "close": c.close,
            }
            for c in candles
        ]
        where = (MARKS.c.exchange == exchange, MARKS.c.symbol == symbol, MARKS.c.interval == interval)
        with self.engine.begin() as conn:
            before = conn.execute(select(func.count()).where(*where)).scalar_one()
            conn.execute(_insert(conn, MARKS).on_conflict_do_nothing(), rows)
            return int(conn.execute(select(func.count()).where(*where)).scalar_one() - before)

    def last_open_time(self, exchange: str, symbol: str, interval: str) -> int | None:
        where = (MARKS.c.exchange == exchange, MARKS.c.symbol == symbol, MARKS.c.interval == interval)
        with self.engine.connect() as conn:
            value = conn.execute(select(func.max(MARKS.c.open_time)).where(*where)).scalar_one_or_none()
        return None if value is None else int(value)

    def marks(
        self, exchange: str, symbol: str, interval: str, after: int | None = None, until: int | None = None
    ) -> MarkPrices:
        """Every stored mark kline opening in (after, until] (unbounded where None), oldest first."""
        query = select(MARKS.c.open_time, MARKS.c.open, MARKS.c.high, MARKS.c.low).where(
            MARKS.c.exchange == exchange, MARKS.c.symbol == symbol, MARKS.c.interval == interval
        )
        if after is not None:
            query = query.where(MARKS.c.open_time > after)
        if until is not None:
            query = query.where(MARKS.c.open_time <= until)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(MARKS.c.open_time)).all()
        return MarkPrices(
            tuple(int(r[0]) for r in rows),
            tuple(float(r[1]) for r in rows),
            tuple(float(r[2]) for r in rows),
            tuple(float(r[3]) for r in rows),
        )
