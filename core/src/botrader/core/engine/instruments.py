"""What an instrument changes in the engine, as one small protocol: its wallet, how an
action becomes lots, and what happens to an open position inside a candle before anything
else (funding, liquidation). The engine's loop, fills, exits, risk and records are the same
for every instrument; a new kind of market is a new `Instrument`, never a branch in the loop.

- `Spot` (the default): today's long-only accounting, unchanged to the unit.
- `UsdmPerp`: a Binance USD-M perpetual with one isolated, one-way position (`PerpPortfolio`),
  leverage, funding (`funding.Funding`: a file's schedule or one rate) and liquidation at the mark price.

Per candle, for a perpetual (the engine's own order of work around it is in `engine`):
1. funding: each funding time in (previous candle, this candle] is paid or received by the
   position held before it, at this candle's open as the mark;
2. liquidation: when the candle's adverse extreme (a long's low, a short's high) reaches the
   liquidation price, the position is liquidated there — or at the open when it opened past
   it — unless a stop the exits hold is nearer and triggers first. The candle's own prices
   stand in for the mark price (the mark tracks the last price closely; a mark-price file,
   when given, is the subject of the next step).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from botrader.core.engine.funding import Funding
from botrader.core.engine.ledger import Ledger
from botrader.core.engine.margin import PerpRules
from botrader.core.engine.marks import MarkPrices, StoredMarks
from botrader.core.engine.orders import Fill, Order
from botrader.core.engine.perp_portfolio import PerpPortfolio
from botrader.core.engine.perp_sizing import size_perp, size_target
from botrader.core.engine.portfolio import Portfolio
from botrader.core.engine.risk import ppm_of
from botrader.core.engine.units import PPM
from botrader.core.errors import UserError

if TYPE_CHECKING:
    from botrader.core.engine.engine import Engine


@dataclass(frozen=True, slots=True)
class PerpPosition:
    """What a perpetual position stands at, for people (the dashboard, metrics): money in cash
    units, prices in ticks."""

    side: str  # long, short or flat
    leverage: int
    margin: int  # the position's isolated margin
    liquidation_price: int | None
    margin_ratio: float  # maintenance margin / margin balance, as Binance shows it (1: liquidated)
    funding: int  # received (> 0) or paid (< 0), all positions so far


class Instrument(Protocol):
    name: str
    bar_hook: bool  # whether `before_bar`/`intrabar` run (the spot loop skips them in one test)
    baselines: tuple[str, ...]  # rule strategies a card adds for this market (beyond spot's)
    shorts: bool  # whether a position may go below zero (a `can_short` strategy needs it)
    leverage: int  # notional per unit of cash an opening takes (spot: 1)

    def new_ledger(self, cash: int, can_short: bool) -> Ledger: ...

    def ledger_from_state(self, state: dict[str, Any]) -> Ledger: ...

    def size(self, engine: Engine, action: float, mark: int, equity: int) -> int:
        """Signed lots to trade for the strategy's action (0: nothing)."""
        ...

    def before_bar(self, engine: Engine, time: int, open_: int) -> None:
        """At a funding time (`engine.next_funding`); sets the next one."""
        ...

    def track_liquidation(self, engine: Engine) -> None:
        """Re-derive `engine.liquidation_below/above` after the position or margin changed."""
        ...

    def intrabar(
        self, engine: Engine, time: int, trade: tuple[int, int, int], mark: tuple[int, int, int]
    ) -> tuple[str, int] | None:
        """(reason, price) when the open position ends inside this candle: `liquidation`
        (`liquidate` books it) or a close the engine sends (e.g. `liquidation_guard`).
        `trade`, `mark`: the candle's (open, high, low) in ticks, and the mark's."""
        ...

    def liquidate(self, engine: Engine, time: int, price: int) -> tuple[Order, Fill]: ...

    def position(self, ledger: Ledger, mark: int) -> PerpPosition | None:
        """Margin, liquidation and funding figures (None: the market has none)."""
        ...


@dataclass(frozen=True, slots=True)
class Spot:
    name: str = "spot"
    leverage: int = 1
    bar_hook: bool = False
    baselines: tuple[str, ...] = ()
    shorts: bool = False

    def new_ledger(self, cash: int, can_short: bool) -> Portfolio:
        return Portfolio(cash=cash)

    def ledger_from_state(self, state: dict[str, Any]) -> Portfolio:
        return Portfolio.from_state(state)

    def size(self, engine: Engine, action: float, mark: int, equity: int) -> int:
        if action > 0:
            fill_price = engine.sim.fill_price("buy", mark)
            return engine.risk.size_buy(
                ppm_of(action), engine.portfolio, equity, mark, fill_price, engine.sim.fee_ppm
            )
        return -engine.risk.size_sell(ppm_of(-action), engine.portfolio) if action < 0 else 0

    def before_bar(self, engine: Engine, time: int, open_: int) -> None:
        engine.next_funding = 2**62

    def track_liquidation(self, engine: Engine) -> None:
        return None

    def intrabar(
        self, engine: Engine, time: int, trade: tuple[int, int, int], mark: tuple[int, int, int]
    ) -> tuple[str, int] | None:
        return None

    def liquidate(self, engine: Engine, time: int, price: int) -> tuple[Order, Fill]:
        raise NotImplementedError("spot positions are never liquidated")

    def position(self, ledger: Ledger, mark: int) -> PerpPosition | None:
        return None


@dataclass(frozen=True, slots=True)
class UsdmPerp:
    rules: PerpRules
    leverage: int
    funding: Funding  # a schedule from files, or one constant rate
    marks: MarkPrices | StoredMarks | None = None  # mark-price candles; None: the candles' own prices
    name: str = "usdm-perp"
    bar_hook: bool = True
    baselines: tuple[str, ...] = ("rsi_long_short",)  # a short-capable rule beside the long-only ones
    shorts: bool = True

    def __post_init__(self) -> None:
        most = max(b.max_leverage for b in self.rules.brackets)
        if not 1 <= self.leverage <= most:
            raise UserError(f"bad leverage {self.leverage}: {self.rules.market.symbol} allows 1 to {most}")

    def new_ledger(self, cash: int, can_short: bool) -> PerpPortfolio:
        return PerpPortfolio(cash=cash, leverage=self.leverage, can_short=can_short)

    def ledger_from_state(self, state: dict[str, Any]) -> PerpPortfolio:
        return PerpPortfolio.from_state(state)

    def size(self, engine: Engine, action: float, mark: int, equity: int) -> int:
        pf = engine.portfolio
        assert isinstance(pf, PerpPortfolio)
        if pf.can_short:  # a target: re-traded only when it changes (`perp_sizing`)
            if action == engine.target:
                return 0
            engine.target = action
            return size_target(
                ppm_of(action),
                pf,
                self.rules,
                equity=equity,
                mark=mark,
                prices=(engine.sim.fill_price("buy", mark), engine.sim.fill_price("sell", mark)),
                fee_ppm=engine.sim.fee_ppm,
                position_ppm=engine.risk.position_ppm,
                trade_ppm=engine.risk.trade_ppm,
            )
        if action == 0:
            return 0
        return size_perp(
            ppm_of(action),
            pf,
            self.rules,
            equity=equity,
            mark=mark,
            price=engine.sim.fill_price("buy" if action > 0 else "sell", mark),
            fee_ppm=engine.sim.fee_ppm,
            position_ppm=engine.risk.position_ppm,
            trade_ppm=engine.risk.trade_ppm,
            can_short=pf.can_short,
        )

    def before_bar(self, engine: Engine, time: int, open_: int) -> None:
        pf = engine.portfolio
        assert isinstance(pf, PerpPortfolio)
        after = engine.last_time if engine.last_time is not None else time - 1
        for at, rate in self.funding.between(after, time):
            if pf.lots:  # a flat wallet has nothing to pay or receive
                engine.funding_events.append((at, rate, pf.apply_funding(open_, rate)))
        engine.next_funding = self.funding.next_after(time)

    def track_liquidation(self, engine: Engine) -> None:
        """A candle whose low (a long) or high (a short) crosses these floats is looked at
        exactly; one tick of slack keeps float rounding from ever missing one."""
        pf = engine.portfolio
        assert isinstance(pf, PerpPortfolio)
        at = self.rules.liquidation_price(pf.lots, pf.entry_notional, pf.margin) if pf.lots else None
        below, above = float("-inf"), float("inf")
        if at is not None:
            long = pf.lots > 0
            edge = self.guard_level(engine, at, long) or at
            if long:
                below = (edge + 1) * engine.tick
            else:
                above = (edge - 1) * engine.tick
        engine.liquidation_below, engine.liquidation_above = below, above

    def guard_level(self, engine: Engine, at: int, long: bool) -> int | None:
        """Where `risk.liquidation_buffer` closes a position ahead of its liquidation price
        (rounded toward the entry: it acts earlier, never later)."""
        buffer = engine.risk.config.liquidation_buffer
        if buffer is None:
            return None
        ppm = ppm_of(buffer)
        return -(-at * (PPM + ppm) // PPM) if long else at * (PPM - ppm) // PPM

    def intrabar(
        self, engine: Engine, time: int, trade: tuple[int, int, int], mark: tuple[int, int, int]
    ) -> tuple[str, int] | None:
        """What ends the position first as the candle moves against it from the open: a stop
        the exits hold (on the last price), the liquidation guard or the liquidation itself (on
        the mark) — the nearest to the open (a long's highest level, a short's lowest); a
        candle whose mark opened past the liquidation price is liquidated at that open."""
        open_, high, low = trade
        pf = engine.portfolio
        assert isinstance(pf, PerpPortfolio)
        at = self.rules.liquidation_price(pf.lots, pf.entry_notional, pf.margin) if pf.lots else None
        if at is None:
            return None
        long = pf.lots > 0
        m_open, m_high, m_low = mark
        if m_open <= at if long else m_open >= at:
            return "liquidation", m_open
        worst = m_low if long else m_high
        levels = [("liquidation", at)]
        guard = self.guard_level(engine, at, long)
        if guard is not None:
            levels.append(("liquidation_guard", guard))
        reached = [(r, p) for r, p in levels if (worst <= p if long else worst >= p)]
        if not reached:
            return None
        first = max(reached, key=lambda rp: rp[1]) if long else min(reached, key=lambda rp: rp[1])
        if engine.exit_rules.any:
            hit = engine.exits.intrabar(pf.entry_notional, pf.lots, open_, high, low)
            if (
                hit is not None
                and hit[0] != "take_profit"
                and (hit[1] > first[1] if long else hit[1] < first[1])
            ):
                return None  # a stop is nearer: the exits close the position first
        reason, level = first
        return reason, (min(m_open, level) if long else max(m_open, level))

    def liquidate(self, engine: Engine, time: int, price: int) -> tuple[Order, Fill]:
        """The liquidation's order and fill: the wallet's own books (`PerpPortfolio.liquidate`)."""
        pf = engine.portfolio
        assert isinstance(pf, PerpPortfolio)
        side = "sell" if pf.lots > 0 else "buy"
        lots = abs(pf.lots)
        pnl, fee = pf.liquidate(price, self.rules)
        order = Order(engine.next_order_id(), time, side, lots, "market", 1, 0.0, "liquidation")
        order.status, order.filled_lots, order.slices_done = "filled", lots, 1
        return order, Fill(order.id, engine.next_fill_seq(), time, side, lots, price, fee, pnl, "liquidation")

    def position(self, ledger: Ledger, mark: int) -> PerpPosition | None:
        assert isinstance(ledger, PerpPortfolio)
        lots = ledger.lots
        at = self.rules.liquidation_price(lots, ledger.entry_notional, ledger.margin) if lots else None
        balance = ledger.margin + ledger.unrealized_pnl(mark)
        maintenance = self.rules.maintenance_margin(abs(lots) * mark)
        ratio = 0.0 if not lots else (maintenance / balance if balance > 0 else 1.0)
        side = "long" if lots > 0 else "short" if lots < 0 else "flat"
        return PerpPosition(side, ledger.leverage, ledger.margin, at, ratio, ledger.funding)
