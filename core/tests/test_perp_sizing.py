"""Perpetual sizing on hand-computed cases (BTCUSDT perp: a cash unit is 0.0001 USDT, a lot
0.001 BTC, a tick 0.1; 10,000 USDT at 3x, taker fee 0.05%): the action moves the position a
fraction of the way to the full long or short, and every order it sizes fills."""

from botrader.core.binance.usdm import perp_rules_for
from botrader.core.engine.perp_portfolio import PerpPortfolio
from botrader.core.engine.perp_sizing import size_perp
from botrader.core.engine.units import fee_for

BTC = perp_rules_for("BTCUSDT")
PRICE = 600_000  # 60,000.0
FEE = 500  # ppm


def size(pf: PerpPortfolio, action: float, *, can_short: bool = True, trade: float = 1.0) -> int:
    return size_perp(
        round(action * 1_000_000),
        pf,
        BTC,
        equity=pf.equity(PRICE),
        mark=PRICE,
        price=PRICE,
        fee_ppm=FEE,
        position_ppm=1_000_000,
        trade_ppm=round(trade * 1_000_000),
        can_short=can_short,
    )


def fill(pf: PerpPortfolio, lots: int) -> None:
    pf.fill(lots, PRICE, fee_for(abs(lots) * PRICE, FEE))


def test_full_long_from_flat_is_what_margin_and_fee_allow() -> None:
    pf = PerpPortfolio(cash=100_000_000, leverage=3)
    # 30,000 USDT of exposure is 0.5 BTC, but 0.5 BTC needs 10,000 margin + 15 fee: 0.499 fits
    assert size(pf, 1.0) == 499
    fill(pf, 499)
    assert pf.cash == 50_300 and pf.margin == 99_800_000  # 5.03 USDT left
    assert size(pf, 1.0) == 0  # already as long as it can be


def test_minus_one_flips_a_long_to_a_short_in_one_order() -> None:
    pf = PerpPortfolio(cash=100_000_000, leverage=3)
    fill(pf, 499)
    # closes 0.499 and opens 0.497 short with what closing freed (0.498 misses by 4.9 USDT of
    # the one fee split across both parts)
    assert size(pf, -1.0) == -996
    fill(pf, -996)
    assert pf.lots == -497


def test_without_shorting_minus_one_is_flat_and_fractions_sell_part() -> None:
    pf = PerpPortfolio(cash=100_000_000, leverage=3)
    fill(pf, 499)
    assert size(pf, -1.0, can_short=False) == -499
    assert size(pf, -0.5, can_short=False) == -249
    flat = PerpPortfolio(cash=100_000_000, leverage=3)
    assert size(flat, -1.0, can_short=False) == 0


def test_the_trade_risk_cap_limits_what_opens_not_what_closes() -> None:
    pf = PerpPortfolio(cash=100_000_000, leverage=3)
    fill(pf, 499)
    # opening at most 10% of equity × 3 = 2,995.5 USDT → 0.049 BTC; the long still closes whole
    assert size(pf, -1.0, trade=0.1) == -(499 + 49)


def test_high_leverage_is_capped_where_the_brackets_stop_allowing_it() -> None:
    pf = PerpPortfolio(cash=100_000_000, leverage=100)
    # 100x is allowed up to bracket 2's 600,000 USDT cap: 10 BTC, not the 1,000,000 / 60,000
    assert size(pf, 1.0) <= 10_000
    assert size_perp(
        1_000_000, pf, BTC, equity=10**12, mark=PRICE, price=PRICE, fee_ppm=0,
        position_ppm=1_000_000, trade_ppm=1_000_000, can_short=True,
    ) == 10_000  # fmt: skip
