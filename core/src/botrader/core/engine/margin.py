"""USD-M perpetual margin in integer units: Binance's maintenance brackets, initial margin,
funding payments, the isolated liquidation price and the liquidation clearance fee.

Units are the spot engine's (`units`): prices in ticks, quantities in lots, money in cash
units of tick × step, so a notional is `lots × ticks` exactly. Positions are signed lots
(long > 0, short < 0); a position's entry notional is `|lots| × average entry`, always
positive. Rates are integers: maintenance ratios and the liquidation fee in ppm, funding
rates in 1e-8 (Binance publishes eight decimals).

Binance's rules, as its USD-M documentation states them:
- maintenance margin at notional N: `N × maintMarginRatio − cum` of the bracket whose
  `notionalFloor < N ≤ notionalCap` (`cum` makes it continuous across brackets);
- an isolated position is liquidated when its margin balance (isolated wallet + unrealised
  PnL at the mark price) is at or below its maintenance margin;
- funding at each funding time: `position × mark price × funding rate`, paid by longs to
  shorts when the rate is positive, by shorts to longs when it is negative;
- the liquidation clearance fee: `notional × liquidationFee`, out of what the position's
  margin still holds (an isolated position never loses more than its margin).

Rounding is against the trader: margins round up, funding paid rounds up and funding
received down, the fee rounds up. Liquidation is decided by the exact inequality, never by
a rounded price; `liquidation_price` is the first tick at which that inequality holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from botrader.core.engine.units import PPM, MarketRules, fee_for
from botrader.core.errors import UserError

RATE_SCALE = 100_000_000  # funding rates in 1e-8


@dataclass(frozen=True, slots=True)
class Bracket:
    """One maintenance bracket, money in cash units."""

    floor: int  # notionalFloor: the bracket holds notionals above it
    cap: int  # notionalCap: … up to and including it
    mmr_ppm: int  # maintMarginRatio
    cum: int  # maintenance amount
    max_leverage: int  # initialLeverage: the most leverage a position this large may use


@dataclass(frozen=True, slots=True)
class PerpRules:
    """One USD-M symbol's margin rules (its filters are `market`'s)."""

    market: MarketRules
    brackets: tuple[Bracket, ...]
    liquidation_fee_ppm: int
    funding_interval_ms: int = 8 * 3_600_000

    def __post_init__(self) -> None:
        if not self.brackets:
            raise UserError(f"{self.market.symbol}: no maintenance brackets")

    def bracket(self, notional: int) -> Bracket:
        """The bracket of a position this large (past the last cap: the last bracket)."""
        for bracket in self.brackets:
            if notional <= bracket.cap:
                return bracket
        return self.brackets[-1]

    def maintenance_margin(self, notional: int) -> int:
        b = self.bracket(notional)
        return max(0, fee_for(notional, b.mmr_ppm) - b.cum)

    def max_leverage(self, notional: int) -> int:
        return self.bracket(notional).max_leverage

    def liquidation_fee(self, notional: int) -> int:
        return fee_for(notional, self.liquidation_fee_ppm)

    def is_liquidated(self, lots: int, entry_notional: int, margin: int, mark: int) -> bool:
        """Margin balance at `mark` at or below the maintenance margin, compared exactly
        (×1e6 on both sides, no rounded margin in between)."""
        if lots == 0:
            return False
        notional = abs(lots) * mark
        b = self.bracket(notional)
        balance = margin + unrealized_pnl(lots, entry_notional, mark)
        return balance * PPM <= notional * b.mmr_ppm - b.cum * PPM

    def liquidation_price(self, lots: int, entry_notional: int, margin: int) -> int | None:
        """The first tick at which the position is liquidated (a long: the highest tick at
        or below the exact price; a short: the lowest at or above it), or None when no
        positive price liquidates it (a long whose margin covers its whole notional).

        Binance's isolated formula, per bracket: P = (s·EN − WB − cum) / (Q·(s − mmr)) with
        s = ±1, Q = |lots|; the bracket is the one the notional at P falls in."""
        if lots == 0:
            return None
        side, qty = (1 if lots > 0 else -1), abs(lots)
        for b in self.brackets:
            # exact = num / den with den > 0 (integers only: this runs at every candle a
            # position is open when its inputs changed)
            num = (side * entry_notional - margin - b.cum) * PPM * side
            den = qty * (PPM - side * b.mmr_ppm)
            if num <= 0:
                return None  # a long whose margin covers its notional (larger cum: lower still)
            if (b.floor * den < qty * num <= b.cap * den) or b is self.brackets[-1]:
                return num // den if side > 0 else -(-num // den)
        return None  # unreachable: the last bracket always answers

    def initial_margin(self, notional: int, leverage: int) -> int:
        """ceil(notional / leverage): what opening this much at this leverage locks up."""
        if leverage < 1:
            raise UserError(f"bad leverage {leverage}: must be >= 1")
        return -(-notional // leverage)

    @classmethod
    def from_binance(
        cls, market: MarketRules, symbol_info: dict[str, Any], brackets: list[dict[str, Any]]
    ) -> PerpRules:
        """From an `/fapi/v1/exchangeInfo` symbol entry and its `/fapi/v1/leverageBracket`
        brackets (Binance's own shapes, as the bundled snapshot keeps them)."""
        units = market.cash_units
        return cls(
            market=market,
            brackets=tuple(
                Bracket(
                    floor=units(Decimal(str(b["notionalFloor"]))),
                    cap=units(Decimal(str(b["notionalCap"]))),
                    mmr_ppm=round(Decimal(str(b["maintMarginRatio"])) * PPM),
                    cum=_cash_units_up(market, Decimal(str(b["cum"]))),
                    max_leverage=int(b["initialLeverage"]),
                )
                for b in sorted(brackets, key=lambda b: int(b["bracket"]))
            ),
            liquidation_fee_ppm=round(Decimal(str(symbol_info["liquidationFee"])) * PPM),
            funding_interval_ms=int(symbol_info.get("fundingIntervalHours", 8)) * 3_600_000,
        )


def _cash_units_up(market: MarketRules, amount: Decimal) -> int:
    """cum exactly when it sits on the cash-unit grid (it does for every bracket seen)."""
    units = amount / market.cash_unit
    whole = int(units)
    return whole if whole == units else whole + 1


def unrealized_pnl(lots: int, entry_notional: int, mark: int) -> int:
    """Signed lots at `mark` against what they were opened for: a long gains as the price
    rises, a short as it falls."""
    if lots >= 0:
        return lots * mark - entry_notional
    return entry_notional + lots * mark


def funding_payment(lots: int, mark: int, rate_e8: int) -> int:
    """The cash a position receives (> 0) or pays (< 0) at one funding time:
    −lots × mark × rate, floored (what is paid rounds up, what is received rounds down).
    Split so that the product never needs more than int64 on array drivers."""
    notional = -lots * mark
    whole, rest = divmod(notional, RATE_SCALE)
    return whole * rate_e8 + rest * rate_e8 // RATE_SCALE


def funding_rate_e8(rate: Decimal | str | float) -> int:
    """A published funding rate (e.g. "0.00010000") in 1e-8, exactly when it has at most eight
    decimals; UserError otherwise (it would be rounded silently)."""
    scaled = Decimal(str(rate)) * RATE_SCALE
    if scaled != scaled.to_integral_value():
        raise UserError(f"bad funding rate {rate}: more than 8 decimals")
    return int(scaled)
