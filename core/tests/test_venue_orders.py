"""Orders on a venue: the state machine, client ids and what each venue error means — then the
signed Spot client against the local stand-in that verifies real HMAC and Ed25519 signatures,
enforces the exchange's filters and injects the faults a venue has."""

from __future__ import annotations

from decimal import Decimal

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from botrader.core.engine.units import MarketRules
from botrader.core.errors import UserError
from botrader.core.venue import errors
from botrader.core.venue.binance_spot import Credentials, SpotClient
from botrader.core.venue.orders import Intent, Order, Report, State, bot_prefix, client_order_id
from tests.support.binance_spot import SpotStandIn

MARKET = MarketRules()  # BTCUSDT: tick 0.01, step 0.00001, min notional 5


def intent(lots: int, side: str = "BUY", decision: int = 1, limit: int | None = None) -> Intent:
    prefix = bot_prefix("default", "btc-venue")
    return Intent(client_order_id(prefix, decision), "btc-venue", "BTCUSDT", side, lots, decision, 0, limit)


def test_the_state_machine_absorbs_duplicates_and_ignores_old_news() -> None:
    order = Order(intent(100))
    assert order.state is State.SENDING and not order.state.final
    lost = order.lost()
    assert lost.state is State.UNKNOWN  # a lost answer is not a failure
    part = lost.apply(Report(State.PARTIALLY_FILLED, 40, venue_id=7))
    assert (part.state, part.filled_lots, part.venue_id) == (State.PARTIALLY_FILLED, 40, 7)
    assert part.apply(Report(State.NEW, 0)) == part  # an older report: ignored
    assert part.apply(Report(State.PARTIALLY_FILLED, 40)) == part  # a duplicate
    done = part.apply(Report(State.FILLED, 100))
    assert done.state is State.FILLED and done.state.final
    assert done.apply(Report(State.CANCELED, 100)) == done and done.lost() == done  # final absorbs
    refused = Order(intent(1)).apply(Report(State.REJECTED, 0, error="-1013 Filter failure: NOTIONAL"))
    assert refused.state is State.REJECTED and "NOTIONAL" in refused.error


def test_client_ids_are_the_bots_own_and_deterministic() -> None:
    a, b = bot_prefix("default", "btc-venue"), bot_prefix("default", "eth-venue")
    assert a != b and a == bot_prefix("default", "btc-venue") and a.startswith("bt") and len(a) == 13
    assert client_order_id(a, 123456789) == f"{a}123456789" and len(client_order_id(a, 10**12, 3)) <= 36
    assert client_order_id(a, 5, 1) == f"{a}5r1"  # a resend after the venue denied the first


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (400, -1013, errors.Rejected), (400, -2010, errors.Rejected), (500, -1007, errors.OutcomeUnknown),
        (503, 0, errors.OutcomeUnknown), (0, 0, errors.OutcomeUnknown), (429, -1003, errors.RateLimited),
        (418, -1003, errors.Banned), (400, -1021, errors.ClockSkew), (400, -2013, errors.NotFound),
        (400, -2011, errors.NotFound), (400, -1022, errors.AuthFailed), (401, -2015, errors.AuthFailed),
    ],
)  # fmt: skip
def test_each_venue_error_means_one_thing(status: int, code: int, kind: type) -> None:
    assert type(errors.classify(status, code, "m")) is kind


@pytest.fixture(params=["hmac", "ed25519"])
def venue(request):
    stand_in = SpotStandIn(market=MARKET)
    if request.param == "hmac":
        stand_in.add_hmac_key("k1", "s3cret")
        credentials = Credentials("k1", secret="s3cret")
    else:
        key = Ed25519PrivateKey.generate()
        stand_in.add_ed25519_key("k1", key.public_key())
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        credentials = Credentials("k1", private_key_pem=pem)
    with stand_in:
        client = SpotClient(stand_in.url, credentials, MARKET)
        yield stand_in, client
        client.close()


def test_a_market_order_walks_the_book_and_its_fills_are_the_venues(venue) -> None:
    stand_in, client = venue
    stand_in.set_price(100_000)
    report, fills = client.place(intent(8000))  # 0.08 BTC: more than the best level's 0.05
    assert report.state is State.FILLED and report.filled_lots == 8000
    assert [f.quantity for f in fills] == ["0.05", "0.03000"] and fills[
        0
    ].price == "100010.00"  # 2 bps spread: the ask 1 bp above
    assert Decimal(fills[1].price) - Decimal(fills[0].price) == Decimal("0.01")  # the next level
    assert fills[0].commission_asset == "BTC" and Decimal(fills[0].commission) == Decimal("0.00005")
    assert [t.trade_id for t in client.my_trades(from_id=2)] == [2]  # a cursor, not a window
    free, _ = client.balances()["BTC"]
    assert free == Decimal(1) + Decimal("0.08") - Decimal("0.00008")
    assert client.limits.weight_1m > 0 and client.limits.orders_1d == 1


def test_the_venue_refuses_with_its_codes(venue) -> None:
    stand_in, client = venue
    with pytest.raises(errors.Rejected, match="-1013 Filter failure: NOTIONAL"):
        client.place(intent(1))  # 0.00001 BTC ≈ 1 USDT
    with pytest.raises(errors.Rejected, match="-2010 Account has insufficient balance"):
        client.place(intent(1_000_000))  # 10 BTC
    with pytest.raises(errors.NotFound, match="-2013"):
        client.query("bt0000000000-404")
    wrong = SpotClient(stand_in.url, Credentials("k1", secret="guess"), MARKET)
    with pytest.raises((errors.AuthFailed, errors.Rejected)):
        wrong.balances()


def test_lost_answers_rate_limits_bans_and_a_drifting_clock(venue) -> None:
    stand_in, client = venue
    stand_in.fail_next("lost_answer")
    order = intent(100, decision=2)
    with pytest.raises(errors.OutcomeUnknown):
        client.place(order)
    assert client.query(order.client_id).state is State.FILLED  # it was placed: query, never resend
    stand_in.fail_next("rate_limit", "ban")
    with pytest.raises(errors.RateLimited) as limited:
        client.balances()
    assert limited.value.retry_after == 1
    with pytest.raises(errors.Banned) as banned:
        client.balances()
    assert banned.value.until_ms > 0
    stand_in.clock_offset_ms = 30_000  # the venue's clock runs 30 s ahead of ours
    assert "USDT" in client.balances()  # -1021 once, resynced, retried
    assert abs(client.offset_ms - 30_000) < 1000


def test_mainnet_is_refused_in_one_line() -> None:
    with pytest.raises(UserError, match="Binance mainnet: Botrader trades on the Spot Testnet only"):
        SpotClient("https://api.binance.com", Credentials("k", secret="s"), MARKET)
    assert "s3cret" not in repr(Credentials("k1234", secret="s3cret"))


def test_divergence_by_hand() -> None:
    """A buy: paper 0.1 BTC at 100.00 (fee 0.01); the venue 0.05 at 100.02 and 0.05 at 100.04,
    each with 0.00005 BTC commission. A sell the venue rejected (paper 0.1 at 101.00)."""
    from botrader.core.venue.divergence import divergence
    from botrader.core.venue.orders import VenueFill

    buy, sell = intent(1, decision=1), intent(1, side="SELL", decision=2)
    buy = Intent(buy.client_id, buy.bot, buy.symbol, "BUY", 10_000, 1, created_ms=1_000)
    orders = [
        Order(buy, State.FILLED, 11, 10_000),
        Order(sell, State.REJECTED, None, 0, "-2010 Account has insufficient balance for requested action."),
    ]
    paper = [
        {"order_id": 1, "price": 100, "quantity": "0.1", "fee": "0.01"},
        {"order_id": 2, "price": 101, "quantity": "0.1", "fee": "0.0101"},
    ]
    venue = [
        VenueFill(5, buy.client_id, 11, "BTCUSDT", "BUY", p, "0.05", "0", "0.00005", "BTC", t)
        for p, t in (("100.02", 1_300), ("100.04", 1_450))
    ]
    found = divergence(paper, orders, venue, "BTC", "USDT")
    first, second = found.decisions
    assert first.venue_price == Decimal("100.03") and first.slippage_bps == pytest.approx(3.0)
    assert first.venue_fee == Decimal("0.010003") and first.fills == 2 and first.delay_ms == 450
    assert found.price_cost == Decimal("0.003") and found.fee_cost == Decimal("0.000003") - Decimal("0.0101")
    assert second.state == "REJECTED" and second.venue_price is None and "-2010" in second.error
    assert found.unfilled_notional == Decimal("10.1") and found.rejections == 1
    assert found.summary()["partial_fills"] == 1
    assert found.pnl_difference == -(found.price_cost + found.fee_cost)
