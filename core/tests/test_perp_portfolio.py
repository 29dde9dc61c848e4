"""The USD-M wallet and its isolated position against hand-computed cases: opening locks
margin, partial and full closes release it with their PnL, a fill through zero flips the
position, funding moves the isolated margin (and so the liquidation price), and a
liquidation takes its clearance fee out of what the margin still holds — never more."""

from decimal import Decimal

import pytest

from botrader.core.binance.usdm import perp_rules_for
from botrader.core.engine.margin import funding_rate_e8
from botrader.core.engine.perp_portfolio import PerpPortfolio

BTC = perp_rules_for("BTCUSDT")  # a cash unit is 0.0001 USDT, a lot 0.001 BTC, a tick 0.1
AVAX = perp_rules_for("AVAXUSDT")  # a cash unit is 0.001 USDT, a lot 1 AVAX, a tick 0.001


def usdt(amount: str, rules=BTC) -> int:
    return int(Decimal(amount) / rules.market.cash_unit)


def px(price: str, rules=BTC) -> int:
    return int(Decimal(price) / rules.market.tick_size)


def qty(base: str, rules=BTC) -> int:
    return int(Decimal(base) / rules.market.step_size)


def test_a_long_opened_at_10x_closed_in_two_halves() -> None:
    pf = PerpPortfolio(cash=usdt("10000"), leverage=10)
    # 0.5 BTC at 60,000: 30,000 notional, 3,000 margin, a 15 USDT fee (0.05%)
    assert pf.fill(qty("0.5"), px("60000"), usdt("15")) == -usdt("15")
    assert (pf.cash, pf.margin, pf.lots) == (usdt("6985"), usdt("3000"), qty("0.5"))
    assert pf.equity(px("60000")) == usdt("9985")
    assert pf.equity(px("61000")) == usdt("10485")
    # half at 61,000: releases 15,000 of entry and 1,500 of margin, +250 gross, 7.625 fee
    assert pf.fill(-qty("0.25"), px("61000"), usdt("7.625")) == usdt("242.375")
    assert pf.cash == usdt("8727.375") and pf.margin == usdt("1500") and pf.round_trips == []
    # the rest at 59,000: −250 gross, 7.375 fee
    assert pf.fill(-qty("0.25"), px("59000"), usdt("7.375")) == -usdt("257.375")
    assert (pf.cash, pf.margin, pf.lots, pf.entry_notional) == (usdt("9970"), 0, 0, 0)
    assert pf.realized_pnl == -usdt("30") and pf.round_trips == [-usdt("30")]
    assert pf.fees_paid == usdt("30")


def test_a_short_flipped_long_by_one_fill() -> None:
    pf = PerpPortfolio(cash=usdt("20000"), leverage=5)
    pf.fill(-qty("1"), px("60000"), 0)  # short 1 BTC: 12,000 margin
    assert (pf.cash, pf.margin, pf.lots) == (usdt("8000"), usdt("12000"), -qty("1"))
    assert pf.equity(px("58000")) == usdt("22000")  # a short gains as the price falls
    # buy 1.5 at 58,000 with a 30-unit fee: 1 closes (+2,000, 20 of the fee), 0.5 opens long
    assert pf.fill(qty("1.5"), px("58000"), 30) == usdt("2000") - 20 - 10
    assert pf.round_trips == [usdt("2000") - 20]
    assert (pf.lots, pf.entry_notional, pf.margin) == (qty("0.5"), usdt("29000"), usdt("5800"))
    assert pf.cash == usdt("22000") - usdt("5800") - 30


def test_opening_more_than_the_wallet_holds_is_refused() -> None:
    pf = PerpPortfolio(cash=usdt("1000"), leverage=10)
    with pytest.raises(ValueError, match="needs"):
        pf.fill(qty("0.2"), px("60000"), 0)  # 12,000 notional: 1,200 margin


def test_funding_moves_the_isolated_margin_and_the_liquidation_price() -> None:
    pf = PerpPortfolio(cash=usdt("10000"), leverage=10)
    pf.fill(qty("0.5"), px("60000"), 0)
    before = BTC.liquidation_price(pf.lots, pf.entry_notional, pf.margin)
    assert pf.apply_funding(px("60000"), funding_rate_e8("0.0001")) == -usdt("3")  # a long pays
    assert pf.margin == usdt("2997") and pf.funding == -usdt("3") and pf.realized_pnl == -usdt("3")
    # (30,000 − 2,997) / 0.498 = 54,222.89… (it was 54,216.86…)
    assert (before, BTC.liquidation_price(pf.lots, pf.entry_notional, pf.margin)) == (
        px("54216.8"),
        px("54222.8"),
    )
    assert PerpPortfolio(cash=1).apply_funding(px("60000"), 10_000) == 0  # flat: nothing
    pf.fill(-qty("0.5"), px("60000"), 0)
    assert pf.round_trips == [-usdt("3")]  # the funding belongs to the trip it was paid in


def test_a_liquidation_in_bracket_one_loses_the_whole_margin() -> None:
    pf = PerpPortfolio(cash=usdt("10000"), leverage=10)
    pf.fill(qty("0.5"), px("60000"), usdt("15"))
    at = BTC.liquidation_price(pf.lots, pf.entry_notional, pf.margin)
    assert at == px("54216.8")
    # margin balance there: 3,000 + 27,108.4 − 30,000 = 108.4; the fee (27,108.4 × 1.25% =
    # 338.855) takes all of it
    assert pf.liquidate(at, BTC) == (-usdt("3000"), usdt("108.4"))
    assert (pf.cash, pf.margin, pf.lots) == (usdt("6985"), 0, 0)
    assert pf.round_trips == [-usdt("3015")] and pf.fees_paid == usdt("123.4")


def test_a_liquidation_in_a_higher_bracket_returns_what_the_fee_leaves() -> None:
    pf = PerpPortfolio(cash=usdt("20000", AVAX), leverage=10)
    pf.fill(qty("2000", AVAX), px("50", AVAX), 0)  # 100,000 notional, 10,000 margin
    at = AVAX.liquidation_price(pf.lots, pf.entry_notional, pf.margin)
    # bracket 5 (2.5%, cum 830): (100,000 − 10,000 − 830) / (2,000 × 0.975) = 45.7282…
    assert at == px("45.728", AVAX)
    # balance 1,456 (the maintenance margin there is 1,456.4); fee 91,456 × 1.5% = 1,371.84
    pnl, fee = pf.liquidate(at, AVAX)
    assert (pnl, fee) == (usdt("84.16", AVAX) - usdt("10000", AVAX), usdt("1371.84", AVAX))
    assert pf.cash == usdt("10084.16", AVAX)


def test_a_gap_past_bankruptcy_costs_the_margin_and_no_more() -> None:
    pf = PerpPortfolio(cash=usdt("10000"), leverage=10)
    pf.fill(qty("0.5"), px("60000"), 0)
    assert pf.liquidate(px("50000"), BTC) == (-usdt("3000"), 0)  # balance −2,000: no fee, no debt
    assert pf.cash == usdt("7000") and pf.equity(px("50000")) == usdt("7000")


def test_state_round_trips() -> None:
    pf = PerpPortfolio(cash=usdt("10000"), leverage=3)
    pf.fill(-qty("0.1"), px("60000"), 7)
    assert PerpPortfolio.from_state(pf.state()) == pf
