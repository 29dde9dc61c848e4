"""Nothing lost, nothing doubled: the executor against the local Spot stand-in with a real
database, stopped at every point a process can die (before the intent commits, after it
commits, after the venue answered, during a partial fill, with the answer lost), then
reconciled by a fresh executor over the same database. After each, every order the venue
holds for the bot is in the database exactly once, every venue trade is stored once, and the
position from the stored fills equals the venue's balances."""

from __future__ import annotations

from decimal import Decimal

import pytest

from botrader.core.db import connect, upgrade
from botrader.core.db.venue import VenueStore
from botrader.core.engine.units import MarketRules
from botrader.core.timeutil import now_ms
from botrader.core.venue.binance_spot import Credentials, SpotClient
from botrader.core.venue.errors import Banned
from botrader.core.venue.executor import NEVER_SENT, Executor, VenueReset
from botrader.core.venue.ledger import Ledger
from botrader.core.venue.orders import Intent, State, bot_prefix, client_order_id
from tests.support.binance_spot import SpotStandIn

MARKET = MarketRules()
BOT, OTHER = "btc-venue", "eth-venue"


class Crash(Exception):
    """The process died here."""


class Clock:
    def __init__(self) -> None:
        self.ms = 1_000

    def __call__(self) -> int:
        return self.ms


@pytest.fixture
def world(db_url: str):
    engine = connect(db_url)
    upgrade(engine)
    stand_in = SpotStandIn(market=MARKET)
    stand_in.add_hmac_key("k", "s")
    with stand_in:
        stand_in.set_price(100_000)
        yield engine, stand_in
    engine.dispose()


def executor(engine, stand_in, bot: str = BOT, crash_at: str | None = None, clock=None) -> Executor:
    def crash(point: str) -> None:
        if point == crash_at:
            raise Crash(point)

    client = SpotClient(stand_in.url, Credentials("k", secret="s"), MARKET)
    return Executor(
        VenueStore(engine), client, bot, bot_prefix("default", bot), crash=crash, clock=clock or Clock()
    )


def intent(
    decision: int, lots: int = 3000, side: str = "BUY", limit: int | None = None, bot: str = BOT
) -> Intent:
    cid = client_order_id(bot_prefix("default", bot), decision)
    return Intent(cid, bot, "BTCUSDT", side, lots, decision, 1_000, limit)


def assert_consistent(engine, stand_in: SpotStandIn, bot: str = BOT) -> None:
    """Every venue order of the bot stored once, every venue trade of them stored once, and the
    position the fills give equals what the venue's balances moved by."""
    store = VenueStore(engine)
    prefix = bot_prefix("default", bot)
    venue_ids = sorted(o.client_id for o in stand_in.orders if o.client_id.startswith(prefix))
    stored = sorted(o.intent.client_id for o in store.orders(bot) if o.venue_id is not None)
    assert stored == venue_ids  # nothing lost, nothing doubled
    theirs = sorted(t.id for t in stand_in.trades if t.order.client_id.startswith(prefix))
    assert [f.trade_id for f in store.fills(bot)] == theirs
    ledger = Ledger.of(store.fills(bot), "BTC", "USDT")
    if all(o.client_id.startswith(prefix) for o in stand_in.orders):  # one bot on the account
        assert ledger.base == stand_in.balances["BTC"] - stand_in.initial["BTC"]
        assert ledger.quote == stand_in.balances["USDT"] - stand_in.initial["USDT"]


def test_a_filled_order_is_stored_once_and_reconciling_changes_nothing(world) -> None:
    engine, stand_in = world
    first = executor(engine, stand_in)
    order = first.submit(intent(1, lots=8000))  # two book levels: two fills
    assert order.state is State.FILLED and order.venue_id == 1 and order.filled_lots == 8000
    again = first.reconcile()
    assert (again.settled, again.fills, again.unknown_open) == (0, 0, [])
    assert first.submit(intent(1, lots=8000)).state is State.FILLED  # the same decision again
    assert len(stand_in.orders) == 1  # …was not sent twice
    assert_consistent(engine, stand_in)


@pytest.mark.parametrize("point", ["committed", "answered"])
def test_a_crash_at_each_point_leaves_nothing_lost_or_doubled(world, point: str) -> None:
    engine, stand_in = world
    clock = Clock()
    with pytest.raises(Crash):
        executor(engine, stand_in, crash_at=point, clock=clock).submit(intent(7))
    restarted = executor(engine, stand_in, clock=clock)
    found = restarted.reconcile()
    (order,) = VenueStore(engine).orders(BOT)
    if point == "answered":  # the venue had filled it: settled from the query, fills from myTrades
        assert order.state is State.FILLED and found.settled == 1 and found.fills == 1
    else:  # never sent: not found, and after its receive window closed as never sent
        assert order.state is State.SENDING and not stand_in.orders
        clock.ms += 20_000
        restarted.reconcile()
        (order,) = VenueStore(engine).orders(BOT)
        assert order.state is State.EXPIRED and order.error == NEVER_SENT
    assert_consistent(engine, stand_in)
    assert restarted.reconcile().fills == 0  # again: nothing new


@pytest.mark.parametrize("fault", ["lost_answer", "unknown"])
def test_an_unknown_outcome_is_settled_by_the_venue_not_resent(world, fault: str) -> None:
    engine, stand_in = world
    run = executor(engine, stand_in)
    stand_in.fail_next(fault)
    assert run.submit(intent(3)).state is State.UNKNOWN  # not a failure
    assert run.reconcile().settled == 1
    (order,) = VenueStore(engine).orders(BOT)
    assert order.state is State.FILLED and len(stand_in.orders) == 1
    assert_consistent(engine, stand_in)


def test_a_crash_during_a_partial_fill(world) -> None:
    """A limit buy takes the best level at once and rests; the process dies before recording
    the answer; while it is down the rest fills; the restart stores both fills once."""
    engine, stand_in = world
    limit = MARKET.ticks(100_010.00)  # crosses the best ask only (0.05 BTC there)
    with pytest.raises(Crash):
        executor(engine, stand_in, crash_at="answered").submit(intent(9, lots=8000, limit=limit))
    assert stand_in.orders[0].status == "PARTIALLY_FILLED"
    stand_in.advance(high=100_100, low=99_900, close=100_000)  # the rest fills while we are down
    restarted = executor(engine, stand_in)
    restarted.reconcile()
    (order,) = VenueStore(engine).orders(BOT)
    assert order.state is State.FILLED and order.filled_lots == 8000
    assert len(VenueStore(engine).fills(BOT)) == 2
    assert_consistent(engine, stand_in)


def test_rejections_end_the_intent_with_the_venues_reason(world) -> None:
    engine, stand_in = world
    order = executor(engine, stand_in).submit(intent(2, lots=1))
    assert order.state is State.REJECTED and order.error == "-1013 Filter failure: NOTIONAL"
    assert VenueStore(engine).orders(BOT)[0].error == order.error


def test_two_bots_share_an_account_and_touch_only_their_own(world) -> None:
    engine, stand_in = world
    mine, theirs = executor(engine, stand_in), executor(engine, stand_in, bot=OTHER)
    mine.submit(intent(1))
    theirs.submit(intent(1, bot=OTHER))
    limit = MARKET.ticks(90_000)  # rests: below the book
    stray = intent(2, limit=limit)
    mine.client.place(stray)  # an order of ours the database does not know (sent by hand)
    found = mine.reconcile()
    assert found.unknown_open == [stray.client_id]
    assert [f.trade_id for f in VenueStore(engine).fills(BOT)] == [1]
    assert [f.trade_id for f in VenueStore(engine).fills(OTHER)] == [2]
    assert_consistent(engine, stand_in, OTHER)


def test_a_reset_account_stops_the_bot_and_nothing_is_resent(world) -> None:
    """The testnet's monthly wipe: the newest acknowledged order (here final, filled) is gone;
    so is a resting one. Reconciling says so; nothing is sent into the fresh account."""
    engine, stand_in = world
    run = executor(engine, stand_in)
    run.submit(intent(1))
    resting = run.submit(intent(2, limit=MARKET.ticks(90_000)))
    assert resting.state is State.NEW
    stand_in.reset()
    with pytest.raises(VenueReset, match="the account was reset"):
        run.reconcile()
    assert not stand_in.orders  # nothing re-sent into the fresh account
    assert len(VenueStore(engine).fills(BOT)) == 1  # history kept
    filled_only = executor(engine, stand_in, bot=OTHER)
    filled_only.submit(intent(1, bot=OTHER))
    stand_in.reset()
    with pytest.raises(VenueReset):  # every order final: the newest acknowledged one is asked for
        filled_only.reconcile()


def test_the_fills_cursor_pages_through_a_long_history(world) -> None:
    engine, stand_in = world
    stand_in.depth = Decimal("0.00001")  # one lot per level: every lot a trade
    stand_in.levels = 1200
    run = executor(engine, stand_in)
    stand_in.fail_next("lost_answer")
    run.submit(intent(1, lots=1100))  # 1,100 trades, the answer lost
    found = run.reconcile()
    assert found.fills == 1100 and VenueStore(engine).cursor(BOT, "BTCUSDT") == 1100
    assert found.requests == 4  # the lost order, two myTrades pages, openOrders
    assert_consistent(engine, stand_in)


def test_a_rate_limit_is_waited_out_and_the_same_intent_sent_once(world) -> None:
    """429: the venue did not process it. The executor waits Retry-After and sends the same
    intent (same client id) again: one order on the venue, filled, stored once."""
    engine, stand_in = world
    waited: list[float] = []
    run = executor(engine, stand_in)
    run.sleep = waited.append
    stand_in.fail_next("rate_limit", "rate_limit")
    assert run.submit(intent(4)).state is State.FILLED
    assert waited == [1.0, 1.0] and len(stand_in.orders) == 1
    assert [c for c, status, _ in stand_in.placed] == [intent(4).client_id]
    assert_consistent(engine, stand_in)


def test_a_ban_ends_the_intent_unsent_and_says_until_when(world) -> None:
    """418: nothing may be sent until the ban ends. The intent is closed as never sent (the
    venue refused it unprocessed) and `Banned` carries the end, for the trader's Degraded."""
    engine, stand_in = world
    clock = Clock()
    run = executor(engine, stand_in, clock=clock)
    stand_in.fail_next("ban")
    with pytest.raises(Banned) as ban:
        run.submit(intent(4))
    assert abs(ban.value.until_ms - (now_ms() + 120_000)) < 5_000  # Retry-After: 120
    (order,) = VenueStore(engine).orders(BOT)
    assert order.state is State.EXPIRED and order.error.startswith("not sent:") and not stand_in.orders


def test_a_refused_request_leaves_the_intent_unsent_and_the_trader_alive(world) -> None:
    """Still rate limited after every wait: the intent stays SENDING (no exception reaches the
    trader) and, once its window has passed, is closed as never sent — not sent again."""
    engine, stand_in = world
    clock = Clock()
    run = executor(engine, stand_in, clock=clock)
    run.sleep = lambda _s: None
    stand_in.fail_next(*["rate_limit"] * (run.max_waits + 1))
    assert run.submit(intent(4)).state is State.SENDING and not stand_in.orders
    clock.ms += 20_000
    run.reconcile()
    (order,) = VenueStore(engine).orders(BOT)
    assert order.state is State.EXPIRED and order.error == NEVER_SENT and not stand_in.orders
