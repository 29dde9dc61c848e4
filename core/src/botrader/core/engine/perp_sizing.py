"""How a strategy's action becomes an order on a perpetual: the action moves the position a
fraction of the way toward an extreme.

    +1   go to the full long;      −1   go to the full short (flat when the strategy
    +0.5 half the way there;             cannot short: `can_short = False`);
     0 / None  hold.

The full long (short) is `max_position_fraction` of equity times the bot's leverage, in lots
at the close, capped where Binance's brackets stop allowing that leverage. On spot the same
words hold with a leverage of one and no short: +1 buys with all the cash, −1 sells the
whole position — today's spot sizing, which stays its own (`risk.size_buy/size_sell`) so that
spot results do not move by a unit. −1 from a long with shorting allowed is one order through
zero: it closes the long and opens the short with what closing freed.

A PPO policy's action in [−1, 1] means the same, so a policy can hold a short by repeating −1
and flip with one +1; a rule strategy returns `self.buy()` / `self.sell()` as on spot.
"""

from __future__ import annotations

from botrader.core.engine.margin import PerpRules
from botrader.core.engine.perp_portfolio import PerpPortfolio
from botrader.core.engine.units import PPM, fraction_of


def size_perp(
    action_ppm: int,
    pf: PerpPortfolio,
    rules: PerpRules,
    *,
    equity: int,
    mark: int,
    price: int,
    fee_ppm: int,
    position_ppm: int,
    trade_ppm: int,
    can_short: bool,
) -> int:
    """Signed lots to trade at `price` (after slippage) for `action_ppm` in [−1e6, 1e6];
    the position is valued at `mark` (the close). 0: nothing to do."""
    if action_ppm == 0 or mark <= 0 or price <= 0:
        return 0
    most = _max_lots(pf, rules, equity, mark, position_ppm)
    extreme = most if action_ppm > 0 else (-most if can_short else 0)
    distance = extreme - pf.lots
    if distance == 0 or (distance > 0) != (action_ppm > 0):
        return 0
    move = abs(distance) * abs(action_ppm) // PPM
    closing = min(move, abs(pf.lots)) if pf.lots and (pf.lots > 0) != (distance > 0) else 0
    risk_cap = fraction_of(max(equity, 0), trade_ppm) * pf.leverage // price  # what opens is at risk
    opening = min(move - closing, risk_cap, pf.openable_after(closing, price, fee_ppm))
    lots = closing + max(opening, 0)
    return lots if distance > 0 else -lots


def _max_lots(pf: PerpPortfolio, rules: PerpRules, equity: int, mark: int, position_ppm: int) -> int:
    notional = fraction_of(max(equity, 0), position_ppm) * pf.leverage
    allowed = max((b.cap for b in rules.brackets if b.max_leverage >= pf.leverage), default=0)
    return min(notional, allowed) // mark
