"""What the engine shows a strategy at each closed candle: the candle itself and a read-only
view of the account. Both are reused objects (the hot loop allocates nothing); the account's
money figures are computed only when a strategy reads them."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from botrader.core.engine.engine import Engine
    from botrader.core.portfolio.engine import PortfolioView


class Bar:
    """The closed candle being decided on: open time (epoch ms, UTC) and OHLCV."""

    __slots__ = ("close", "high", "low", "open", "time", "volume")

    def __init__(self) -> None:
        self.time, self.open, self.high, self.low, self.close, self.volume = 0, 0.0, 0.0, 0.0, 0.0, 0.0

    def __repr__(self) -> str:
        ohlcv = f"o={self.open}, h={self.high}, l={self.low}, c={self.close}, v={self.volume}"
        return f"Bar(time={self.time}, {ohlcv})"


class Account:
    """The account as of this candle's close, in quote and base amounts (floats, for
    decisions; the engine's books are exact integers). `long` and `flat` are set by the
    engine for every candle; the rest is computed on read."""

    __slots__ = ("_engine", "long")

    def __init__(self, engine: Engine | None = None) -> None:
        self._engine = engine
        self.long = False  # holding a position worth at least the minimum notional

    @property
    def short(self) -> bool:
        """Short at least the minimum notional (perpetuals, a strategy with `can_short`)."""
        e = self._engine
        # the engine's cached minimum (a strategy may read this every candle)
        return bool(e) and -e.portfolio.lots * e.last_close_ticks >= e._min_notional

    @property
    def flat(self) -> bool:
        return not self.long and not self.short

    @property
    def side(self) -> str:
        """ "long", "short" or "flat"."""
        return "long" if self.long else "short" if self.short else "flat"

    @property
    def leverage(self) -> int:
        """The bot's leverage (1 on spot)."""
        e = self._engine
        return getattr(e.portfolio, "leverage", 1) if e else 1

    @property
    def margin(self) -> float:
        """The open position's isolated margin (perpetuals; 0 on spot)."""
        e = self._engine
        return getattr(e.portfolio, "margin", 0) * e.cash_unit if e else 0.0

    @property
    def liquidation_price(self) -> float | None:
        """Where the open position would be liquidated (perpetuals; None on spot or flat)."""
        e = self._engine
        rules = getattr(e.instrument, "rules", None) if e else None
        if e is None or rules is None or not e.portfolio.lots:
            return None
        at = rules.liquidation_price(e.portfolio.lots, e.portfolio.entry_notional, e.portfolio.margin)
        return None if at is None else at * e.tick

    @property
    def portfolio(self) -> PortfolioView | None:
        """The whole wallet, for a symbol of a portfolio bot (None for a one-symbol bot)."""
        e = self._engine
        return e.book if e else None

    @property
    def cash(self) -> float:
        e = self._engine
        return e.portfolio.cash * e.cash_unit if e else 0.0

    @property
    def position(self) -> float:
        """Base asset held (negative: short)."""
        e = self._engine
        return e.portfolio.lots * e.step if e else 0.0

    @property
    def price(self) -> float:
        """The close the account is marked at."""
        e = self._engine
        return e.last_close_ticks * e.tick if e else 0.0

    @property
    def equity(self) -> float:
        e = self._engine
        return e.portfolio.equity(e.last_close_ticks) * e.cash_unit if e else 0.0

    @property
    def avg_entry_price(self) -> float:
        """Average price paid for the open position, fees excluded (0 when flat)."""
        e = self._engine
        return e.portfolio.average_entry_ticks() * e.tick if e else 0.0

    @property
    def unrealized_pnl(self) -> float:
        """Position value at the close minus its cost basis (buy fees included)."""
        e = self._engine
        return e.portfolio.unrealized_pnl(e.last_close_ticks) * e.cash_unit if e else 0.0

    @property
    def candles_in_position(self) -> int:
        """Closes seen since the open position was entered (0 when flat)."""
        e = self._engine
        return e.exits.held if e and self.long else 0

    def __repr__(self) -> str:
        return (
            f"Account(cash={self.cash:.2f}, position={self.position}, equity={self.equity:.2f}, "
            f"avg_entry_price={self.avg_entry_price:.2f})"
        )
