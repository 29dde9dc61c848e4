"""Exact money arithmetic in integer units, with every rounding spelled out.

A market's filters (Binance exchangeInfo: PRICE_FILTER.tickSize, LOT_SIZE.stepSize,
NOTIONAL.minNotional) define three integer units:

- prices in **ticks** (tickSize of quote per base),
- quantities in **lots** (stepSize of base) — an order is a whole number of lots, as
  Binance's LOT_SIZE filter demands,
- cash in **cash units** of tickSize × stepSize quote, so that a fill's notional is
  exactly `lots × ticks` with no rounding at all (BTCUSDT: 0.01 × 0.00001 = 1e-7 USDT).

Rates are integers too: fees in parts per million (0.1% = 1000 ppm), slippage in
hundredths of a basis point. Rounding always goes against the trader: fees round up,
buy prices after slippage round up, sell prices round down, quantities round down.

The functions below use only `+ - * //` and comparisons, so they work unchanged on Python
ints (the event-driven engine) and on numpy int64 arrays (the vectorised RL
environment): one copy of the arithmetic for every driver.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any, TypeVar

from botrader.core.errors import UserError

PPM = 1_000_000  # fee rates are parts per million
SLIP_SCALE = 1_000_000  # slippage in 1/100 bp: 10_000 bp = 100%, times 100
IntLike = TypeVar("IntLike", int, Any)  # int or a numpy integer array


@dataclass(frozen=True, slots=True)
class MarketRules:
    """Exchange filters for one symbol; defaults are Binance spot BTCUSDT's."""

    symbol: str = "BTCUSDT"
    tick_size: Decimal = Decimal("0.01")
    step_size: Decimal = Decimal("0.00001")
    min_notional: Decimal = Decimal("5")

    def __post_init__(self) -> None:
        for name in ("tick_size", "step_size"):
            if getattr(self, name) <= 0:
                raise UserError(f"bad {name} {getattr(self, name)}: must be > 0")

    @property
    def cash_unit(self) -> Decimal:
        """Quote amount of one cash unit."""
        return self.tick_size * self.step_size

    def ticks(self, price: float) -> int:
        """A market price as whole ticks (nearest tick; exchange prices sit on the grid)."""
        return round(price * (1.0 / float(self.tick_size)))  # the engine's hot path does the same

    def cash_units(self, amount: Decimal | float | str) -> int:
        """A quote amount as whole cash units, rounded down (never invent money)."""
        return int((Decimal(str(amount)) / self.cash_unit).to_integral_value(rounding=ROUND_FLOOR))

    def to_quote(self, units: int) -> Decimal:
        return units * self.cash_unit

    def to_base(self, lots: int) -> Decimal:
        return lots * self.step_size

    def price(self, ticks: int) -> Decimal:
        return ticks * self.tick_size

    @property
    def min_notional_units(self) -> int:
        return self.cash_units(self.min_notional)

    def to_state(self) -> dict[str, str]:
        """JSON-able, exact (Decimals as strings): saved with a bot's snapshot."""
        return {
            "symbol": self.symbol,
            "tick_size": str(self.tick_size),
            "step_size": str(self.step_size),
            "min_notional": str(self.min_notional),
        }

    @classmethod
    def from_state(cls, state: dict[str, str]) -> MarketRules:
        return cls(
            state["symbol"],
            Decimal(state["tick_size"]),
            Decimal(state["step_size"]),
            Decimal(state["min_notional"]),
        )

    @classmethod
    def from_exchange_info(cls, info: dict[str, Any]) -> MarketRules:
        """From one entry of `/api/v3/exchangeInfo`'s (or `/fapi/v1/exchangeInfo`'s) `symbols`."""
        filters = {f["filterType"]: f for f in info.get("filters", [])}
        notional = filters.get("NOTIONAL") or filters.get("MIN_NOTIONAL") or {}
        return cls(
            symbol=info["symbol"],
            tick_size=Decimal(filters["PRICE_FILTER"]["tickSize"]).normalize(),
            step_size=Decimal(filters["LOT_SIZE"]["stepSize"]).normalize(),
            # spot: NOTIONAL.minNotional; USD-M: MIN_NOTIONAL.notional
            min_notional=Decimal(notional.get("minNotional", notional.get("notional", "0"))).normalize(),
        )


def fee_ppm(rate: float) -> int:
    """0.001 → 1000 ppm (rounded to the nearest ppm)."""
    return round(rate * PPM)


def slippage_units(bps: float) -> int:
    """2.5 bp → 250 (hundredths of a basis point)."""
    return round(bps * 100)


def fee_for(notional: IntLike, ppm: int) -> IntLike:
    """ceil(notional × ppm / 1e6), split so that it never overflows int64."""
    whole, rest = notional // PPM, notional % PPM
    return whole * ppm + (rest * ppm + PPM - 1) // PPM


def buy_price(ticks: IntLike, slip: int) -> IntLike:
    """Price paid after slippage, rounded up to the tick."""
    return (ticks * (SLIP_SCALE + slip) + SLIP_SCALE - 1) // SLIP_SCALE


def sell_price(ticks: IntLike, slip: int) -> IntLike:
    """Price received after slippage, rounded down to the tick."""
    return ticks * (SLIP_SCALE - slip) // SLIP_SCALE


def affordable_lots(budget: IntLike, price: IntLike, ppm: int) -> IntLike:
    """Most lots whose notional plus (rounded-up) fee fits in `budget` cash units.

    notional + ceil(fee) ≤ budget  ⇔  notional × (1e6 + ppm) ≤ budget × 1e6, because budget
    and notional are integers. Valid while budget × 1e6 fits the integer type (int64:
    budgets up to ~9e12 cash units, 900,000 USDT on BTCUSDT); Python ints never overflow.
    """
    return budget * PPM // (price * (PPM + ppm))


def release_basis(basis: IntLike, lots_sold: IntLike, lots_held: IntLike) -> IntLike:
    """The share of a position's cost basis that a sale releases, rounded down (the
    remainder stays with what is still held, so a full exit releases all of it)."""
    return basis * lots_sold // lots_held


def fraction_of(amount: IntLike, fraction_ppm: IntLike) -> IntLike:
    """floor(amount × fraction) with the fraction in ppm."""
    return amount // PPM * fraction_ppm + amount % PPM * fraction_ppm // PPM
