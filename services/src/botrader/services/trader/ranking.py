"""Where a paper universe reads the quote volumes it ranks its candidates by at a refresh.

Two sources, one ranking (`universe.QuoteVolumes`, the backtest's own):
- `StoredSeries`: the bot's own stored candles of every candidate (a replay; a rule whose
  lookback or refresh is not whole hours) — what a backtest of the same candles reads.
- `ExchangeHours`: on a live source with a rule of whole hours, each candidate's hourly klines
  over the lookback, backfilled from the exchange at the refresh into the candle store (a
  refresh after the first fetches only the hours since), then ranked from there. The hours of
  the window hold exactly the minutes a minute window does (`UniverseRule.hourly`), so the
  picks are the minutes' — without collecting every candidate's minutes: 168 hourly klines a
  pair for a week's lookback, one request each.

The exchange's history does not change, so a refresh that could not reach it is simply tried
again (`SourceUnavailable`): nothing is picked, nothing stepped, until it can.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Protocol

from botrader.core.binance.endpoints import endpoints_for
from botrader.core.binance.rest import BinanceRestClient
from botrader.core.candles import SeriesKey, make_key
from botrader.core.db.candles import CandleStore
from botrader.core.errors import SourceUnavailable, UserError
from botrader.core.manifests import TradingBotSpec
from botrader.core.portfolio.universe import QuoteVolumes, UniverseRule
from botrader.services.backfill import plan_backfill, run_backfill

log = logging.getLogger(__name__)


class Ranking(Protocol):
    def pick(self, at: int) -> list[str]:
        """The universe picked at refresh time `at` from what had closed by then."""
        ...


class StoredSeries:
    """Ranks from the bot's own stored series of every candidate (so every one is collected)."""

    def __init__(self, candles: CandleStore, keys: Mapping[str, SeriesKey], rule: UniverseRule) -> None:
        self.candles, self.keys, self.rule = candles, keys, rule

    def pick(self, at: int) -> list[str]:
        return _ranked(self.candles, self.keys, self.rule, at)


class ExchangeHours:
    """Ranks from each candidate's hourly klines, backfilled from the exchange at each refresh
    (so only the pairs picked or held are collected: `TradingBotSpec.follows_picks`)."""

    def __init__(
        self,
        candles: CandleStore,
        source: str,
        symbols: list[str],
        rule: UniverseRule,
        clock: Callable[[], int],
    ) -> None:
        if rule.hourly is None:
            raise ValueError("a rule of whole hours only")
        self.candles, self.source, self.rule, self.clock = candles, source, rule.hourly, clock
        self.keys = {s: make_key(source, s, "1h") for s in symbols}

    def pick(self, at: int) -> list[str]:
        window = (at - self.rule.lookback_ms, at - self.rule.interval_ms)
        fetch(self.candles, self.source, {key: window for key in self.keys.values()}, self.clock)
        return _ranked(self.candles, self.keys, self.rule, at)


def fetch(
    candles: CandleStore, source: str, spans: Mapping[SeriesKey, tuple[int, int]], clock: Callable[[], int]
) -> None:
    """Each series' closed candles opening in its span, from the exchange into the store —
    resuming after what is stored (`backfill.plan_backfill`). A pair the exchange refuses
    (delisted, say) is left without; an exchange that cannot be reached raises
    `SourceUnavailable`, for the caller to try again."""

    if not spans:
        return

    async def run() -> None:
        async with BinanceRestClient.at(endpoints_for(source), clock=clock) as rest:
            for key, (first, last) in spans.items():
                try:
                    await run_backfill(candles, rest, plan_backfill(candles, key, first, last, clock()))
                except SourceUnavailable:
                    raise
                except UserError as exc:
                    log.warning("%s: not fetched: %s", key, exc)

    asyncio.run(run())


def ranking_for(
    candles: CandleStore,
    spec: TradingBotSpec,
    keys: Mapping[str, SeriesKey],
    rule: UniverseRule,
    clock: Callable[[], int],
) -> Ranking:
    """Hours from the exchange where they pick what the minutes would (a live source, a rule of
    whole hours), else the bot's own stored series."""
    if spec.follows_picks:
        return ExchangeHours(candles, spec.source, list(keys), rule, clock)
    return StoredSeries(candles, keys, rule)


def _ranked(candles: CandleStore, keys: Mapping[str, SeriesKey], rule: UniverseRule, at: int) -> list[str]:
    window = (at - rule.lookback_ms, at - rule.interval_ms)
    frames = {s: candles.load_frame(key, *window) for s, key in keys.items()}
    return QuoteVolumes(frames, rule).pick(at)
