"""A four-symbol portfolio bot paper-traded on PostgreSQL and restarted midway: its stored
fills (each with its symbol), orders and equity marks equal one uninterrupted backtest's of
the same candles to the unit — an hour of NEAR candles missing included."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from botrader.core.bot_engine import strategy_for
from botrader.core.candles import make_key
from botrader.core.data.files import frame_to_candles, read_candles_frame
from botrader.core.db.candles import CandleStore
from botrader.core.db.trading import TradingStore
from botrader.core.manifests import parse_trading_bot
from botrader.core.portfolio.backtest import run_portfolio_backtest
from botrader.services.trader.portfolio import PortfolioTrader
from tests.support.paths import BINANCE_MONTH
from tests.support.portfolio_paper import assert_equals_backtest, backtest_of, stored
from tests.support.trader_process import kill_midway_then_resume

SYMBOLS = ["ALGOUSDT", "AVAXUSDT", "FILUSDT", "NEARUSDT"]
HOUR = 3_600_000
BOT = {
    "apiVersion": "botrader.io/v1alpha1",
    "kind": "TradingBot",
    "metadata": {"name": "four"},
    "spec": {
        "symbols": SYMBOLS,
        "source": "replay",  # trades from the first stored candle, as a backtest does
        "replay": {"path": "unused"},
        "strategy": {"type": "rsi"},
        "portfolio": {"maxOpenPositions": 2, "maxDrawdownFraction": 0.5},
        "risk": {"dailyLossLimitFraction": 1, "maxConsecutiveLosses": 1000},
    },
}


def frames() -> dict[str, pd.DataFrame]:
    out = {s: read_candles_frame(BINANCE_MONTH[s]).iloc[:5000].reset_index(drop=True) for s in SYMBOLS}
    out["NEARUSDT"] = out["NEARUSDT"].drop(index=range(2000, 2060)).reset_index(drop=True)
    return out


def test_a_portfolio_bot_equals_its_backtest_across_a_restart(pg_url: str) -> None:
    data = frames()
    db = stored(pg_url, data)
    bot = parse_trading_bot(BOT)

    first = PortfolioTrader(bot, CandleStore(db), TradingStore(db), batch=1500)
    first.start()
    assert first.step() == 1500 and first.step() == 1500  # then it stops (a crash after a commit)
    second = PortfolioTrader(bot, CandleStore(db), TradingStore(db), batch=1500)
    second.start()
    assert second.cursor == first.cursor
    while second.step():
        pass

    assert_equals_backtest(db, bot, data)
    assert second.book.cash == run_portfolio_backtest(*backtest_of(bot, data)).engine.cash


def test_a_live_portfolio_bot_warms_up_on_the_backfill_and_trades_what_follows(pg_url: str) -> None:
    """On a live source a new bot waits until every pair has caught up (NEAR's backfill ends 50
    minutes before AVAX's, which is live), then warms every pair on its stored candles up to
    the minute every pair has reached, trades nothing of the backfill, and from there equals a
    backtest that warms on the same candles."""
    data = {
        s: f.iloc[:1500].reset_index(drop=True) for s, f in frames().items() if s in ("AVAXUSDT", "NEARUSDT")
    }
    spec = {k: v for k, v in BOT["spec"].items() if k not in ("source", "replay")}
    doc = {**BOT, "metadata": {"name": "live-two"}, "spec": {**spec, "symbols": ["AVAXUSDT", "NEARUSDT"]}}
    bot = parse_trading_bot(doc)
    db = stored(
        pg_url, {"AVAXUSDT": data["AVAXUSDT"].iloc[:400], "NEARUSDT": data["NEARUSDT"].iloc[:350]}, "binance"
    )
    t = [int(x) for x in data["AVAXUSDT"]["open_time"]]
    trader = PortfolioTrader(bot, CandleStore(db), TradingStore(db), clock=lambda: t[400])
    trader.start()
    assert trader.step() == 0 and trader.cursor is None  # NEAR is 50 minutes behind: it waits
    assert "waiting for NEARUSDT candles" in TradingStore(db).bot("live-two")["message"]
    assert not trader.check_stale(t[400], 60_000) and trader.breakers() == {}  # landing, not stopped
    near = make_key("binance", "NEARUSDT", "1m")
    CandleStore(db).upsert(near, frame_to_candles(data["NEARUSDT"].iloc[350:400]))  # NEAR caught up
    assert trader.step() == 0 and trader.cursor == t[399] and TradingStore(db).fills("live-two") == []
    for symbol, frame in data.items():  # the collectors go on
        CandleStore(db).upsert(make_key("binance", symbol, "1m"), frame_to_candles(frame.iloc[400:]))
    while trader.step():
        pass
    warm = strategy_for(bot).warmup_length()
    assert_equals_backtest(db, bot, {s: f.iloc[400 - warm :] for s, f in data.items()}, least=10, warmup=warm)


def test_a_new_live_portfolio_warms_without_a_pair_whose_collector_is_dead(sqlite_url: str) -> None:
    """NEAR's stored candles end an hour before the present and stand still (its collector is
    down) while AVAX is live: the bot waits while NEAR might still be landing, but not forever —
    once NEAR's newest candle has not moved for `staleDataSeconds` it warms and trades AVAX,
    NEAR stale with why; NEAR's candles, once they come, clear it and are stepped."""
    avax = read_candles_frame(BINANCE_MONTH["AVAXUSDT"]).iloc[:400].reset_index(drop=True)
    near = read_candles_frame(BINANCE_MONTH["NEARUSDT"]).iloc[:400].reset_index(drop=True)
    db = stored(sqlite_url, {"AVAXUSDT": avax.iloc[:300], "NEARUSDT": near.iloc[:240]}, "binance")
    spec = {k: v for k, v in BOT["spec"].items() if k not in ("source", "replay")}
    doc = {**BOT, "metadata": {"name": "one-dead"}, "spec": {**spec, "symbols": ["AVAXUSDT", "NEARUSDT"]}}
    t = [int(x) for x in avax["open_time"]]
    now = [t[300]]  # AVAX's minute 299 has just closed
    trader = PortfolioTrader(parse_trading_bot(doc), CandleStore(db), TradingStore(db), clock=lambda: now[0])
    trader.start()
    avax_key = make_key("binance", "AVAXUSDT", "1m")
    for i in range(300, 304):  # four minutes: NEAR may still be landing, so it waits
        CandleStore(db).upsert(avax_key, frame_to_candles(avax.iloc[i : i + 1]))
        now[0] = t[i + 1]
        assert trader.step() == 0 and trader.cursor is None
    assert "waiting for NEARUSDT candles" in TradingStore(db).bot("one-dead")["message"]
    CandleStore(db).upsert(avax_key, frame_to_candles(avax.iloc[304:305]))
    now[0] = t[305]  # five minutes (staleDataSeconds: 300) with no NEAR candle: its collector is down
    assert trader.step() == 0 and trader.cursor == t[304]  # warmed without it
    assert set(trader.breakers()) == {"NEARUSDT:stale_data"}
    assert "while the other pairs reached the present" in trader.breakers()["NEARUSDT:stale_data"]
    for i in range(305, 360):
        CandleStore(db).upsert(avax_key, frame_to_candles(avax.iloc[i : i + 1]))
        now[0] = t[i + 1]
        assert trader.step() == 1  # AVAX alone, minute by minute
    assert trader.book.by_symbol["NEARUSDT"].engine.last_time is None  # never stepped: no candle
    CandleStore(db).upsert(make_key("binance", "NEARUSDT", "1m"), frame_to_candles(near.iloc[240:361]))
    CandleStore(db).upsert(avax_key, frame_to_candles(avax.iloc[360:361]))
    now[0] = t[361]
    assert trader.step() == 1 and trader.breakers() == {}  # NEAR is back: stepped at the next minute
    assert trader.book.by_symbol["NEARUSDT"].engine.last_time == t[360]


@pytest.mark.slow
async def test_a_portfolio_bot_killed_midway_equals_its_backtest(pg_url: str, tmp_path: Path) -> None:
    """`botrader trade` of the portfolio, SIGKILLed once it has committed a fill, started again."""
    data = frames()
    db = stored(pg_url, data)
    doc = BOT
    manifest = tmp_path / "bot.yaml"
    manifest.write_text(yaml.safe_dump(doc))
    await kill_midway_then_resume(manifest, pg_url, "four", int(data["ALGOUSDT"]["open_time"].iloc[-1]))
    assert_equals_backtest(db, parse_trading_bot(doc), data)


UNIVERSE_BOT = {
    **BOT,
    "metadata": {"name": "top-two"},
    "spec": {
        **{k: v for k, v in BOT["spec"].items() if k != "symbols"},
        "universe": {"topByQuoteVolume": 2, "lookback": "3h", "refresh": "2h", "candidates": SYMBOLS},
        "portfolio": {"maxDrawdownFraction": 0.5},
    },
}


def test_a_universe_bot_picks_what_its_backtest_picks_and_equals_it_across_a_restart(pg_url: str) -> None:
    """Every candidate stepped, the top two by trailing quote volume picked every two hours
    from the stored candles closed by then: the same lists at the same times as the backtest,
    the same fills — restarted midway (the picks so far resumed from the snapshot)."""
    data = frames()
    db = stored(pg_url, data)
    bot = parse_trading_bot(UNIVERSE_BOT)
    first = PortfolioTrader(bot, CandleStore(db), TradingStore(db), batch=1700)
    first.start()
    assert first.step() == 1700
    picked_before = first.universe()
    second = PortfolioTrader(bot, CandleStore(db), TradingStore(db), batch=1700)
    second.start()
    assert second.universe() == picked_before and picked_before[-1][0] - picked_before[0][0] == 28 * HOUR
    while second.step():
        pass
    expected = run_portfolio_backtest(*backtest_of(bot, data))
    times = [t for t, _ in expected.engine.schedule.history]  # every refresh: the same picks
    assert [second.book.schedule.at(t) for t in times] == [expected.engine.schedule.at(t) for t in times]
    assert second.book.schedule.last == times[-1]
    assert len(second.universe()) >= 4  # the picks do change (saved: each change, not each refresh)
    assert_equals_backtest(db, bot, data)


def test_the_api_shows_a_portfolio_bot_s_pairs_trips_and_performance(sqlite_url: str) -> None:
    from fastapi.testclient import TestClient

    from botrader.services.api.main import create_app

    data = {s: f.iloc[:3000] for s, f in frames().items()}
    db = stored(sqlite_url, data)
    trader = PortfolioTrader(parse_trading_bot(BOT), CandleStore(db), TradingStore(db))
    trader.start()
    while trader.step():
        pass
    client = TestClient(create_app(db))
    detail = client.get("/bots/four").json()
    pairs = detail["positions"]
    assert [p["symbol"] for p in pairs] == SYMBOLS
    book = trader.book
    assert sum(p["contribution"] for p in pairs) == pytest.approx(
        float(book.to_quote(book.equity_now() - book.budget))
    )
    assert sum(p["weight"] for p in pairs) == pytest.approx(1 - float(book.cash) / book.equity_now())
    trades = client.get("/bots/four/trades?limit=500").json()["items"]
    assert {t["symbol"] for t in trades} <= set(SYMBOLS) and len(trades) == detail["trades"]
    trips = client.get("/bots/four/round-trips").json()
    assert trips and {t["symbol"] for t in trips} <= set(SYMBOLS)
    realized = sum(p["realized_pnl"] for p in pairs)
    assert sum(t["pnl"] for t in trips) == pytest.approx(realized, abs=1e-6)
    perf = client.get("/bots/four/performance").json()
    assert perf["trades"] == detail["trades"] and perf["round_trips"] == len(trips)
    assert 0 < perf["exposure"] <= 1 and -1 < perf["buy_and_hold_return"] < 1


def test_a_portfolio_bot_exports_a_position_per_pair(sqlite_url: str) -> None:
    from prometheus_client import REGISTRY

    data = {s: f.iloc[:1500] for s, f in frames().items()}
    db = stored(sqlite_url, data)
    doc = {**BOT, "metadata": {"name": "four-metrics"}}
    trader = PortfolioTrader(parse_trading_bot(doc), CandleStore(db), TradingStore(db))
    trader.start()
    while trader.step():
        pass
    for sleeve in trader.book.sleeves:
        shown = REGISTRY.get_sample_value(
            "botrader_bot_position", {"bot": "four-metrics", "symbol": sleeve.symbol}
        )
        assert shown == float(sleeve.engine.market.to_base(sleeve.engine.portfolio.lots))
    equity = REGISTRY.get_sample_value("botrader_bot_equity", {"bot": "four-metrics"})
    assert equity == float(trader.book.to_quote(trader.book.equity_now()))
    held = [s for s in trader.book.sleeves if s.engine.portfolio.lots]
    assert trader.summary()["position"] is None  # one quantity means nothing across pairs
    assert trader.holding() == (", ".join(f"{s.symbol} long" for s in held) or "flat")
    buys = REGISTRY.get_sample_value("botrader_trades_total", {"bot": "four-metrics", "side": "buy"})
    sells = REGISTRY.get_sample_value("botrader_trades_total", {"bot": "four-metrics", "side": "sell"})
    assert buys + sells == trader.numbering.fills > 0


def test_a_pair_whose_candles_stop_is_skipped_once_stale_never_waited_on(sqlite_url: str) -> None:
    """NEAR's collector stops after 50 minutes while AVAX's goes on: the portfolio waits for
    NEAR only until NEAR is stale (5 minutes without a candle: `staleDataSeconds`), then trades
    AVAX alone; NEAR's late candles, older than the minutes stepped, are gaps."""
    avax = read_candles_frame(BINANCE_MONTH["AVAXUSDT"]).iloc[:100]
    near = read_candles_frame(BINANCE_MONTH["NEARUSDT"]).iloc[:100]
    db = stored(sqlite_url, {"AVAXUSDT": avax, "NEARUSDT": near.iloc[:50]})
    doc = {**BOT, "metadata": {"name": "two"}, "spec": {**BOT["spec"], "symbols": ["AVAXUSDT", "NEARUSDT"]}}
    trader = PortfolioTrader(parse_trading_bot(doc), CandleStore(db), TradingStore(db))
    trader.start()
    t = [int(x) for x in avax["open_time"]]
    assert trader.step() == 50 and trader.step() == 0  # NEAR's minute 50 may still come
    minute = 60_000
    assert not trader.check_stale(t[52] + minute, minute)  # NEAR 3 minutes late: not stale yet
    assert trader.step() == 0
    assert trader.check_stale(t[99] + 2 * minute, minute)  # NEAR 50 minutes late, AVAX current
    assert set(trader.breakers()) == {"NEARUSDT:stale_data"}
    assert trader.step() == 50 and trader.cursor == t[99]  # AVAX alone
    assert trader.book.by_symbol["NEARUSDT"].engine.last_time == t[49]
    CandleStore(db).upsert(make_key("replay", "NEARUSDT", "1m"), frame_to_candles(near.iloc[50:]))
    assert trader.step() == 0  # older than the minutes stepped: gaps, never replayed
    assert not trader.check_stale(t[99] + 2 * minute, minute) and trader.breakers() == {}
