"""A shared wallet's unit: every symbol's cash unit is a whole multiple of it, so money moves
between a symbol and the wallet without rounding (hand-computed cases)."""

from decimal import Decimal

import pytest

from botrader.core.binance.filters import rules_for
from botrader.core.binance.usdm import perp_rules_for
from botrader.core.engine.units import MarketRules
from botrader.core.errors import UserError
from botrader.core.portfolio.wallet import common_unit, factor


def test_the_common_unit_of_spot_and_perpetual_symbols() -> None:
    btc = rules_for("BTCUSDT")  # 0.01 × 0.00001 = 1e-7
    avax = perp_rules_for("AVAXUSDT").market  # 0.001 × 1 = 1e-3
    assert (btc.cash_unit, avax.cash_unit) == (Decimal("1E-7"), Decimal("0.001"))
    unit = common_unit([btc, avax])
    assert unit == Decimal("1E-7")
    assert (factor(btc, unit), factor(avax, unit)) == (1, 10_000)
    # 12.345 USDT in AVAX's units, moved to the wallet and back: exactly the same amount
    amount = avax.cash_units("12.345")
    assert amount * factor(avax, unit) * unit == Decimal("12.345")


def test_units_that_are_not_powers_of_ten() -> None:
    a = MarketRules("AUSDT", Decimal("0.05"), Decimal("1"))  # 0.05
    b = MarketRules("BUSDT", Decimal("0.02"), Decimal("1"))  # 0.02
    unit = common_unit([a, b])
    assert unit == Decimal("0.01") and (factor(a, unit), factor(b, unit)) == (5, 2)
    with pytest.raises(UserError, match="not a multiple"):
        factor(MarketRules("CUSDT", Decimal("0.003"), Decimal("1")), unit)
    with pytest.raises(UserError, match="at least one symbol"):
        common_unit([])
