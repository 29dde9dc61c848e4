"""USD-M margin arithmetic against hand-computed cases on Binance's own BTCUSDT brackets
(bundled snapshot): maintenance margin in three brackets, the isolated liquidation price in
three brackets, funding paid and received with its rounding, the clearance fee."""

from decimal import Decimal

import pytest

from botrader.core.binance.usdm import perp_rules_for
from botrader.core.engine.margin import funding_payment, funding_rate_e8, unrealized_pnl
from botrader.core.errors import UserError

BTC = perp_rules_for("BTCUSDT")  # tick 0.1, step 0.001: a cash unit is 0.0001 USDT
USDT = 10_000  # cash units per USDT


def lots(btc: str) -> int:
    return int(Decimal(btc) / Decimal("0.001"))


def ticks(price: str) -> int:
    return int(Decimal(price) / Decimal("0.1"))


def test_the_snapshot_is_binances_btcusdt() -> None:
    assert BTC.market.tick_size == Decimal("0.1") and BTC.market.step_size == Decimal("0.001")
    assert BTC.market.min_notional == Decimal("100")
    assert BTC.liquidation_fee_ppm == 12_500  # liquidationFee 0.012500
    assert BTC.funding_interval_ms == 8 * 3_600_000
    assert [(b.mmr_ppm, b.cum // USDT, b.max_leverage) for b in BTC.brackets[:3]] == [
        (4_000, 0, 125),
        (5_000, 50, 100),
        (6_500, 950, 75),
    ]


@pytest.mark.parametrize(
    ("notional_usdt", "margin_usdt"),
    [
        (40_000, 160),  # bracket 1: 0.004 × 40,000 − 0
        (50_000, 200),  # the cap: 0.004 × 50,000 = 0.005 × 50,000 − 50 (cum makes it continuous)
        (100_000, 450),  # bracket 2: 0.005 × 100,000 − 50
        (1_000_000, 5_550),  # bracket 3: 0.0065 × 1,000,000 − 950
    ],
)
def test_maintenance_margin_by_bracket(notional_usdt: int, margin_usdt: int) -> None:
    assert BTC.maintenance_margin(notional_usdt * USDT) == margin_usdt * USDT


@pytest.mark.parametrize(
    ("position", "entry", "wallet", "price", "bracket"),
    [
        # long 0.5 BTC at 60,000, 3,000 USDT margin (10x), bracket 1:
        # (30,000 − 3,000 − 0) / (0.5 × (1 − 0.004)) = 54,216.867… → the tick at or below
        ("0.5", "60000", 3_000, "54216.8", 0),
        # short 2 BTC at 60,000, 12,000 margin, bracket 2 (bracket 1 would put the notional at
        # 131,474 > its 50,000 cap): (120,000 + 12,000 + 50) / (2 × 1.005) = 65,696.517… → up
        ("-2", "60000", 12_000, "65696.6", 1),
        # long 20 BTC at 60,000, 120,000 margin, bracket 3:
        # (1,200,000 − 120,000 − 950) / (20 × 0.9935) = 54,305.4857… → down
        ("20", "60000", 120_000, "54305.4", 2),
    ],
)
def test_isolated_liquidation_price_is_binances_formula(
    position: str, entry: str, wallet: int, price: str, bracket: int
) -> None:
    qty = lots(position)
    entry_notional = abs(qty) * ticks(entry)
    margin = wallet * USDT
    at = BTC.liquidation_price(qty, entry_notional, margin)
    assert at == ticks(price)
    assert BTC.bracket(abs(qty) * at) == BTC.brackets[bracket]
    # the engine's exact test agrees: liquidated at that tick, not one tick safer
    assert BTC.is_liquidated(qty, entry_notional, margin, at)
    safer = at + 1 if qty > 0 else at - 1
    assert not BTC.is_liquidated(qty, entry_notional, margin, safer)


def test_a_fully_margined_long_has_no_liquidation_price() -> None:
    qty = lots("0.1")
    assert BTC.liquidation_price(qty, qty * ticks("60000"), 6_000 * USDT) is None
    assert not BTC.is_liquidated(qty, qty * ticks("60000"), 6_000 * USDT, 1)


def test_unrealized_pnl_is_signed_by_side() -> None:
    entry = lots("1") * ticks("60000")
    assert unrealized_pnl(lots("1"), entry, ticks("61000")) == 1_000 * USDT
    assert unrealized_pnl(lots("-1"), entry, ticks("61000")) == -1_000 * USDT
    assert unrealized_pnl(lots("-1"), entry, ticks("59000")) == 1_000 * USDT


def test_funding_longs_pay_shorts_when_positive_and_rounds_against_the_trader() -> None:
    rate = funding_rate_e8("0.00010000")
    # 0.5 BTC at a 60,000 mark: 30,000 × 0.0001 = 3 USDT
    assert funding_payment(lots("0.5"), ticks("60000"), rate) == -3 * USDT
    assert funding_payment(lots("-0.5"), ticks("60000"), rate) == 3 * USDT
    assert funding_payment(lots("0.5"), ticks("60000"), -rate) == 3 * USDT
    # 0.003 BTC at 60,000.1 and 0.00012345: 180.0003 × 0.00012345 = 0.0222210370… USDT
    # = 222.21 cash units: the long pays 223, the short receives 222
    odd = funding_rate_e8("0.00012345")
    assert funding_payment(lots("0.003"), ticks("60000.1"), odd) == -223
    assert funding_payment(lots("-0.003"), ticks("60000.1"), odd) == 222
    assert funding_payment(0, ticks("60000"), rate) == 0


def test_a_funding_rate_with_more_than_eight_decimals_is_refused() -> None:
    with pytest.raises(UserError, match=r"bad funding rate 0\.000123456"):
        funding_rate_e8("0.000123456")


def test_liquidation_fee_and_initial_margin_round_up() -> None:
    # 27,108.4 USDT × 0.0125 = 338.855 USDT
    assert BTC.liquidation_fee(271_084_000) == 3_388_550
    assert BTC.liquidation_fee(1) == 1  # any fee at all rounds up to a unit
    assert BTC.initial_margin(10 * USDT + 1, 10) == USDT + 1
    with pytest.raises(UserError, match="bad leverage 0"):
        BTC.initial_margin(USDT, 0)


def test_each_bundled_pair_has_rules_on_its_own_grid() -> None:
    grids = [("ALGOUSDT", "0.0001"), ("AVAXUSDT", "0.001"), ("FILUSDT", "0.001"), ("NEARUSDT", "0.001")]
    for symbol, tick in grids:
        rules = perp_rules_for(symbol)
        assert rules.market.tick_size == Decimal(tick), symbol
        caps = [b.cap for b in rules.brackets]
        assert caps == sorted(caps) and rules.brackets[0].floor == 0, symbol
        # continuity at every cap: the maintenance margin does not jump between brackets
        for lower, upper in zip(rules.brackets, rules.brackets[1:], strict=False):
            below = lower.cap * lower.mmr_ppm - lower.cum * 1_000_000
            above = lower.cap * upper.mmr_ppm - upper.cum * 1_000_000
            assert below == above, (symbol, lower)


def test_an_unknown_symbol_names_the_known_ones() -> None:
    with pytest.raises(UserError, match=r"unknown USD-M symbol 'DOGEUSDT'.*ALGOUSDT, AVAXUSDT, BTCUSDT"):
        perp_rules_for("DOGEUSDT")
