"""One wallet over many symbols, in one integer unit.

Each symbol's engine counts money in its own cash unit (tick size × step size: BTCUSDT's is
1e-7 USDT, the AVAXUSDT perpetual's 1e-3), so a wallet shared by several needs a unit every
one of them is a whole multiple of — the greatest common divisor of their units (1e-7 for
those two). A symbol's amounts then convert to the wallet's by an integer factor, exactly,
both ways; nothing is rounded when money moves between a symbol and the wallet.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from decimal import Decimal

from botrader.core.engine.units import MarketRules
from botrader.core.errors import UserError


def common_unit(markets: Iterable[MarketRules]) -> Decimal:
    """The largest quote amount that divides every market's cash unit."""
    units = [m.cash_unit for m in markets]
    if not units:
        raise UserError("a wallet needs at least one symbol")
    places = max(-u.normalize().as_tuple().exponent for u in units)  # type: ignore[operator]
    scale = Decimal(10) ** places
    divisor = math.gcd(*(int(u * scale) for u in units))
    return Decimal(divisor) / scale


def factor(market: MarketRules, unit: Decimal) -> int:
    """How many wallet units one of `market`'s cash units is (exact, or UserError)."""
    ratio = market.cash_unit / unit
    if ratio != ratio.to_integral_value() or ratio < 1:
        raise UserError(f"{market.symbol}'s cash unit {market.cash_unit} is not a multiple of {unit}")
    return int(ratio)
