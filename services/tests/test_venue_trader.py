"""A bot on a venue: real candles through the engine, every order it places sent to the local
Spot Testnet stand-in (which moves its book with the same candles), the paper engine beside it.
The venue holds exactly the bot's decisions, once each, across a restart in the middle; its
fills give the position; the divergence report shows the spread the stand-in's book charges."""

from __future__ import annotations

import threading
import time
from decimal import Decimal
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from botrader.core.candles import make_key
from botrader.core.data.files import frame_to_candles, read_candles_frame
from botrader.core.db import connect, upgrade
from botrader.core.db.candles import CandleStore
from botrader.core.db.trading import TradingStore
from botrader.core.db.venue import VenueStore
from botrader.core.engine.units import MarketRules
from botrader.core.manifests import parse_trading_bot
from botrader.core.venue.binance_spot import Credentials, SpotClient
from botrader.core.venue.executor import Executor
from botrader.core.venue.orders import Intent, State, bot_prefix, client_order_id
from botrader.core.venue.user_stream import UserStream
from botrader.services.api.main import create_app
from botrader.services.trader.venue import RESET, VenueTrader
from tests.support.binance_spot import SpotStandIn
from tests.support.paths import SAMPLE

MARKET = MarketRules()
BOT = {
    "apiVersion": "botrader.io/v1alpha1",
    "kind": "TradingBot",
    "metadata": {"name": "btc-testnet"},
    "spec": {
        "symbol": "BTCUSDT",
        "source": "replay",
        "replay": {"path": "x.csv"},
        "budget": 5000,
        "venue": {"type": "binance-testnet", "credentials": {"secret": "binance-testnet"}},
        "risk": {"maxConsecutiveLosses": 1000, "dailyLossLimitFraction": 1, "maxDrawdownFraction": 1},
    },
}


def trader(engine, stand_in: SpotStandIn, stream: UserStream | None = None) -> VenueTrader:
    bot = parse_trading_bot(BOT)
    client = SpotClient(stand_in.url, Credentials("k", secret="s"), MARKET)
    executor = Executor(VenueStore(engine), client, bot.name, bot_prefix(bot.namespace, bot.name))
    made = VenueTrader(
        bot, CandleStore(engine), TradingStore(engine), MARKET, batch=1, executor=executor,
        base_asset="BTC", quote_asset="USDT", stream=stream,
    )  # fmt: skip
    made.start(actor="test")
    return made


def feed(made: VenueTrader, stand_in: SpotStandIn, frame, start: int, end: int) -> None:
    """One candle at a time: the venue's book moves to each close before the bot decides."""
    for i in range(start, end):
        row = frame.iloc[i]
        stand_in.advance(high=row["high"], low=row["low"], close=row["close"])
        assert made.step() == 1


def world(url: str, candles: int, usdt: int) -> tuple:
    """A database holding the first `candles` of the sample, and a stand-in holding `usdt`."""
    engine = connect(url)
    upgrade(engine)
    frame = read_candles_frame(SAMPLE)
    CandleStore(engine).upsert(make_key("replay", "BTCUSDT", "1m"), frame_to_candles(frame.iloc[:candles]))
    stand_in = SpotStandIn(market=MARKET, balances={"BTC": Decimal(0), "USDT": Decimal(usdt)})
    stand_in.add_hmac_key("k", "s")
    return engine, frame, stand_in


def test_a_venue_bot_sends_each_decision_once_across_a_restart(db_url: str) -> None:
    engine, frame, stand_in = world(db_url, 900, 5000)
    with stand_in:
        first = trader(engine, stand_in)
        feed(first, stand_in, frame, 0, 450)
        restarted = trader(engine, stand_in)  # a new process over the same database
        feed(restarted, stand_in, frame, 450, 900)
        paper_orders = {f["order_id"] for f in TradingStore(engine).fills("btc-testnet")}
        venue = VenueStore(engine).orders("btc-testnet")
        assert len(paper_orders) >= 4 and {o.intent.decision for o in venue} == paper_orders
        assert len(stand_in.orders) == len(venue)  # each decision sent once
        # sized to what the venue holds (its commission came out of the BTC bought): all filled
        assert all(o.state is State.FILLED for o in venue)
        ledger = restarted.ledger()
        assert ledger.base == stand_in.balances["BTC"] and ledger.quote == stand_in.balances["USDT"] - 5000
        report = restarted.divergence().summary()
        assert report["decisions"] == len(venue) and report["rejections"] == 0
        assert 0.5 < report["mean_slippage_bps"] < 3  # the stand-in's 2 bps spread: ~1 bp a side
        assert report["price_cost"] > 0 and report["pnl_difference"] < 0
        sample = REGISTRY.get_sample_value
        assert sample("botrader_venue_orders_total", {"bot": "btc-testnet", "state": "FILLED"}) >= len(venue)
        assert sample("botrader_venue_slippage_bps_count", {"bot": "btc-testnet"}) >= len(venue)
        assert sample("botrader_venue_request_weight", {"bot": "btc-testnet"}) > 0
        with TestClient(create_app(engine)) as api:  # what the API and the dashboard read
            listed = api.get("/bots/btc-testnet/orders").json()
            assert [o["state"] for o in listed] == ["FILLED"] * len(venue) and listed[0]["venue_id"] == 1
            served = api.get("/bots/btc-testnet/divergence").json()
            assert served["venue"] == "binance-testnet" and served["decisions"] == len(venue)
            assert served["mean_slippage_bps"] == pytest.approx(report["mean_slippage_bps"])
            assert len(served["per_decision"]) == len(venue) and served["per_decision"][0]["fills"] >= 1
            parts = sum(d["difference"] for d in served["per_decision"])
            assert parts == pytest.approx(served["pnl_difference"])  # per decision, adding up
            assert served["venue_equity"] != served["paper_equity"]
            assert abs(served["venue_equity"] / served["paper_equity"] - 1) < 0.05
            assert api.get("/bots/nope/orders").status_code == 404
        stand_in.reset()
        restarted.reconcile()
        assert RESET in restarted.engine.risk.state.open and restarted.phase == "Degraded"
        placed, paper = len(stand_in.placed), len(TradingStore(engine).fills("btc-testnet"))
        CandleStore(engine).upsert(make_key("replay", "BTCUSDT", "1m"), frame_to_candles(frame.iloc[:1400]))
        feed(restarted, stand_in, frame, 900, 1400)  # more candles: the engine decides, nothing is sent
        assert len(stand_in.placed) == placed and len(TradingStore(engine).fills("btc-testnet")) >= paper
    engine.dispose()


def test_an_emergency_stop_cancels_resting_orders_and_flattens_on_the_venue(sqlite_url: str) -> None:
    engine, frame, stand_in = world(sqlite_url, 200, 50_000)
    with stand_in:
        made = trader(engine, stand_in)
        feed(made, stand_in, frame, 0, 60)
        stand_in.set_price(frame["close"].iloc[59])
        prefix, name = made.executor.prefix, made.bot.name
        buy = Intent(client_order_id(prefix, 10**6), name, "BTCUSDT", "BUY", 2000, 10**6, 0)
        assert made.executor.submit(buy).state is State.FILLED  # a position on the venue…
        low = MARKET.ticks(float(frame["close"].iloc[59]) * 0.9)
        resting = Intent(
            client_order_id(made.executor.prefix, 10**6 + 1),
            made.bot.name,
            "BTCUSDT",
            "BUY",
            1000,
            10**6 + 1,
            0,
            low,
        )
        assert made.executor.submit(resting).state is State.NEW  # …and a bid resting below
        made.set_controls(False, True, actor="test")
        states = {o.intent.decision: o.state for o in VenueStore(engine).orders(made.bot.name)}
        assert states[10**6 + 1] is State.CANCELED and stand_in.orders[-2].status == "CANCELED"
        assert min(states) < 0 and states[min(states)] is State.FILLED  # the flattening sell, at once
        assert made.ledger().base < MARKET.step_size and stand_in.balances["BTC"] < MARKET.step_size
        feed(made, stand_in, frame, 60, 62)  # the engine's own flattening sell finds nothing left
        assert (
            made.phase == "Halted"
            and stand_in.orders[-1].side == "SELL"
            and len(stand_in.orders) == len(states)
        )
    engine.dispose()


def test_a_ban_degrades_the_bot_until_it_ends_and_the_stream_keeps_orders_current(sqlite_url: str) -> None:
    engine, frame, stand_in = world(sqlite_url, 200, 50_000)
    with stand_in:
        stream = UserStream(stand_in.ws_url, Credentials("k", secret="s"), backoff=0.05)
        made = trader(engine, stand_in, stream)
        woken = threading.Event()
        made.run_beside(woken.set)
        feed(made, stand_in, frame, 0, 60)
        stand_in.set_price(frame["close"].iloc[59])
        # a bid resting below the market fills when a candle crosses it: the stream says so
        low = MARKET.ticks(float(frame["close"].iloc[59]) * 0.99)
        bid = Intent(
            client_order_id(made.executor.prefix, 10**6), made.bot.name, "BTCUSDT", "BUY", 1000, 10**6, 0, low
        )
        assert made.executor.submit(bid).state is State.NEW
        queries = stand_in.requests.count("GET /api/v3/order")
        woken.clear()
        stand_in.advance(
            high=float(frame["close"].iloc[59]), low=float(frame["close"].iloc[59]) * 0.98, close=1
        )
        assert woken.wait(5)  # the stream woke the loop
        time.sleep(0.2)
        made.step()
        (order,) = [o for o in VenueStore(engine).orders(made.bot.name) if o.intent.decision == 10**6]
        assert order.state is State.FILLED and stand_in.requests.count("GET /api/v3/order") == queries
        # 418 on an order: nothing more is sent until the ban's end, the bot is Degraded
        stand_in.set_price(frame["close"].iloc[60])
        stand_in.fail_next("ban")
        made.execute([SimpleNamespace(side="sell", lots=500, id=10**6 + 1)])
        assert made.phase == "Degraded" and "banned this IP until" in made.summary()["message"]
        placed = len(stand_in.placed)
        made.execute([SimpleNamespace(side="sell", lots=500, id=10**6 + 2)])
        assert len(stand_in.placed) == placed
        made.banned_until = 0  # the ban ended
        made.step()
        assert made.phase == "Running"
        made.close()
    engine.dispose()
