"""A live universe ranks its candidates from the exchange's hourly klines (a local server
speaking Binance's kline format): the same picks as the minutes, each refresh fetching only the
hours since the last, the exchange's volumes the truth over the minutes stored, and a refresh
that cannot reach the exchange holding the bot (saying why) until it can."""

from __future__ import annotations

import asyncio

import pandas as pd
import pytest

from botrader.core.candles import make_key
from botrader.core.data.files import frame_to_candles, read_candles_frame
from botrader.core.db.candles import CandleStore
from botrader.core.db.trading import TradingStore
from botrader.core.manifests import parse_trading_bot
from botrader.core.portfolio.universe import QuoteVolumes, UniverseRule
from botrader.services.trader.portfolio import PortfolioTrader
from botrader.services.trader.ranking import ExchangeHours, StoredSeries
from tests.support.fake_binance import hourly_exchange
from tests.support.paths import BINANCE_MONTH
from tests.support.portfolio_paper import assert_equals_backtest, stored

SYMBOLS = ["ALGOUSDT", "AVAXUSDT", "FILUSDT", "NEARUSDT"]
HOUR, DAY = 3_600_000, 86_400_000


def minutes(n: int) -> dict[str, pd.DataFrame]:
    return {s: read_candles_frame(BINANCE_MONTH[s]).iloc[:n].reset_index(drop=True) for s in SYMBOLS}


async def test_hourly_klines_from_the_exchange_pick_what_the_minutes_pick(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = minutes(28 * 1440)
    fake = await hourly_exchange(data).start()
    monkeypatch.setenv("BOTRADER_BINANCE_REST_URL", fake.rest_url)
    try:
        db = stored(sqlite_url, {})
        rule = UniverseRule(top=2, lookback_ms=DAY, refresh_ms=DAY)
        ranking = ExchangeHours(CandleStore(db), "binance", SYMBOLS, rule, clock=fake.clock)
        by_minutes = QuoteVolumes(data, rule)
        start = int(data["ALGOUSDT"]["open_time"].iloc[0]) // DAY * DAY + DAY
        refreshes = list(range(start, start + 27 * DAY, DAY))
        picks = []
        for n, at in enumerate(refreshes, 1):
            picks.append(await asyncio.to_thread(ranking.pick, at))
            assert picks[-1] == by_minutes.pick(at)
            assert fake.klines_requests == 4 * n  # one request a pair: only the hours since the last
        assert len(set(map(tuple, picks))) > 1  # the picks do change
        stored_hours = CandleStore(db).coverage(make_key("binance", "NEARUSDT", "1h"), None, None)
        assert stored_hours.first == start - DAY and stored_hours.last == refreshes[-1] - HOUR
        assert stored_hours.count == (refreshes[-1] - start + DAY) // HOUR  # each hour fetched once
    finally:
        await fake.stop()


async def test_a_live_universe_trader_follows_the_exchange_and_waits_for_it(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stored minutes rank ALGO last; the exchange's hours (the truth) rank it first: the
    live trader picks ALGO. Before, with the exchange unreachable at the refresh, it steps
    nothing and says why; a replay of the same minutes ranks from them."""
    data = minutes(2 * 1440)
    day = int(data["AVAXUSDT"]["open_time"].iloc[0]) // DAY * DAY + DAY  # the first refresh
    planted = {s: f[f.open_time < day] for s, f in data.items()}
    planted["ALGOUSDT"] = planted["ALGOUSDT"].assign(quote_volume=planted["ALGOUSDT"]["quote_volume"] * 1000)
    fake = hourly_exchange(planted)
    fake.now_ms = day + 60_000
    fake = await fake.start()
    db = stored(sqlite_url, {s: f[f.open_time < day] for s, f in data.items()}, "binance")
    spec = {
        "universe": {"topByQuoteVolume": 1, "lookback": "6h", "refresh": "1d", "candidates": SYMBOLS},
        "strategy": {"type": "rsi"},
    }
    bot = parse_trading_bot(
        {
            "apiVersion": "botrader.io/v1alpha1",
            "kind": "TradingBot",
            "metadata": {"name": "top-one"},
            "spec": spec,
        }
    )
    now = [day]
    try:
        monkeypatch.setenv("BOTRADER_BINANCE_REST_URL", "http://127.0.0.1:9")  # nothing listens there
        trader = PortfolioTrader(bot, CandleStore(db), TradingStore(db), clock=lambda: now[0])
        await asyncio.to_thread(trader.start)
        assert await asyncio.to_thread(trader.step) == 0 and trader.cursor == day - 60_000  # warmed up
        for s, f in data.items():  # the minute of the refresh closes
            CandleStore(db).upsert(make_key("binance", s, "1m"), frame_to_candles(f[f.open_time == day]))
        now[0] = day + 60_000
        assert await asyncio.to_thread(trader.step) == 0 and trader.universe() == []  # the refresh waits
        message = TradingStore(db).bot("top-one")["message"]
        assert "universe refresh at 2025-02-02" in message and "waits for the exchange" in message
        monkeypatch.setenv("BOTRADER_BINANCE_REST_URL", fake.rest_url)
        assert await asyncio.to_thread(trader.step) == 1
        assert trader.universe() == [(day, ["ALGOUSDT"])] and not TradingStore(db).bot("top-one")["message"]
        assert StoredSeries(CandleStore(db), trader.keys, trader.rule).pick(day) != ["ALGOUSDT"]
    finally:
        await fake.stop()


async def test_a_live_universe_steps_and_needs_only_its_picks_and_equals_its_backtest(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing stored at the start; each minute only the pairs the trader saved as needing
    collection (`collect`, which the operator reads) are "collected". At each hourly refresh
    it ranks from the exchange's hours, fetches each pair it wakes (its warm-up and the minutes
    since) and steps only the pairs picked or held: twelve hours of it store exactly the
    fills, orders and equity marks of a backtest of all four pairs' candles — which sleeps the
    same pairs."""
    data = minutes(3 * 1440 + 720)
    start = int(data["ALGOUSDT"]["open_time"].iloc[0]) + 3 * DAY  # midnight; the picks change 3 times
    fake = hourly_exchange(data, with_minutes=True)
    now = [start]
    fake.now_ms = start
    fake = await fake.start()
    monkeypatch.setenv("BOTRADER_BINANCE_REST_URL", fake.rest_url)
    db = stored(pg_url, {})
    spec = {
        "universe": {"topByQuoteVolume": 2, "lookback": "2h", "refresh": "1h", "candidates": SYMBOLS},
        "strategy": {"type": "rsi", "params": {"period": 6, "oversold": 40, "overbought": 60}},  # busy
        "portfolio": {"maxDrawdownFraction": 0.5},
        "risk": {"dailyLossLimitFraction": 1, "maxConsecutiveLosses": 1000},
    }
    doc = {"apiVersion": "botrader.io/v1alpha1", "kind": "TradingBot", "metadata": {"name": "follow"}}
    bot = parse_trading_bot({**doc, "spec": spec})
    try:
        trader = PortfolioTrader(bot, CandleStore(db), TradingStore(db), clock=lambda: now[0])
        assert trader.follows_picks
        await asyncio.to_thread(trader.start)
        for m in range(start, start + 12 * HOUR, 60_000):
            now[0] = fake.now_ms = m + 60_000  # minute m has closed
            for s in TradingStore(db).bot("follow")["state"]["collect"]:  # what the operator collects
                frame = data[s]
                CandleStore(db).upsert(
                    make_key("binance", s, "1m"), frame_to_candles(frame[frame.open_time == m])
                )
            while await asyncio.to_thread(trader.step):
                pass
        assert trader.cursor == start + 12 * HOUR - 60_000
        assert len(trader.universe()) >= 4  # the first pick and three changes
        day = range(start, start + 12 * HOUR)
        kept = {
            s: sum(c.open_time in day for c in CandleStore(db).load(make_key("binance", s, "1m")))
            for s in SYMBOLS
        }
        assert min(kept.values()) < 600  # a pair asleep most of the day: neither collected nor fetched
        clock = sorted({int(t) for f in data.values() for t in f["open_time"]})
        frames = {s: f[f.open_time < start + 12 * HOUR] for s, f in data.items()}
        assert_equals_backtest(db, bot, frames, least=5, warmup=clock.index(start))
    finally:
        await fake.stop()
