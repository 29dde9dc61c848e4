"""Tables. `candles` is the market-data store; later tables (orders, trades, equity, bots,
audit) join this module as the engine and trader land, each with its own migration."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, DateTime, Float, String
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
