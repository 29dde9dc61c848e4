"""The engine: one candle at a time, strategy → risk → execution → portfolio.

`on_bar` is the single entry point for every driver (backtest, paper trader, RL
evaluation). Order of work at each candle:
1. with the `next_open` fill model, the working order (decided at the previous close) fills
   at this candle's open;
2. the open position's exits (stop-loss, trailing stop, take-profit) are checked against
   the candle's low and high (`exits`); an exit sells the whole position;
3. with the `close` fill model, the working order (TWAP/VWAP children, capped market
   orders) takes its share at this close;
4. the position's candle count and peak move; a due time stop becomes a sell order;
5. the strategy sees the candle (it always does, so its indicators stay current);
6. the risk manager marks equity and trips breakers; an emergency stop flattens;
7. a new decision becomes an order — filled at this close (`close`) or at the next open
   (`next_open`) — unless a breaker is open, the bot is paused or an order is still working;
8. equity at this close is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from botrader.core.engine.execution import ExecutionConfig, ExecutionSimulator
from botrader.core.engine.exits import Exits, ExitTracker
from botrader.core.engine.instruments import Instrument, Spot
from botrader.core.engine.orders import Fill, Order
from botrader.core.engine.risk import RiskConfig, RiskManager
from botrader.core.engine.units import MarketRules
from botrader.core.engine.view import Account, Bar
from botrader.core.errors import UserError


@dataclass(frozen=True, slots=True)
class EngineConfig:
    budget: Decimal = Decimal("10000")
    market: MarketRules = field(default_factory=MarketRules)
    risk: RiskConfig = field(default_factory=RiskConfig)
    execution: ExecutionConfig = field(default_factory=ExecutionConfig)
    exits: dict[str, Any] = field(default_factory=dict)  # overrides of the strategy's own exits
    instrument: Instrument = field(default_factory=Spot)  # spot, or a USD-M perpetual

    def __post_init__(self) -> None:
        if self.budget <= 0:
            raise UserError(f"bad budget {self.budget}: must be > 0")
        leverage, cap = getattr(self.instrument, "leverage", 1), self.risk.max_leverage
        if cap is not None and leverage > cap:
            raise UserError(f"bad leverage {leverage}: this bot's risk allows at most {cap}")
        rules = getattr(self.instrument, "rules", None)
        if rules is not None and rules.market != self.market:
            raise UserError(
                f"the instrument trades {rules.market.symbol}'s rules, not {self.market.symbol}'s"
            )


class Engine:
    def __init__(self, strategy: Any, config: EngineConfig = EngineConfig()) -> None:
        self.strategy = strategy
        self.config = config
        self.market = config.market
        self.instrument = config.instrument
        self.can_short = bool(getattr(strategy, "can_short", False))
        if self.can_short and not self.instrument.shorts:  # as Freqtrade refuses it on spot
            name = getattr(strategy, "name", type(strategy).__name__)
            raise UserError(
                f"strategy {name} can short (can_short = True): {self.instrument.name} cannot hold a short; "
                "run it on a perpetual (--market usdm-perp)"
            )
        self.portfolio = self.instrument.new_ledger(self.market.cash_units(config.budget), self.can_short)
        self.funding_events: list[tuple[int, int, int]] = []  # (time, rate 1e-8, cash): this session's
        self.risk = RiskManager(config.risk)
        self.sim = ExecutionSimulator(config.execution, self.market)
        declared = getattr(strategy, "exits", None)
        self.exit_rules = (declared if isinstance(declared, Exits) else Exits()).merged(config.exits)
        self.exits = ExitTracker(self.exit_rules)
        self.orders: list[Order] = []  # this session's; ids continue from order_base
        self.fills: list[Fill] = []  # this session's; seq continues from fill_base
        self.order_base = self.fill_base = 0
        self.touched: dict[int, Order] = {}  # orders created or changed since the last drain
        self.paused = False  # candles still mark equity and warm indicators; no new orders
        self.hold_orders = False  # a market order decided at a close waits for `fill_held`
        self.book: Any = None  # the whole portfolio, for a symbol of a portfolio bot (`Account.portfolio`)
        self.curve = True  # record this engine's equity curve (a portfolio's sleeve: the wallet's instead)
        self.times: list[int] = []
        self.equity: list[int] = []
        self.last_close_ticks = 0
        self.last_time: int | None = None
        self.emergency_requested = False
        self.target: float | None = None  # a shorting strategy's last target (perpetuals)
        self._bar = Bar()
        self.account = Account(self)
        self.tick = float(self.market.tick_size)
        self._inv_tick = 1.0 / self.tick
        self._min_notional = self.market.min_notional_units
        self.cash_unit = float(self.market.cash_unit)
        self.step = float(self.market.step_size)
        self._watch_risk = self.risk.watching
        self._vwap = config.execution.algo == "vwap"
        self._next_open = config.execution.fill == "next_open"
        self._exits_on = self.exit_rules.any
        self._bar_hook = self.instrument.bar_hook  # funding and liquidation (perpetuals)
        # a perpetual's per-candle tests, kept to two comparisons: the next funding time and the
        # prices past which the open position may be liquidated (re-derived after every fill
        # and funding payment; the instrument decides exactly once a candle crosses them)
        self.next_funding = -1
        self.liquidation_below, self.liquidation_above = float("-inf"), float("inf")
        self._marks = getattr(self.instrument, "marks", None)  # mark-price candles, when given
        self.mark_cursor = 0
        # the common case (spot, close fills, no exits) skips all of it in one test
        self.extras = self._next_open or self._exits_on or self._bar_hook
        self._strategy_decides = strategy.decide  # bound once: called for every candle

    # -- the hot path ---------------------------------------------------------------------
    def on_bar(
        self, time: int, open_: float, high: float, low: float, close: float, volume: float
    ) -> list[Fill]:
        if self.last_time is not None and time <= self.last_time:
            return []  # already processed: replays are idempotent
        fills: list[Fill] = []
        price = round(close * self._inv_tick)  # = MarketRules.ticks(close), inlined
        self._to_close(time, open_, high, low, price, volume, fills)
        self.at_close(time, open_, high, low, close, volume, price, fills)
        return fills

    def to_close(
        self, time: int, open_: float, high: float, low: float, close: float, volume: float
    ) -> list[Fill]:
        """Steps 1–4 of a candle alone (a portfolio runs every symbol's before any decides)."""
        if self.last_time is not None and time <= self.last_time:
            return []
        fills: list[Fill] = []
        self._to_close(time, open_, high, low, round(close * self._inv_tick), volume, fills)
        return fills

    def _to_close(
        self, time: int, open_: float, high: float, low: float, price: int, volume: float, fills: list[Fill]
    ) -> None:
        breakers = self.risk.state.open
        if breakers and "stale_data" in breakers:
            self.risk.clear("stale_data")  # a candle arrived: the data is fresh again
        held = self.extras and self._before_close(time, open_, high, low, volume, fills)
        if self.sim.active is not None and not self._next_open:
            self._work(self.sim.active, time, price, volume, fills)
        if held and self.portfolio.lots != 0:
            inv, pf = self._inv_tick, self.portfolio
            if self.exits.after_close(pf.entry_notional, pf.lots, round(high * inv), round(low * inv)):
                self._exit_order(time, price, "time_stop", fills)

    def at_close(
        self,
        time: int,
        open_: float,
        high: float,
        low: float,
        close: float,
        volume: float,
        price: int,
        fills: list[Fill],
    ) -> None:
        """Steps 5–8 of the candle `to_close` began (`price`: its close in ticks); its fills
        are appended to `fills`."""
        pf, sim = self.portfolio, self.sim
        bar = self._bar
        bar.time, bar.open, bar.high, bar.low, bar.close, bar.volume = time, open_, high, low, close, volume
        equity = pf.equity(price)
        self.last_close_ticks = price  # the account is marked at this close while it decides
        account = self.account
        account.long = pf.lots * price >= self._min_notional
        action = self._strategy_decides(bar, account)
        if self._watch_risk:
            self.risk.observe(time, equity, pf, self.money)
        if self.emergency_requested:
            if not self._next_open:
                self._emergency(time, price, fills)
        elif action is not None and sim.active is None and not self.risk.state.open and not self.paused:
            self._decide(action, time, price, volume, equity, fills)
        if self._vwap:
            sim.note_volume(volume)
        self.last_time = time
        if self.curve:
            self.times.append(time)
            self.equity.append(pf.equity(price))

    def _before_close(
        self, time: int, open_: float, high: float, low: float, volume: float, fills: list[Fill]
    ) -> bool:
        """Steps 1 and 2: a perpetual's funding, the `next_open` fill, then a perpetual's
        liquidation and the exits of a position held since before this close. Returns whether
        one is held (its candle count moves at the close)."""
        inv = self._inv_tick
        if self._bar_hook:  # a perpetual (spot's exits and next_open fills skip all of this)
            m_open = open_  # the mark: the candle's own prices, or …
            m_high = high
            m_low = low
            marks = self._marks
            if marks is not None:
                i, self.mark_cursor = marks.find(time, self.mark_cursor)
                if i >= 0:  # … the mark-price candle of the same minute
                    m_open, m_high, m_low = marks.opens[i], marks.highs[i], marks.lows[i]
            if time >= self.next_funding:
                self.instrument.before_bar(self, time, round(m_open * inv))
                self.instrument.track_liquidation(self)
        if self._next_open:
            opened = round(open_ * inv)
            if self.emergency_requested:
                self._emergency(time, opened, fills)
            elif self.sim.active is not None:
                self._work(self.sim.active, time, opened, volume, fills)
        if self._bar_hook and (m_low <= self.liquidation_below or m_high >= self.liquidation_above):
            trade = (round(open_ * inv), round(high * inv), round(low * inv))
            mark = (round(m_open * inv), round(m_high * inv), round(m_low * inv))
            ended = self.instrument.intrabar(self, time, trade, mark)
            if ended is not None:
                reason, at = ended
                if reason == "liquidation":
                    self._liquidated(*self.instrument.liquidate(self, time, at), fills)
                else:
                    self._flatten(time, at, reason, fills)
                return False
        held = self._exits_on and self.portfolio.lots != 0
        if held:
            self._check_exits(time, open_, high, low, fills)
        return held

    def _work(self, order: Order, time: int, price: int, volume: float, fills: list[Fill]) -> None:
        self.touched[order.id] = order
        before = self.portfolio.lots
        fill = self.sim.settle(order, self.portfolio, time, price, volume, self.fill_base + len(self.fills))
        if fill is not None:
            self._record(fill, fills, before, price)
        if order.status != "open":
            self.sim.active = None

    def _record(self, fill: Fill, fills: list[Fill], before: int, market_price: int) -> None:
        self.fills.append(fill)
        fills.append(fill)
        if self._bar_hook:
            self.instrument.track_liquidation(self)
        after = self.portfolio.lots
        if (before == 0 and after != 0) or before * after < 0:
            self.exits.reset(market_price)  # a new position (or a flip): its exits start here

    def _check_exits(self, time: int, open_: float, high: float, low: float, fills: list[Fill]) -> None:
        inv, pf = self._inv_tick, self.portfolio
        hit = self.exits.intrabar(
            pf.entry_notional, pf.lots, round(open_ * inv), round(high * inv), round(low * inv)
        )
        if hit is not None:
            reason, trigger = hit
            self._flatten(time, trigger, reason, fills)

    def _closing(self) -> tuple[str, int, float]:
        """The side, lots and action that close the whole position (a short is bought back)."""
        lots = self.portfolio.lots
        return ("sell", lots, -1.0) if lots > 0 else ("buy", -lots, 1.0)

    def _exit_order(self, time: int, price: int, reason: str, fills: list[Fill]) -> None:
        """An exit that goes through the normal order path (the fill model applies)."""
        self.target = None  # the strategy's target no longer holds: saying it again re-enters
        if self.sim.active is not None:
            self._cancel_active()
        side, lots, action = self._closing()
        if lots * self.sim.fill_price(side, price) < self._min_notional:
            return
        order = Order(self._next_order_id(), time, side, lots, "market", 1, action, reason)  # type: ignore[arg-type]
        self._submit(order, time, price, float("inf"), fills)

    def _flatten(self, time: int, price: int, reason: str, fills: list[Fill]) -> None:
        """Close the whole position now at `price` (before slippage), whatever the volume."""
        self.target = None
        if self.sim.active is not None:
            self._cancel_active()
        side, lots, action = self._closing()
        if not lots or lots * self.sim.fill_price(side, price) < self._min_notional:
            return
        order = Order(self._next_order_id(), time, side, lots, "market", 1, action, reason)  # type: ignore[arg-type]
        self.orders.append(order)
        self.touched[order.id] = order
        before = self.portfolio.lots
        fill = self.sim.settle(
            order, self.portfolio, time, price, float("inf"), self.fill_base + len(self.fills)
        )
        if fill is not None:
            self._record(fill, fills, before, price)

    def close_position(self, reason: str) -> list[Fill]:
        """Close the whole position at the last close, now (a portfolio's symbol that left
        its universe: `universe_exit`)."""
        fills: list[Fill] = []
        if self.last_time is not None and self.portfolio.lots:
            self._flatten(self.last_time, self.last_close_ticks, reason, fills)
        return fills

    def _liquidated(self, order: Order, fill: Fill, fills: list[Fill]) -> None:
        """The instrument liquidated the position: record it as an order and a fill (reason
        `liquidation`); what was working is cancelled."""
        self.target = None
        if self.sim.active is not None:
            self._cancel_active()
        self.orders.append(order)
        self.touched[order.id] = order
        self.fills.append(fill)
        fills.append(fill)
        self.instrument.track_liquidation(self)

    def next_fill_seq(self) -> int:
        return self.fill_base + len(self.fills)

    def _cancel_active(self) -> None:
        active = self.sim.active
        if active is not None:
            active.status = "partially_filled" if active.filled_lots else "cancelled"
            self.touched[active.id] = active
            self.sim.active = None

    def _decide(
        self, action: float, time: int, price: int, volume: float, equity: int, fills: list[Fill]
    ) -> None:
        action = max(-1.0, min(1.0, action))
        signed = self.instrument.size(self, action, price, equity)
        side = "buy" if signed > 0 else "sell"
        lots = abs(signed)
        if lots == 0 or lots * self.sim.fill_price(side, price) < self._min_notional:
            return  # nothing worth an order (or below the exchange's minimum notional)
        self._submit(
            Order(
                self._next_order_id(),
                time,
                side,  # type: ignore[arg-type]
                lots,
                self.config.execution.algo,
                self.config.execution.slices,
                action,
                "signal",
                self.strategy.explain(),
            ),
            time,
            price,
            volume,
            fills,
        )

    def act(self, action: float | None) -> list[Fill]:
        """Step 7 at the last close processed, for a driver that chooses only after seeing the
        candle (the RL environment: `on_bar` with a strategy that returned None, then this).
        The same guards and sizing as inside `on_bar`, so the accounts are identical to a
        strategy's that returned `action` there (market orders filled at the close)."""
        fills: list[Fill] = []
        if self.last_time is None or action is None or self.emergency_requested:
            return fills
        if self.sim.active is None and not self.risk.state.open and not self.paused:
            price = self.last_close_ticks
            equity = self.portfolio.equity(price)
            self._decide(action, self.last_time, price, self._bar.volume, equity, fills)
        return fills

    def next_order_id(self) -> int:
        return self._next_order_id()

    def _next_order_id(self) -> int:
        return self.order_base + len(self.orders) + 1

    def _submit(self, order: Order, time: int, price: int, volume: float, fills: list[Fill]) -> None:
        self.orders.append(order)
        self.touched[order.id] = order
        self.sim.active = order
        if order.algo == "market" and not self._next_open and not self.hold_orders:
            self._work(order, time, price, volume, fills)

    def fill_held(self) -> list[Fill]:
        """Fill the market order held at the last close (`hold_orders`): a portfolio sizes
        every symbol's order against one snapshot, then fills them, sells first."""
        fills: list[Fill] = []
        order = self.sim.active
        if order is not None and order.algo == "market" and order.slices_done == 0:
            self._work(order, self.last_time or 0, self.last_close_ticks, self._bar.volume, fills)
        return fills

    def reject_held(self) -> Order | None:
        """Reject the order held at the last close (a portfolio rule refused it; the
        portfolio records why). A shorting strategy's target was not reached: saying it again
        orders again (once a slot or room frees), as after an exit."""
        order = self.sim.active
        if order is None:
            return None
        self.target = None
        order.status = "rejected"
        self.touched[order.id] = order
        self.sim.active = None
        return order

    def _emergency(self, time: int, price: int, fills: list[Fill]) -> None:
        """Flatten now, at market, and halt until the stop is cleared."""
        self.emergency_requested = False
        self.risk.trip("emergency_stop", "manual emergency stop: position flattened, trading halted")
        self._flatten(time, price, "emergency_stop", fills)

    def warm_up(self, time: int, open_: float, high: float, low: float, close: float, volume: float) -> None:
        """Show the strategy a candle from before the trading period (indicators only)."""
        bar = self._bar
        bar.time, bar.open, bar.high, bar.low, bar.close, bar.volume = time, open_, high, low, close, volume
        self.strategy.observe(bar)
        if self._vwap:
            self.sim.note_volume(volume)

    # -- control ----------------------------------------------------------------------------
    def emergency_stop(self) -> None:
        """Flatten at the next fill (this model's: the next close, or the next open) and halt."""
        self.emergency_requested = True

    def clear_emergency_stop(self) -> None:
        self.emergency_requested = False
        self.risk.clear("emergency_stop")

    def check_stale(self, now_ms: int, interval_ms: int) -> bool:
        """Paper trading's timer: trip `stale_data` when the next candle is overdue."""
        if self.last_time is None:
            return False
        return self.risk.check_gap(self.last_time + interval_ms, now_ms)

    def drain(self) -> tuple[list[Fill], list[Order]]:
        """Hand over the fills and touched orders since the last drain, and forget them (a
        long-running trader persists and drops them; ids and sequence numbers continue)."""
        fills, touched = self.fills, list(self.touched.values())
        self.fill_base += len(fills)
        self.order_base += len(self.orders)
        self.fills, self.orders, self.touched = [], [], {}
        self.times.clear()
        self.equity.clear()
        return fills, touched

    # -- reading ----------------------------------------------------------------------------
    def money(self, units: int) -> str:
        return f"{self.market.to_quote(units):,.2f}"

    def equity_quote(self) -> Decimal:
        return self.market.to_quote(self.portfolio.equity(self.last_close_ticks))

    def snapshot(self) -> dict[str, Any]:
        """Everything needed to resume exactly where this engine stands (JSON-able)."""
        active = self.sim.active
        return {
            "portfolio": self.portfolio.state(),
            "risk": self.risk.snapshot(),
            "strategy": self.strategy.state(),
            "exits": self.exits.state(),
            "last_time": self.last_time,
            "last_close_ticks": self.last_close_ticks,
            "orders": self.order_base + len(self.orders),
            "fills": self.fill_base + len(self.fills),
            "active": active.to_dict() if active else None,
            "recent_volume": list(self.sim.recent_volume),
            "emergency_requested": self.emergency_requested,
            "paused": self.paused,
            "target": self.target,
        }

    def restore(self, snap: dict[str, Any]) -> None:
        self.portfolio = self.instrument.ledger_from_state(snap["portfolio"])
        if self._bar_hook:
            self.instrument.track_liquidation(self)
        self.risk.restore(snap["risk"])
        self.strategy.load(snap["strategy"])
        if "exits" in snap:
            self.exits.load(snap["exits"])
        self.last_time, self.last_close_ticks = snap["last_time"], snap["last_close_ticks"]
        self.order_base, self.fill_base = snap["orders"], snap["fills"]
        self.orders, self.fills = [], []
        self.sim.active = Order(**snap["active"]) if snap["active"] else None
        self.sim.recent_volume.extend(snap["recent_volume"])
        self.emergency_requested = snap["emergency_requested"]
        self.paused = snap.get("paused", False)
        self.target = snap.get("target")
