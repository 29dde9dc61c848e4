"""What a live perpetual bot reads from its collector besides candles — the mark klines
(`StoredMarks`) and settled funding rates (`StoredFunding`) of a binance-usdm source — and the
rule that keeps it honest: a candle is fed to the engine only once its mark kline, and the rate
of every funding time up to it, are stored. Until then that candle waits; the bot never
substitutes the last price for a mark or zero for a rate it has not been told."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.engine import Engine

from botrader.core.candles import Candle, SeriesKey
from botrader.core.db.funding_rates import FundingRateStore
from botrader.core.db.mark_prices import MarkPriceStore
from botrader.core.engine.funding import StoredFunding
from botrader.core.engine.marks import StoredMarks
from botrader.core.timeutil import ms_to_datetime

log = logging.getLogger(__name__)
NEVER = 2**62


class CollectedData:
    def __init__(self, db: Engine, key: SeriesKey, instrument: Any) -> None:
        self.key = key
        funding, marks = getattr(instrument, "funding", None), getattr(instrument, "marks", None)
        self.funding = funding if isinstance(funding, StoredFunding) else None
        self.marks = marks if isinstance(marks, StoredMarks) else None
        self.rates, self.mark_store = FundingRateStore(db), MarkPriceStore(db)

    @property
    def needed(self) -> bool:
        return self.funding is not None or self.marks is not None

    def ready(self, batch: list[Candle], cursor: int | None) -> list[Candle]:
        """`batch` up to the first candle whose collected data is not stored yet (after
        extending the instrument's marks and rates with what is)."""
        if not batch or not self.needed:
            return batch
        exchange, symbol = self.key.exchange, self.key.symbol
        held = [NEVER]
        if self.marks is not None:  # the batch's stretch: a late kline lands in its place
            first, last = batch[0].open_time, batch[-1].open_time
            self.marks.extend(self.mark_store.marks(exchange, symbol, self.key.interval, first - 1, last))
            held.append(self.marks.first_without([c.open_time for c in batch]) or NEVER)
        if self.funding is not None:
            self.funding.extend(self.rates.schedule(exchange, symbol, self.funding.last))
            after = cursor if cursor is not None else batch[0].open_time - 1
            held.append(self.funding.missing(after, batch[-1].open_time) or NEVER)
        until = min(held)
        if until == NEVER:
            return batch
        log.info("%s: waiting for the collected mark or funding of %s", self.key, ms_to_datetime(until))
        return [c for c in batch if c.open_time < until]
