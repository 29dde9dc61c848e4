"""The paper trader of one bot: new closed candles in, engine decisions out, all persisted.

Start-up: a bot with saved state resumes from its snapshot exactly (engine, strategy
indicators, open orders, breakers). A new bot on a replay source trades from the first
stored candle (like a backtest of the same file); a new bot on a live source waits until its
series has caught up with the exchange (`intervals.caught_up`: a backfill or the collector's
first catch-up may still be landing), then warms its indicators on the last stored candles (as
many as the strategy's warm-up length) and trades from the next one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import asdict
from decimal import Decimal
from typing import Any

from botrader.core.bot_engine import engine_config, strategy_for
from botrader.core.candles import make_key
from botrader.core.db.candles import CandleStore
from botrader.core.db.trading import TradingStore
from botrader.core.engine.engine import Engine
from botrader.core.engine.units import MarketRules
from botrader.core.manifests import TradingBot
from botrader.core.phases import phase_of
from botrader.core.timeutil import ms_to_datetime, now_ms
from botrader.services.trader import metrics
from botrader.services.trader.collected import CollectedData
from botrader.services.trader.warming import live_edge, status_message

log = logging.getLogger(__name__)


class PaperTrader:
    def __init__(
        self,
        bot: TradingBot,
        candles: CandleStore,
        store: TradingStore,
        market: MarketRules,
        batch: int = 2000,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        """`clock`: the present, in ms (when a live series has caught up; staleness)."""
        self.bot, self.candles, self.store, self.clock = bot, candles, store, clock
        spec = bot.spec
        self.key = make_key(spec.source, spec.symbol, spec.interval)
        self.market = market
        self.engine = Engine(strategy_for(bot), engine_config(spec, market))
        self.collected = CollectedData(store.engine, self.key, self.engine.instrument)
        self.cursor: int | None = None  # open time of the last candle processed
        self.batch = batch
        # the loop steps in a worker thread while the API's controller may flip controls
        self.lock = threading.RLock()
        self.peak = 0
        self.budget_units = self.market.cash_units(Decimal(str(spec.budget)))
        self.warming = False  # a new live bot, until its series catch up with the exchange
        self.behind: list[str] = []  # while warming: the series not caught up yet

    # -- lifecycle -------------------------------------------------------------------------
    def start(self, actor: str = "trader") -> None:
        row = self.store.register(
            self.bot.name, self.bot.namespace, self.bot.spec.model_dump(by_alias=True, exclude_none=True)
        )
        state = row.get("state")
        if state:
            saved = MarketRules.from_state(state["market"])
            if saved != self.market:  # units must not change under a saved state
                self.market = saved
                self.engine = Engine(strategy_for(self.bot), engine_config(self.bot.spec, saved))
                self.collected = CollectedData(self.store.engine, self.key, self.engine.instrument)
            self.engine.restore(state["engine"])
            self.cursor, self.peak = self.engine.last_time, state["peak"]
            log.info("%s: resumed after %s", self.bot.name, self.cursor)
        self.warming = self.bot.spec.live and self.cursor is None
        if self.warming:
            self._warm_up()
        self.set_controls(self.bot.spec.paused, self.bot.spec.emergency_stop, actor=actor)
        self.checkpoint([], [], [])

    @property
    def strategy_name(self) -> str:
        return str(self.engine.strategy.name)

    @property
    def trips(self) -> list[tuple[int, str, str]]:
        """Every circuit breaker that opened this session: (time, breaker, why)."""
        return self.engine.risk.trips

    @property
    def series(self) -> set[str]:
        """The candle series whose notifications wake this trader."""
        return {str(self.key)}

    def check_stale(self, now_ms: int, interval_ms: int) -> bool:
        """Paper trading's timer: `stale_data` when the next candle is overdue."""
        return self.engine.check_stale(now_ms, interval_ms)

    def run_beside(self, wake: Callable[[], None]) -> None:
        """Start what runs beside the candle loop; `wake` (thread-safe) makes the loop step
        now. Nothing for a paper bot; a venue bot's user data stream."""

    def close(self) -> None:
        """Stop what `run_beside` started."""

    def _warm_up(self) -> bool:
        """Warm the indicators on the last stored candles once the series has caught up with
        the exchange; whether it had (until then the bot waits, trading nothing)."""
        self.behind, _, last = live_edge(
            self.candles, {self.bot.spec.symbol: self.key}, self.clock(), self.bot.spec.interval
        )
        if last is None:
            return False
        length = max(1, self.engine.strategy.warmup_length())
        for c in self.candles.load(self.key, end=last, limit=length, newest=True):
            self.engine.warm_up(c.open_time, c.open, c.high, c.low, c.close, c.volume)
        self.cursor = self.engine.last_time = last
        self.warming = False
        log.info("%s: warmed up to %s", self.bot.name, ms_to_datetime(last))
        return True

    def set_controls(self, paused: bool, emergency_stop: bool, *, actor: str) -> None:
        """Apply the spec's control flags; every change is written to the audit table."""
        with self.lock:
            self._set_controls(paused, emergency_stop, actor)

    def _set_controls(self, paused: bool, emergency_stop: bool, actor: str) -> None:
        before = {
            "paused": self.engine.paused,
            "emergencyStop": "emergency_stop" in self.engine.risk.state.open
            or self.engine.emergency_requested,
        }
        after = {"paused": paused, "emergencyStop": emergency_stop}
        if before == after:
            return
        self.engine.paused = paused
        if emergency_stop and not before["emergencyStop"]:
            self.engine.emergency_stop()
        elif not emergency_stop and before["emergencyStop"]:
            self.engine.clear_emergency_stop()
        self.store.audit(actor, self.bot.name, "controls", before, after)

    # -- work --------------------------------------------------------------------------------
    def step(self, limit: int | None = None) -> int:
        """Process the next batch of stored candles; returns how many there were."""
        with self.lock:
            return self._step(limit)

    def _step(self, limit: int | None) -> int:
        if self.warming:
            if not self._warm_up():
                return 0
            self._checkpoint([], [], [], [])  # the bot is live: its status says since when
        start = None if self.cursor is None else self.cursor + 1
        batch = self.collected.ready(
            self.candles.load(self.key, start=start, limit=limit or self.batch), self.cursor
        )
        if not batch:
            return 0
        marks = []
        engine, pf = self.engine, self.engine.portfolio
        for c in batch:
            engine.on_bar(c.open_time, c.open, c.high, c.low, c.close, c.volume)
            pf = engine.portfolio
            equity = pf.equity(engine.last_close_ticks)
            self.peak = max(self.peak, equity)
            marks.append((c.open_time, equity, pf.cash, pf.lots, engine.last_close_ticks))
        self.cursor = batch[-1].open_time
        fills, orders = engine.drain()
        funding, engine.funding_events = engine.funding_events, []  # a perpetual's, stored once each
        self.execute(orders)
        self.checkpoint(fills, orders, marks, funding)
        metrics.count_fills(self.bot.name, fills)
        return len(batch)

    def execute(self, orders: list[Any]) -> None:
        """Where the engine's orders go besides the paper fills: nowhere for a paper bot; a
        venue trader sends them (before the checkpoint: a crash in between re-decides the same
        orders after the restart, and their client ids find what was sent)."""

    def checkpoint(
        self,
        fills: list[Any],
        orders: list[Any],
        marks: list[tuple[int, int, int, int, int]],
        funding: list[tuple[int, int, int]] | None = None,
    ) -> None:
        with self.lock:
            self._checkpoint(fills, orders, marks, funding or [])

    def _checkpoint(
        self,
        fills: list[Any],
        orders: list[Any],
        marks: list[tuple[int, int, int, int, int]],
        funding: list[tuple[int, int, int]],
    ) -> None:
        snapshot = {"engine": self.engine.snapshot(), "market": self.market.to_state(), "peak": self.peak}
        self.store.save_progress(
            self.bot.name, self.market, snapshot, self.summary(), fills, orders, marks, funding
        )
        self._export()

    # -- reading -----------------------------------------------------------------------------
    @property
    def phase(self) -> str:
        return phase_of(
            self.engine.risk.state.open, paused=self.engine.paused, emergency=self.engine.emergency_requested
        )

    def holding(self) -> str:
        """The position in the base asset (`botrader up`'s position column)."""
        return str(self.market.to_base(self.engine.portfolio.lots))

    def summary(self) -> dict[str, Any]:
        pf, m, price = self.engine.portfolio, self.market, self.engine.last_close_ticks
        equity = pf.equity(price)
        breakers = dict(self.engine.risk.state.open)
        return {
            "phase": self.phase,
            "message": status_message(breakers, self.behind),
            "breakers": breakers,
            "equity": m.to_quote(equity),
            "cash": m.to_quote(pf.cash),
            "position": m.to_base(pf.lots),
            "pnl_percent": (equity - self.budget_units) / self.budget_units * 100,
            "trades": self.engine.fill_base + len(self.engine.fills),
            "last_candle_time": ms_to_datetime(self.cursor) if self.cursor is not None else None,
        }

    def _export(self) -> None:
        pf, price, name, m = self.engine.portfolio, self.engine.last_close_ticks, self.bot.name, self.market
        equity = pf.equity(price)
        quote = lambda units: float(m.to_quote(units))  # noqa: E731
        metrics.export_bot(
            name,
            quote(equity),
            quote(self.budget_units),
            quote(self.peak),
            self.engine.risk.state.open,
            self.phase,
        )
        metrics.POSITION.labels(name, self.bot.spec.symbol).set(float(m.to_base(pf.lots)))
        perp = self.engine.instrument.position(pf, price)  # None on spot: no funding, no margin
        metrics.FUNDING.labels(name).set(float(m.to_quote(perp.funding)) if perp else 0.0)
        metrics.MARGIN_RATIO.labels(name).set(perp.margin_ratio if perp else 0.0)

    def state_for_api(self) -> dict[str, Any]:
        return {
            **self.summary(),
            "strategy": self.engine.strategy.name,
            "explanation": self.engine.strategy.explain(),
            "rules": asdict(self.market),
        }
