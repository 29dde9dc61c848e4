"""How a strategy's action becomes an order on a perpetual.

A strategy that declares `can_short = True` states **targets**: the action is the position it
wants, as a fraction of the full exposure —

    +1 the full long    +0.5 half of it    0 flat    −0.5 half the full short    −1 the full short
    None: keep whatever is held.

A target repeated is not re-traded (an order only when the target changes, so equity drifting
under a held +1 does not rebalance every candle), and −1 from a long is one order through
zero: it closes the long and opens the short with what closing freed. This is what a PPO
policy's action in [−1, 1] means on a perpetual, and what `buy()` (+1), `sell()` (−1) and
`close()` (0) mean for a rule strategy.

A long-only strategy (`can_short = False`, every spot strategy) keeps spot's words on a
perpetual: +1 buys with all it can, a fraction buys that fraction of the way to the full long,
−x sells that fraction of the long, 0 / None hold — so it behaves there as on spot, with
leverage and funding added.

The full long (short) is `max_position_fraction` of equity times the bot's leverage, in lots
at the close, capped where Binance's brackets stop allowing that leverage; the trade-risk cap
bounds what an order opens. Spot sizing stays its own (`risk.size_buy/size_sell`), so spot
results do not move by a unit.
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


def size_target(
    target_ppm: int,
    pf: PerpPortfolio,
    rules: PerpRules,
    *,
    equity: int,
    mark: int,
    prices: tuple[int, int],
    fee_ppm: int,
    position_ppm: int,
    trade_ppm: int,
) -> int:
    """Signed lots that take the position to `target_ppm` of the full exposure (a shorting
    strategy's target), within what the wallet and the trade-risk cap allow; `prices`: the
    (buy, sell) fill prices after slippage."""
    if mark <= 0:
        return 0
    most = _max_lots(pf, rules, equity, mark, position_ppm)
    want = most * abs(target_ppm) // PPM * (1 if target_ppm >= 0 else -1)
    delta = want - pf.lots
    price = prices[0] if delta > 0 else prices[1]
    if delta == 0 or price <= 0:
        return 0
    closing = min(abs(delta), abs(pf.lots)) if pf.lots and (pf.lots > 0) != (delta > 0) else 0
    risk_cap = fraction_of(max(equity, 0), trade_ppm) * pf.leverage // price
    opening = min(abs(delta) - closing, risk_cap, pf.openable_after(closing, price, fee_ppm))
    lots = closing + max(opening, 0)
    return lots if delta > 0 else -lots


def _max_lots(pf: PerpPortfolio, rules: PerpRules, equity: int, mark: int, position_ppm: int) -> int:
    notional = fraction_of(max(equity, 0), position_ppm) * pf.leverage
    allowed = max((b.cap for b in rules.brackets if b.max_leverage >= pf.leverage), default=0)
    return min(notional, allowed) // mark
