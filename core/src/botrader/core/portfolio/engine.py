"""A portfolio: one `Engine` per symbol (a sleeve), one wallet, one closed minute at a time.

Every symbol keeps its own engine — its strategy instance, indicators, exits, per-symbol risk,
execution and ledger (position, cost basis, realised PnL) — so the arithmetic of fees,
slippage, funding and PnL is the single engine's, to the unit. Only cash is pooled: the
wallet holds it in the common unit of all the symbols (`wallet.common_unit`), and a sleeve's
ledger shows, for the length of one call, the cash that call may use; whatever the call
spent or received moves back into the wallet, times the sleeve's exact factor.

The order of work in one minute (symbols in alphabetical order within each phase; a symbol
without a candle this minute is skipped and keeps its last close as its mark):
1. **to the close**: every present symbol's exits, liquidation, funding and working
   TWAP/VWAP children (engine steps 1–4), against the whole wallet;
2. **snapshot**: the wallet's cash and every position marked at this minute's closes
   (`equity`); a position's stake is `stake.of(symbol, equity)`;
3. **decide**: every present symbol's strategy decides at its close (engine steps 5–8); a
   market order is sized against the same snapshot — its symbol sees `min(cash, stake −
   its position's value)` — and held, not filled;
4. **apply**: positions of symbols that left the universe close (`onExit: close`, reason
   `universe_exit`); then held orders that reduce a position fill; then those that open or
   add, each capped by the cash left and the gross-exposure room (|notional|; an opening takes
   notional ÷ leverage of cash), and refused — recorded with the reason — when the symbol is
   not in the universe (`universe`), would be one open position too many
   (`max_open_positions`) or finds no gross-exposure room left (`max_gross_exposure`). A sale
   frees its slot for this minute's buys, but its cash funds the next minute's: every order
   was sized on the snapshot, before it;
5. **mark**: the portfolio's equity at this minute's closes; its drawdown breaker
   (`portfolio_drawdown`) halts new orders in every symbol while open (exits still work).

**A universe's sleeping pairs.** With `wakes` (a universe bot's), a pair neither picked nor
holding a position or a working order sleeps: it is not stepped, as if it had no candles. A pair
picked again wakes at the refresh with a fresh strategy warmed on its last candles before it
(`Wakes.history`, as many as the strategy's warm-up) — all that a live bot has of a pair whose
collector starts at the pick, so a backtest and a paper run agree, and a paper trader need
collect only the pairs picked and held. A pair that leaves while holding sleeps once flat.

**The cross-sectional hook.** A strategy whose class defines `on_minute(self, symbol, bars)` sees
every symbol's closed candle of the minute at once — `bars` maps each present symbol to its `Bar`,
`symbol` is the instance's own —
between steps 2 and 3, before any symbol decides: to rank, rotate or pick the strongest. Each
symbol's instance gets the same bars and keeps what it works out in its own attributes (saved
with its state like any other), which its `on_candle` reads a moment later.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from botrader.core.engine.engine import Engine
from botrader.core.engine.orders import Fill, Order
from botrader.core.engine.risk import RiskConfig, RiskManager, ppm_of
from botrader.core.engine.units import fraction_of
from botrader.core.engine.view import Bar
from botrader.core.errors import UserError
from botrader.core.portfolio.config import PortfolioConfig
from botrader.core.portfolio.universe import Schedule
from botrader.core.portfolio.wallet import common_unit, factor

Candle = tuple[float, float, float, float, float]  # open, high, low, close, volume
Timed = tuple[int, float, float, float, float, float]  # open time, then a Candle


@dataclass(frozen=True, slots=True)
class Wakes:
    """How a universe's sleeping pair wakes: `history(symbol, time, n)`, its last `n` candles
    opening before `time` (oldest first), and `fresh(symbol)`, a new strategy whose state it
    starts from."""

    history: Callable[[str, int, int], Sequence[Timed]]
    fresh: Callable[[str], Any]


DRAWDOWN = "portfolio_drawdown"
MIRRORED = {"max_drawdown": DRAWDOWN, "daily_loss": "daily_loss"}  # the portfolio's → each symbol's


class Sleeve:
    """One symbol's engine inside the portfolio; `factor` wallet units per cash unit of its own."""

    __slots__ = (
        "at_close", "busy", "close", "engine", "factor", "inv_tick", "leverage", "min_notional", "sim",
        "symbol", "worth",
    )  # fmt: skip

    def __init__(self, symbol: str, engine: Engine, factor: int) -> None:
        self.symbol, self.engine, self.factor = symbol, engine, factor
        self.inv_tick = 1.0 / float(engine.market.tick_size)
        self.min_notional = engine.market.min_notional_units
        self.leverage = engine.instrument.leverage  # notional per unit of cash an opening takes
        self.close = engine.last_close_ticks  # its mark: this minute's close, or its last one
        self.worth = 0  # the position's value at the snapshot (wallet units; while it holds one)
        # whether something may happen before every close (exits, a perpetual's funding): if
        # not, `to_close` runs only while an order works or a breaker is open
        self.busy = engine.extras
        self.sim, self.at_close = engine.sim, engine.at_close  # the engine's for life: looked up once

    def value(self) -> int:
        """What the position is worth at its mark, in wallet units (its ledger holds no cash
        between calls, so its equity is the position's: value, or margin and PnL)."""
        return self.engine.portfolio.equity(self.close) * self.factor

    def exposure(self) -> int:
        return abs(self.engine.portfolio.lots) * self.close * self.factor

    def is_open(self) -> bool:
        """Holding at least the exchange's minimum notional (what `Account.long/short` say)."""
        return abs(self.engine.portfolio.lots) * self.close >= self.min_notional


@dataclass(frozen=True, slots=True)
class Refusal:
    """A portfolio rule refused a symbol's order."""

    time: int
    symbol: str
    side: str
    lots: int
    reason: str  # universe | max_open_positions | max_gross_exposure


class PortfolioView:
    """What a symbol's strategy sees of the whole portfolio (`account.portfolio`), as of this
    minute's snapshot: equity and cash in quote, positions open, the universe."""

    __slots__ = ("_p",)

    def __init__(self, portfolio: PortfolioEngine) -> None:
        self._p = portfolio

    @property
    def equity(self) -> float:
        return float(self._p.unit) * self._p.snapshot_equity

    @property
    def cash(self) -> float:
        return float(self._p.unit) * self._p.snapshot_cash

    @property
    def open_positions(self) -> int:
        return sum(1 for s in self._p.sleeves if s.is_open())

    @property
    def symbols(self) -> tuple[str, ...]:
        """The universe in force (what may be entered now)."""
        return tuple(sorted(self._p.members))


class PortfolioEngine:
    def __init__(
        self,
        engines: Mapping[str, Engine],
        budget: Decimal,
        config: PortfolioConfig | None = None,
        schedule: Schedule | None = None,
        wakes: Wakes | None = None,
    ) -> None:
        if not engines:
            raise UserError("a portfolio needs at least one symbol")
        for symbol, engine in engines.items():
            check_sleeve(symbol, engine)
        self.unit = common_unit(e.market for e in engines.values())
        self.sleeves = [Sleeve(s, engines[s], factor(engines[s].market, self.unit)) for s in sorted(engines)]
        self.by_symbol = {s.symbol: s for s in self.sleeves}
        self.view = PortfolioView(self)
        for sleeve in self.sleeves:
            sleeve.engine.portfolio.cash = 0
            sleeve.engine.hold_orders = True
            sleeve.engine.book = self.view
            sleeve.engine.curve = False
        self.config = config = config or PortfolioConfig()
        self.budget = int((budget / self.unit).to_integral_value(rounding=ROUND_FLOOR))
        self.cash = self.budget
        self.schedule = schedule or Schedule.fixed(list(engines))
        self.members: frozenset[str] = frozenset()
        self.wakes = wakes
        self.asleep: frozenset[int] | None = self._sleepers(self.members)  # None: not known yet
        self._leaving = False  # an awake pair outside the universe (it sleeps once flat)
        self.stake = config.stake_for(len(self.sleeves))
        gross = config.max_gross_exposure
        self.gross_ppm = ppm_of(gross if gross is not None else max(s.leverage for s in self.sleeves))
        self.risk = RiskManager(
            RiskConfig(
                max_drawdown_fraction=config.max_drawdown_fraction,
                daily_loss_limit_fraction=config.daily_loss_limit_fraction,
            )
        )
        self.snapshot_equity = self.snapshot_cash = self.budget
        self.times: list[int] = []
        self.equity: list[int] = []  # wallet units, at each minute's closes
        self.open_counts: list[int] = []  # positions open at each minute's close
        self.refusals: list[Refusal] = []
        self.last_time: int | None = None
        self._scratch: list[Fill] = []  # one symbol's fills of one call (reused)
        # the sleeves whose step 1 may do something or that hold a position (`needs_attention`):
        # re-listed after a minute with fills or orders, or a change from outside (None: re-list)
        self._attention: list[int] | None = None
        self._hooks = [
            (s, s.engine.strategy.on_minute)
            for s in self.sleeves
            if callable(getattr(s.engine.strategy, "on_minute", None))
        ]  # the strategies with the cross-sectional hook

    # -- one minute ---------------------------------------------------------------------------
    def step(self, time: int, candles: Mapping[str, Candle]) -> list[tuple[str, Fill]]:
        """Advance every symbol that has a candle opening at `time` (others are skipped)."""
        return self.step_rows(time, [candles.get(s.symbol) for s in self.sleeves])

    def step_rows(self, time: int, rows: Sequence[Candle | None]) -> list[tuple[str, Fill]]:
        """`step` with the candles in the sleeves' (alphabetical) order, None where missing."""
        if self.last_time is not None and time <= self.last_time:
            return []  # already processed: replays are idempotent
        out: list[tuple[str, Fill]] = []
        members = self.schedule.at(time)
        if self.wakes is not None:
            if self.asleep is None:  # restored: who slept at the last minute
                self._settle()
            if members is not self.members or self._leaving:
                self._wake_and_sleep(time, members)
            if self.asleep:
                rows = [None if i in self.asleep else row for i, row in enumerate(rows)]
                if not any(row is not None for row in rows):  # no pair awake has a candle: not a minute
                    self.members = members
                    return out
        self.members = members
        held_value, open_now = 0, 0  # steps 1 and 2 in one pass: a symbol's step 1 moves only its own value
        if self._attention is None:
            self._attention = [i for i, s in enumerate(self.sleeves) if needs_attention(s)]
        for i in self._attention:  # the others have nothing before the close, and no value
            sleeve, row = self.sleeves[i], rows[i]
            engine = sleeve.engine
            if row is not None and (sleeve.busy or sleeve.sim.active is not None or engine.risk.state.open):
                self._run(sleeve, self.cash, out, engine.to_close, time, *row)
            ledger = engine.portfolio
            lots = ledger.lots
            if lots:
                if row is not None:  # marked at this close (a flat one: in _decide)
                    sleeve.close = round(row[3] * sleeve.inv_tick)  # = MarketRules.ticks
                sleeve.worth = ledger.equity(sleeve.close) * sleeve.factor
                held_value += sleeve.worth
                open_now += abs(lots) * sleeve.close >= sleeve.min_notional
        equity = self.cash + held_value
        self.snapshot_equity, self.snapshot_cash = equity, self.cash
        if not self.stake.uniform:  # every pair of the minute observed before any is sized
            for sleeve, row in zip(self.sleeves, rows, strict=True):
                if row is not None:
                    self.stake.observe(sleeve.symbol, row[1], row[2], row[3])
            self.stake.refresh()
        if self._hooks:
            self._cross_section(time, rows)
        held = self._decide(time, rows, equity, out)
        if held or (self.config.on_exit == "close" and len(self.members) < len(self.sleeves)):
            present = [s for s, row in zip(self.sleeves, rows, strict=True) if row is not None]
            self._apply(time, held, present, equity, out)
        if out:  # something filled: mark again (else the snapshot is this minute's close)
            equity, open_now = self._mark()
        if out or any(s.sim.active is not None for s in held):  # a refused order changes nothing
            self._attention = None
        self.last_time = time
        self.times.append(time)
        self.equity.append(equity)
        self.open_counts.append(open_now)
        if self.risk.watching:
            self._observe(time)
        return out

    def _sleepers(self, members: frozenset[str]) -> frozenset[int]:
        """The pairs that sleep with `members` picked: neither picked nor holding anything."""
        if self.wakes is None:
            return frozenset()
        return frozenset(
            i
            for i, s in enumerate(self.sleeves)
            if s.symbol not in members and not s.engine.portfolio.lots and s.sim.active is None
        )

    def _settle(self, members: frozenset[str] | None = None) -> frozenset[int]:
        """Who sleeps with `members` picked (default: those of the last minute, after a
        restore) — without waking anyone."""
        if members is None:
            members = self.schedule.at(self.last_time) if self.last_time is not None else frozenset()
            self.members = members
        self.asleep = asleep = self._sleepers(members)
        self._leaving = any(i not in asleep and s.symbol not in members for i, s in enumerate(self.sleeves))
        return asleep

    def _wake_and_sleep(self, time: int, members: frozenset[str]) -> None:
        """Pairs newly picked wake, fresh and warmed on their last candles; the others sleep."""
        assert self.wakes is not None and self.asleep is not None
        before = self.asleep
        for i in sorted(before - self._settle(members)):
            engine, symbol = self.sleeves[i].engine, self.sleeves[i].symbol
            engine.strategy.load(self.wakes.fresh(symbol).state())
            for candle in self.wakes.history(symbol, time, max(1, engine.strategy.warmup_length())):
                engine.warm_up(*candle)
        self._attention = None

    def awake_at(self, time: int) -> list[str]:
        """The pairs a minute at `time` would step, holdings as they are now (every one without
        `wakes`): what a paper trader must collect."""
        asleep = self._sleepers(self.schedule.at(time))
        return [s.symbol for i, s in enumerate(self.sleeves) if i not in asleep]

    def _cross_section(self, time: int, rows: Sequence[Candle | None]) -> None:
        """Every present symbol's candle of this minute, to each strategy with `on_minute`."""
        bars: dict[str, Bar] = {}
        for sleeve, row in zip(self.sleeves, rows, strict=True):
            if row is not None:
                bar = bars[sleeve.symbol] = Bar()
                bar.time, (bar.open, bar.high, bar.low, bar.close, bar.volume) = time, row
        for sleeve, hook in self._hooks:
            if sleeve.symbol in bars:
                hook(sleeve.symbol, bars)

    def _decide(
        self, time: int, rows: Sequence[Candle | None], equity: int, out: list[tuple[str, Fill]]
    ) -> list[Sleeve]:
        """Step 3: every present symbol decides against the snapshot; returns those holding an
        order. `_run`'s cash window, inlined (this loop runs for every symbol every minute)."""
        cash, stake, held, fills, moved = self.cash, self.stake, [], self._scratch, 0
        uniform = stake.uniform
        share = stake.of("", equity) if uniform else 0
        for sleeve, row in zip(self.sleeves, rows, strict=True):
            if row is None:
                continue
            o, h, lo, c, v = row
            sleeve.close = price = round(c * sleeve.inv_tick)
            f = sleeve.factor
            ledger = sleeve.engine.portfolio
            room = share if uniform else stake.of(sleeve.symbol, equity)
            if ledger.lots:
                room = max(room - sleeve.worth, 0)  # its value at this close, from step 2
            shown = (cash if cash < room else room) // f
            ledger.cash = shown
            sleeve.at_close(time, o, h, lo, c, v, price, fills)
            moved += (ledger.cash - shown) * f
            ledger.cash = 0
            if fills:
                out.extend((sleeve.symbol, fill) for fill in fills)
                fills.clear()
            if sleeve.sim.active is not None:
                held.append(sleeve)
        self.cash += moved
        return held

    def _mark(self) -> tuple[int, int]:
        """(equity: cash plus every position at its mark, positions open), in wallet units."""
        equity, open_now = self.cash, 0
        for s in self.sleeves:
            ledger = s.engine.portfolio
            lots = ledger.lots
            if lots:
                equity += ledger.equity(s.close) * s.factor
                open_now += abs(lots) * s.close >= s.min_notional
        return equity, open_now

    def _run(
        self,
        sleeve: Sleeve,
        cash: int,
        out: list[tuple[str, Fill]],
        call: Callable[..., list[Fill]],
        *args: Any,
    ) -> None:
        """Call one of `sleeve`'s engine methods with `cash` (wallet units) in its ledger, and
        move what it spent or received back into the wallet — exact: whole cash units × factor."""
        ledger = sleeve.engine.portfolio
        shown = cash // sleeve.factor
        ledger.cash = shown
        fills = call(*args)
        ledger = sleeve.engine.portfolio
        self.cash += (ledger.cash - shown) * sleeve.factor
        ledger.cash = 0
        if fills:
            out.extend((sleeve.symbol, f) for f in fills)

    def _apply(
        self,
        time: int,
        held_by: list[Sleeve],
        present: list[Sleeve],
        equity: int,
        out: list[tuple[str, Fill]],
    ) -> None:
        """Step 4: universe exits, then reducing orders, then opening ones under the caps."""
        if self.config.on_exit == "close":
            for sleeve in present:
                if sleeve.symbol not in self.members and sleeve.engine.portfolio.lots:
                    if held(sleeve.engine, time) is not None:
                        self._refuse(sleeve, "universe")
                    self._run(sleeve, self.cash, out, sleeve.engine.close_position, "universe_exit")
        opening: list[Sleeve] = []
        for sleeve in held_by:
            order = held(sleeve.engine, time)
            if order is not None and reduces(order, sleeve.engine.portfolio.lots):
                self._run(sleeve, self.cash, out, sleeve.engine.fill_held)
            elif order is not None:
                opening.append(sleeve)
        if not opening:
            return
        limit = self.config.max_open_positions
        open_now = sum(1 for s in self.sleeves if s.engine.portfolio.lots and s.is_open())
        for sleeve in opening:
            was_open = sleeve.is_open()
            if sleeve.symbol not in self.members:
                self._refuse(sleeve, "universe")
            elif limit is not None and not was_open and open_now >= limit:
                self._refuse(sleeve, "max_open_positions")
            else:
                gross = sum(s.exposure() for s in self.sleeves)
                room = fraction_of(equity, self.gross_ppm) - gross  # notional still allowed
                if room < sleeve.min_notional * sleeve.factor:
                    self._refuse(sleeve, "max_gross_exposure")
                    continue
                self._run(sleeve, min(self.cash, room // sleeve.leverage), out, sleeve.engine.fill_held)
                open_now += int(sleeve.is_open() and not was_open)

    def changed(self) -> None:
        """Say that something outside the minute's steps changed a symbol's engine (a control,
        a breaker, a restore): the next minute looks at every symbol again."""
        self._attention = None

    def _refuse(self, sleeve: Sleeve, reason: str) -> None:
        order = sleeve.engine.reject_held()
        if order is not None:
            self.refusals.append(Refusal(order.time, sleeve.symbol, order.side, order.lots, reason))

    def _observe(self, time: int) -> None:
        """The portfolio's equity breakers (its drawdown, its UTC day's loss), mirrored into
        every symbol while open: each symbol halts new orders (exits still work)."""
        self.risk.observe_equity(time, self.equity[-1], self.money)
        opened = self.risk.state.open
        for sleeve in self.sleeves:
            risk = sleeve.engine.risk
            for name, mirrored in MIRRORED.items():
                why = opened.get(name)
                if why is not None and mirrored not in risk.state.open:
                    risk.now = time
                    risk.trip(mirrored, f"portfolio {why}")
                    self._attention = None
                elif why is None and mirrored in risk.state.open:
                    risk.clear(mirrored)  # the day's loss breaker closes at the next UTC midnight

    # -- saving ---------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """Everything needed to resume exactly here (JSON-able): the wallet, the portfolio's
        breakers and every symbol's engine and mark."""
        return {
            "unit": str(self.unit),
            "cash": self.cash,
            "risk": self.risk.snapshot(),
            "stake": self.stake.state(),
            "last_time": self.last_time,
            "sleeves": {s.symbol: {"engine": s.engine.snapshot(), "close": s.close} for s in self.sleeves},
        }

    def restore(self, snap: dict[str, Any]) -> None:
        if Decimal(snap["unit"]) != self.unit:
            raise UserError(f"the saved wallet counts in {snap['unit']} USDT units, this one in {self.unit}")
        self.cash, self.last_time = snap["cash"], snap["last_time"]
        self.risk.restore(snap["risk"])
        if snap.get("stake"):
            self.stake.load(snap["stake"])
        for sleeve in self.sleeves:
            saved = snap["sleeves"].get(sleeve.symbol)
            if saved is not None:  # a symbol new to the portfolio starts flat
                sleeve.engine.restore(saved["engine"])
                sleeve.engine.portfolio.cash = 0
                sleeve.close = saved["close"]
        self.snapshot_equity, self.snapshot_cash = self.equity_now(), self.cash
        self._attention = None
        self.asleep = None if self.wakes is not None else frozenset()  # known once the schedule is

    # -- reading --------------------------------------------------------------------------------
    def equity_now(self) -> int:
        """Wallet cash plus every position at its symbol's last close, in wallet units."""
        return self._mark()[0]

    def money(self, units: int) -> str:
        return f"{units * self.unit:,.2f}"

    def to_quote(self, units: int) -> Decimal:
        return units * self.unit


def check_sleeve(symbol: str, engine: Engine) -> None:
    """What a symbol's engine may not carry inside a portfolio (one line naming it)."""
    if engine.market.symbol != symbol:
        raise UserError(f"the engine for {symbol} trades {engine.market.symbol}")
    if engine.config.execution.fill != "close":
        raise UserError(
            f"fill model {engine.config.execution.fill!r} for {symbol}: portfolio bots fill at the close "
            "(same-minute orders are sized against one snapshot and applied sells first)"
        )
    risk = engine.config.risk
    for name in ("daily_loss_limit_fraction", "max_drawdown_fraction"):
        if getattr(risk, name) is not None:
            raise UserError(
                f"risk {name} for {symbol}: a portfolio's equity breaker is portfolio.maxDrawdownFraction "
                "(one symbol's share of the wallet has no equity of its own)"
            )


def needs_attention(sleeve: Sleeve) -> bool:
    """Whether a symbol's step 1 may do something (exits, funding, a working order, a stale
    breaker to clear) or its position must be marked."""
    engine = sleeve.engine
    return bool(
        sleeve.busy
        or engine.portfolio.lots
        or sleeve.sim.active is not None
        or "stale_data" in engine.risk.state.open
    )


def held(engine: Engine, time: int) -> Order | None:
    """The market order this minute's decision holds for the portfolio to apply."""
    order = engine.sim.active
    if order is None or order.algo != "market" or order.slices_done or order.time != time:
        return None
    return order


def reduces(order: Order, lots: int) -> bool:
    """Whether `order` only shrinks the position (a sell of a long, a buy of a short)."""
    return (order.side == "sell") == (lots > 0) and lots != 0 and order.lots <= abs(lots)
