"""Tables (DESIGN.md): `candles` (market data) and the paper trader's `bots`, `orders`,
`trades`, `equity`, `funding` and `audit`. Money columns are NUMERIC: exact on PostgreSQL; SQLite
keeps them as floats, which is fine for display — the exact state of a bot (integer units)
lives in `bots.state` and is what a restart resumes from."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Column, DateTime, Float, Integer, Numeric, String, Text
from sqlmodel import Field, SQLModel


class CandleRow(SQLModel, table=True):
    """One closed candle. The primary key (exchange, symbol, interval, open_time) is what
    makes every write an idempotent upsert."""

    __tablename__ = "candles"

    exchange: str = Field(sa_column=Column(String(32), primary_key=True))
    symbol: str = Field(sa_column=Column(String(32), primary_key=True))
    interval: str = Field(sa_column=Column(String(8), primary_key=True))
    open_time: datetime = Field(sa_column=Column(DateTime(timezone=True), primary_key=True))
    open: float = Field(sa_column=Column(Float(53), nullable=False))
    high: float = Field(sa_column=Column(Float(53), nullable=False))
    low: float = Field(sa_column=Column(Float(53), nullable=False))
    close: float = Field(sa_column=Column(Float(53), nullable=False))
    volume: float = Field(sa_column=Column(Float(53), nullable=False))
    quote_volume: float | None = Field(default=None, sa_column=Column(Float(53), nullable=True))
    trades: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))


CANDLES = CandleRow.__table__


MONEY = Numeric(38, 12)


class BotRow(SQLModel, table=True):
    """One bot: its spec, live summary, and the engine snapshot a restart resumes from."""

    __tablename__ = "bots"

    name: str = Field(sa_column=Column(String(128), primary_key=True))
    namespace: str = Field(default="default", sa_column=Column(String(128), nullable=False))
    spec: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    phase: str = Field(default="Pending", sa_column=Column(String(16), nullable=False))
    message: str = Field(default="", sa_column=Column(Text, nullable=False))
    breakers: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    state: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    equity: float | None = Field(default=None, sa_column=Column(MONEY, nullable=True))
    cash: float | None = Field(default=None, sa_column=Column(MONEY, nullable=True))
    position: float | None = Field(default=None, sa_column=Column(MONEY, nullable=True))
    pnl_percent: float | None = Field(default=None, sa_column=Column(Float(53), nullable=True))
    trades: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    last_candle_time: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    updated_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )


class OrderRow(SQLModel, table=True):
    __tablename__ = "orders"

    bot: str = Field(sa_column=Column(String(128), primary_key=True))
    id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    side: str = Field(sa_column=Column(String(4), nullable=False))
    algo: str = Field(sa_column=Column(String(8), nullable=False))
    quantity: float = Field(sa_column=Column(MONEY, nullable=False))
    filled_quantity: float = Field(sa_column=Column(MONEY, nullable=False))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    action: float = Field(sa_column=Column(Float(53), nullable=False))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    explanation: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    symbol: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))  # a portfolio's


class TradeRow(SQLModel, table=True):
    """One fill. (bot, seq) is the engine's fill sequence: the idempotency key."""

    __tablename__ = "trades"

    bot: str = Field(sa_column=Column(String(128), primary_key=True))
    seq: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    order_id: int = Field(sa_column=Column(Integer, nullable=False))
    time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))
    side: str = Field(sa_column=Column(String(4), nullable=False))
    quantity: float = Field(sa_column=Column(MONEY, nullable=False))
    price: float = Field(sa_column=Column(MONEY, nullable=False))
    fee: float = Field(sa_column=Column(MONEY, nullable=False))
    pnl: float = Field(sa_column=Column(MONEY, nullable=False))
    reason: str = Field(
        default="signal", sa_column=Column(String(32), nullable=False, server_default="signal")
    )
    symbol: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))  # a portfolio's


class EquityRow(SQLModel, table=True):
    __tablename__ = "equity"

    bot: str = Field(sa_column=Column(String(128), primary_key=True))
    time: datetime = Field(sa_column=Column(DateTime(timezone=True), primary_key=True))
    equity: float = Field(sa_column=Column(MONEY, nullable=False))
    cash: float = Field(sa_column=Column(MONEY, nullable=False))
    position: float = Field(sa_column=Column(MONEY, nullable=False))
    price: float = Field(sa_column=Column(MONEY, nullable=False))


class FundingRow(SQLModel, table=True):
    """A perpetual bot's funding at one funding time: `amount` received (> 0) or paid (< 0)
    in the quote asset, at `rate` (the published rate)."""

    __tablename__ = "funding"

    bot: str = Field(sa_column=Column(String(128), primary_key=True))
    # a portfolio's pair ('' for a one-symbol bot): every pair settles at the same times
    symbol: str = Field(default="", sa_column=Column(String(32), primary_key=True, server_default=""))
    time: datetime = Field(sa_column=Column(DateTime(timezone=True), primary_key=True))
    rate: float = Field(sa_column=Column(MONEY, nullable=False))
    amount: float = Field(sa_column=Column(MONEY, nullable=False))


class FundingRateRow(SQLModel, table=True):
    """A perpetual's settled funding rate at one funding time (epoch ms, the whole minute), in
    1e-8 — exact as Binance publishes it, an integer like the engine's."""

    __tablename__ = "funding_rates"

    exchange: str = Field(sa_column=Column(String(32), primary_key=True))
    symbol: str = Field(sa_column=Column(String(32), primary_key=True))
    time: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    rate_e8: int = Field(sa_column=Column(BigInteger, nullable=False))


class MarkPriceRow(SQLModel, table=True):
    """A perpetual's mark-price kline (Binance's markPriceKlines): what liquidation and funding
    read instead of the last price."""

    __tablename__ = "mark_prices"

    exchange: str = Field(sa_column=Column(String(32), primary_key=True))
    symbol: str = Field(sa_column=Column(String(32), primary_key=True))
    interval: str = Field(sa_column=Column(String(8), primary_key=True))
    open_time: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    open: float = Field(sa_column=Column(Float(53), nullable=False))
    high: float = Field(sa_column=Column(Float(53), nullable=False))
    low: float = Field(sa_column=Column(Float(53), nullable=False))
    close: float = Field(sa_column=Column(Float(53), nullable=False))


class AuditRow(SQLModel, table=True):
    """Who changed what, when: every control change of a bot."""

    __tablename__ = "audit"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    time: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))
    actor: str = Field(sa_column=Column(String(128), nullable=False))
    bot: str = Field(sa_column=Column(String(128), nullable=False, index=True))
    action: str = Field(sa_column=Column(String(64), nullable=False))
    before: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    after: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class VenueOrderRow(SQLModel, table=True):
    """An order for a venue: written as an intent (state SENDING) before it is sent, then
    moved by what the venue reports (`botrader.core.venue.orders`)."""

    __tablename__ = "venue_orders"

    bot: str = Field(sa_column=Column(String(128), primary_key=True))
    client_id: str = Field(sa_column=Column(String(36), primary_key=True))
    symbol: str = Field(sa_column=Column(String(32), nullable=False))
    side: str = Field(sa_column=Column(String(4), nullable=False))
    lots: int = Field(sa_column=Column(BigInteger, nullable=False))
    limit_ticks: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    decision: int = Field(sa_column=Column(BigInteger, nullable=False))
    state: str = Field(sa_column=Column(String(16), nullable=False, index=True))
    venue_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    filled_lots: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    error: str = Field(default="", sa_column=Column(Text, nullable=False))
    created_ms: int = Field(sa_column=Column(BigInteger, nullable=False))
    updated_ms: int = Field(sa_column=Column(BigInteger, nullable=False))


class VenueFillRow(SQLModel, table=True):
    """One execution as the venue reported it, stored once: (symbol, trade_id) is the venue's
    own key. Amounts are the venue's decimal text, exact on every database."""

    __tablename__ = "venue_fills"

    symbol: str = Field(sa_column=Column(String(32), primary_key=True))
    trade_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    bot: str = Field(sa_column=Column(String(128), nullable=False, index=True))
    client_id: str = Field(sa_column=Column(String(36), nullable=False))
    venue_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    side: str = Field(sa_column=Column(String(4), nullable=False))
    price: str = Field(sa_column=Column(String(40), nullable=False))
    quantity: str = Field(sa_column=Column(String(40), nullable=False))
    quote_quantity: str = Field(sa_column=Column(String(40), nullable=False))
    commission: str = Field(sa_column=Column(String(40), nullable=False))
    commission_asset: str = Field(sa_column=Column(String(16), nullable=False))
    time_ms: int = Field(sa_column=Column(BigInteger, nullable=False))


class VenueCursorRow(SQLModel, table=True):
    """How far a bot has read its account's trades on a symbol (myTrades' fromId cursor)."""

    __tablename__ = "venue_cursors"

    bot: str = Field(sa_column=Column(String(128), primary_key=True))
    symbol: str = Field(sa_column=Column(String(32), primary_key=True))
    last_trade_id: int = Field(sa_column=Column(BigInteger, nullable=False))
