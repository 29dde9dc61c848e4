"""The user data stream over the WebSocket API, against the local stand-in: subscriptions
signed as Binance checks them (Ed25519 session logon, HMAC signature subscription), events that
settle orders and store fills without a query, duplicates that change nothing, and a dropped
stream that comes back and asks for a reconciliation."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from botrader.core.db import connect, upgrade
from botrader.core.db.venue import VenueStore
from botrader.core.engine.units import MarketRules
from botrader.core.venue.binance_spot import Credentials, SpotClient
from botrader.core.venue.executor import Executor
from botrader.core.venue.orders import Intent, State, bot_prefix, client_order_id
from botrader.core.venue.user_stream import RESUBSCRIBED, UserStream, execution
from tests.support.binance_spot import SpotStandIn

MARKET = MarketRules()
BOT = "btc-stream"
PREFIX = bot_prefix("default", BOT)


def ed25519() -> tuple[Credentials, Any]:
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    return Credentials("ed-key", private_key_pem=pem), key.public_key()


@pytest.fixture(params=["ed25519", "hmac"])
def world(request, db_url: str):
    engine = connect(db_url)
    upgrade(engine)
    stand_in = SpotStandIn(market=MARKET)
    if request.param == "ed25519":
        credentials, public = ed25519()
        stand_in.add_ed25519_key("ed-key", public)
    else:
        credentials = Credentials("k", secret="s")
        stand_in.add_hmac_key("k", "s")
    with stand_in:
        stand_in.set_price(100_000)
        client = SpotClient(stand_in.url, credentials, MARKET)
        run = Executor(VenueStore(engine), client, BOT, PREFIX)
        stream = UserStream(stand_in.ws_url, credentials, backoff=0.05).start()
        assert until(lambda: stream.subscriptions == 1)
        yield run, stream, stand_in
        stream.stop()
    engine.dispose()


def until(ready: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return True
        time.sleep(0.02)
    return False


def apply(run: Executor, stream: UserStream, done: Callable[[], bool]) -> list[dict[str, Any]]:
    """Apply the stream's events to the executor until `done`; the events seen."""
    seen: list[dict[str, Any]] = []

    def step() -> bool:
        for event in stream.drain():
            seen.append(event)
            run.on_event(event)
        return done()

    assert until(step), f"not settled by the stream; events: {[e.get('x', e['e']) for e in seen]}"
    return seen


def intent(decision: int, lots: int = 3000, side: str = "BUY", limit: int | None = None) -> Intent:
    return Intent(client_order_id(PREFIX, decision), BOT, "BTCUSDT", side, lots, decision, 1_000, limit)


def test_a_lost_answer_is_settled_by_the_stream_without_a_query(world) -> None:
    run, stream, stand_in = world
    stand_in.fail_next("lost_answer")
    assert run.submit(intent(1)).state is State.UNKNOWN
    apply(run, stream, lambda: run.store.orders(BOT)[0].state is State.FILLED)
    assert "GET /api/v3/order" not in stand_in.requests
    assert [f.trade_id for f in run.store.fills(BOT)] == [t.id for t in stand_in.trades]


def test_a_resting_limit_order_fills_from_the_stream(world) -> None:
    run, stream, stand_in = world
    below = MARKET.ticks(99_000)
    assert run.submit(intent(1, limit=below)).state is State.NEW
    stand_in.advance(high=100_100, low=98_900, close=99_500)
    apply(run, stream, lambda: run.store.orders(BOT)[0].state is State.FILLED)
    (fill,) = run.store.fills(BOT)
    assert fill.price == "99000.00" and fill.quantity == "0.03000"


def test_duplicated_events_change_nothing_the_second_time(world) -> None:
    run, stream, stand_in = world
    stand_in.duplicate_events = True
    run.submit(intent(1, lots=8000))  # walks two levels: two trades
    seen = apply(run, stream, lambda: len(run.store.fills(BOT)) == 2)  # the answer may store them first
    trades = lambda: sum(e.get("x") == "TRADE" for e in seen)  # noqa: E731
    assert until(lambda: seen.extend(stream.drain()) or trades() >= 4)  # each of the two, twice
    changed = [run.on_event(e) for e in seen if e.get("e") == "executionReport"]
    assert changed and not any(changed)  # every one applied already
    assert [f.trade_id for f in run.store.fills(BOT)] == [t.id for t in stand_in.trades]


def test_a_dropped_stream_comes_back_and_asks_for_a_reconciliation(world) -> None:
    _run, stream, stand_in = world
    assert RESUBSCRIBED in stream.drain()
    stand_in.drop_streams()
    assert until(lambda: stream.subscriptions == 2)
    assert RESUBSCRIBED in stream.drain()


def test_a_refused_subscription_is_retried_not_fatal() -> None:
    with SpotStandIn(market=MARKET) as stand_in:
        stand_in.add_hmac_key("k", "s")
        stream = UserStream(stand_in.ws_url, Credentials("k", secret="wrong"), backoff=0.05).start()
        time.sleep(0.5)
        assert stream.subscriptions == 0 and stream._thread.is_alive()
        stand_in.add_hmac_key("k", "wrong")  # the keys fixed: the next attempt subscribes
        assert until(lambda: stream.subscriptions == 1)
        stream.stop()


def test_a_cancel_event_names_the_canceled_order() -> None:
    event = {
        "e": "executionReport",
        "s": "BTCUSDT",
        "c": "cancel-request-7",
        "C": f"{PREFIX}3",
        "S": "BUY",
        "x": "CANCELED",
        "X": "CANCELED",
        "r": "NONE",
        "i": 42,
        "z": "0.01000",
    }
    client_id, report, fill = execution(event, lambda q: int(float(q) * 100_000))
    assert client_id == f"{PREFIX}3" and report.state is State.CANCELED
    assert report.filled_lots == 1000 and report.venue_id == 42 and fill is None
