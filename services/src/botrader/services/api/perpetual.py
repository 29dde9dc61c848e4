"""A perpetual position as the API shows it (`PerpetualPosition`): one bot's, or one pair's of
a perpetual portfolio — the same fields from the instrument's own `PerpPosition`."""

from __future__ import annotations

from typing import Any

from botrader.core.engine.units import MarketRules


def perpetual_of(market: MarketRules, p: Any, mark: int) -> dict[str, Any]:
    """`p`: the instrument's `PerpPosition` at `mark` (ticks)."""
    at = None if p.liquidation_price is None else float(market.price(p.liquidation_price))
    price = float(market.price(mark))
    distance = None if at is None or not price else (price - at) / price * (1 if p.side == "long" else -1)
    return {
        "side": p.side,
        "leverage": p.leverage,
        "margin": float(market.to_quote(p.margin)),
        "liquidation_price": at,
        "liquidation_distance": distance,
        "margin_ratio": p.margin_ratio,
        "funding": float(market.to_quote(p.funding)),
    }
