"""The paper trader of a portfolio bot (`spec.symbols`, or `spec.universe` over its
candidates): every symbol's stored candles merged into minutes and stepped through one
`PortfolioEngine`, exactly as a backtest of the same candles steps them, with the same
one-transaction checkpoint as the one-symbol trader.

When a minute is ready: once every symbol's stored candles reach it. A symbol without a candle
at a minute that its later candles have passed has a gap there, and is skipped that minute
(the backtest skips it too); a minute no symbol has reached yet waits — unless the lagging
pair is stale (`check_stale`: its newest stored candle older than `staleDataSeconds`), which
is then skipped, never waited on forever.

Fills and orders are numbered across the symbols (`Numbering`), in the order (time, symbol,
the symbol's own number): the same numbers whatever batches the candles came in, so a
restarted trader stores nothing twice.

A perpetual portfolio (`market: usdm-perp`) is the same loop over perpetual sleeves: on a
binance-usdm source without `spec.funding.rate`, each pair reads its own collected mark klines
and funding rates (`CollectedData`), and a minute waits until every pair's are stored, as a
one-symbol perpetual bot waits for its own. Each pair's funding payments are stored with it.

A new bot on a live source waits until every pair's series has caught up with the exchange
(`intervals.caught_up`), then warms each pair's indicators on its stored candles and trades from
the next minute (`_warm_up`), as the one-symbol trader does; on replay it trades from the first.
A pair whose stored candles stand still that long (`staleDataSeconds`: its collector is down)
is not waited on: it starts stale.

A universe bot's pairs neither picked nor held sleep (`PortfolioEngine`'s `Wakes`): a pair
picked wakes with a fresh strategy warmed on its stored candles before the pick, as the
backtest's does from its frames. Ranked from the exchange's hours (`follows_picks`), it needs
no minutes but the awake pairs': they make its minutes (the present, while none is awake), and
a pair woken without them is fetched from the exchange at its pick (`_follow`). Otherwise every
candidate's candles make the minutes. It picks at each refresh time, before stepping it, from
the candles closed by then (`universe.QuoteVolumes`, the backtest's own ranking) — its stored
ones, or on a live source with a rule of whole hours the exchange's hourly klines of every
candidate (`ranking`): the same lists at the same times as a backtest of the same candles. A
refresh (or a fetch) that cannot reach the exchange holds the minute (the status says why) and
is tried again. The picks are saved with the snapshot and shown by
the API.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from botrader.core.bot_engine import portfolio_config, sleeve_config, strategy_for, universe_rule
from botrader.core.candles import make_key
from botrader.core.db.candles import CandleStore
from botrader.core.db.trading import TradingStore
from botrader.core.engine.engine import Engine
from botrader.core.engine.orders import Fill, Order
from botrader.core.engine.units import MarketRules
from botrader.core.errors import SourceUnavailable, UserError
from botrader.core.intervals import interval_ms, last_closed_open_time
from botrader.core.manifests import TradingBot
from botrader.core.phases import phase_of
from botrader.core.portfolio.engine import MIRRORED, Candle, PortfolioEngine, Timed, Wakes
from botrader.core.portfolio.universe import Schedule, first_refresh
from botrader.core.timeutil import ms_to_datetime, now_ms
from botrader.services.trader import metrics
from botrader.services.trader.collected import CollectedData
from botrader.services.trader.ranking import fetch, ranking_for
from botrader.services.trader.warming import Stalls, live_edge, status_message

log = logging.getLogger(__name__)
FINAL = ("filled", "partially_filled", "rejected", "cancelled")


class Numbering:
    """Fill sequence numbers and order ids across a portfolio's symbols (each symbol's engine
    counts its own from 1): assigned in (time, symbol, own number) order, the ids of orders
    still working kept until they end. Saved with the snapshot."""

    def __init__(self) -> None:
        self.fills = 0
        self.orders = 0
        self.working: dict[str, int] = {}  # "SYMBOL:own id" → id, while the order works

    def number(
        self, fills: list[tuple[str, Fill]], orders: list[tuple[str, Order]]
    ) -> tuple[list[tuple[str, Fill]], list[tuple[str, Order]]]:
        ids: dict[str, int] = {}
        out_orders = []
        for symbol, order in sorted(orders, key=lambda so: (so[1].time, so[0], so[1].id)):
            key = f"{symbol}:{order.id}"
            if key not in self.working:
                self.orders += 1
                self.working[key] = self.orders
            ids[key] = self.working[key]
            out_orders.append((symbol, dataclasses.replace(order, id=ids[key])))
            if order.status in FINAL:
                del self.working[key]
        out_fills = []
        for symbol, fill in sorted(fills, key=lambda sf: (sf[1].time, sf[0], sf[1].seq)):
            self.fills += 1
            order_id = ids.get(f"{symbol}:{fill.order_id}", self.working.get(f"{symbol}:{fill.order_id}", 0))
            out_fills.append((symbol, dataclasses.replace(fill, seq=self.fills, order_id=order_id)))
        return out_fills, out_orders

    def state(self) -> dict[str, Any]:
        return {"fills": self.fills, "orders": self.orders, "working": dict(self.working)}

    def load(self, state: dict[str, Any]) -> None:
        self.fills, self.orders, self.working = state["fills"], state["orders"], dict(state["working"])


class PortfolioTrader:
    def __init__(
        self,
        bot: TradingBot,
        candles: CandleStore,
        store: TradingStore,
        batch: int = 2000,
        markets: dict[str, MarketRules] | None = None,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        """`markets`: each pair's filters (default: the bundled ones); `clock`: the present."""
        spec = bot.spec
        if spec.not_on_paper:
            raise UserError(f"{bot.name}: {spec.not_on_paper}")
        self.bot, self.candles, self.store, self.batch, self.clock = bot, candles, store, batch, clock
        self.symbols = spec.traded_symbols
        self.rule = universe_rule(spec)  # None: a fixed list
        self.keys = {s: make_key(spec.source, s, spec.interval) for s in self.symbols}
        rules = markets or {}
        engines = {s: Engine(strategy_for(bot), sleeve_config(spec, s, rules.get(s))) for s in self.symbols}
        self.markets: dict[str, MarketRules] = {s: e.market for s, e in engines.items()}
        self.collected = {
            s: CollectedData(store.engine, self.keys[s], e.instrument) for s, e in engines.items()
        }
        schedule = Schedule([]) if self.rule is not None else None  # nothing entered before a pick
        self.ranking = None if self.rule is None else ranking_for(candles, spec, self.keys, self.rule, clock)
        # a universe ranked without its candidates' minutes steps and collects only its picks and
        # the pairs held (`_follow`); the others' minutes need not be stored at all
        self.follows_picks = spec.follows_picks
        self.step_ms = interval_ms(spec.interval)
        self.unranked: str | None = None  # why the last refresh could not reach the exchange (retried)
        wakes = None if self.rule is None else Wakes(self._history, lambda _symbol: strategy_for(bot))
        self.book = PortfolioEngine(
            engines, Decimal(str(spec.budget)), portfolio_config(spec), schedule, wakes
        )
        self.numbering = Numbering()
        self.cursor: int | None = None  # open time of the last minute processed
        self.peak = self.book.budget
        self.lock = threading.RLock()
        self.warming = False  # a new live bot, until its pairs catch up with the exchange
        self.behind: list[str] = []  # while warming: the pairs not caught up yet
        self.stalls = Stalls(spec.risk.stale_data_seconds)  # while warming: a pair whose collector stopped

    def start(self, actor: str = "trader") -> None:
        row = self.store.register(
            self.bot.name, self.bot.namespace, self.bot.spec.model_dump(by_alias=True, exclude_none=True)
        )
        state = row.get("state")
        if state:
            self.book.restore(state["portfolio"])
            for time, symbols in state.get("universe") or []:
                self.book.schedule.add(time, symbols)
            self.numbering.load(state["numbering"])
            self.cursor, self.peak = self.book.last_time, state["peak"]
            log.info("%s: resumed after %s", self.bot.name, self.cursor)
        self.warming = self.bot.spec.live and self.cursor is None
        if self.warming:
            self._warm_up()
        self.set_controls(self.bot.spec.paused, self.bot.spec.emergency_stop, actor=actor)
        self.checkpoint([], [], [])

    def _warm_up(self) -> bool:
        """Once every pair's series has caught up with the exchange, warm each pair's
        indicators on its last stored candles (as many as the strategy's warm-up length) up to
        the newest minute every pair has reached, and trade from the next one — never through
        a backfill as if it were live, as the one-symbol trader does. Every pair is waited on
        (a pair whose backfill is still landing looks stale, and would be warmed on its old
        candles) while its stored candles move; one whose candles stood still for
        `staleDataSeconds` has a stopped collector (`warming.Stalls`) and starts stale. The
        status message names the pairs waited on. Whether it had."""
        now = self.clock()
        if self.follows_picks:  # nothing is awake before the first pick: it starts at the present
            self.cursor = self.book.last_time = last_closed_open_time(now, self.bot.spec.interval)
            self.warming = False
            return True
        self.behind, stalled, until = live_edge(
            self.candles, self.keys, now, self.bot.spec.interval, self.stalls
        )
        if until is None:
            return False
        for symbol in stalled:  # skipped as stale until its candles come (`_to_close` clears it)
            risk = self.book.by_symbol[symbol].engine.risk
            risk.now = now
            why = f"no new candle for {self.stalls.patience_s:g} s while the other pairs reached the present"
            risk.trip("stale_data", why)
        self.book.changed()
        for sleeve in self.book.sleeves:
            length = max(1, sleeve.engine.strategy.warmup_length())
            for c in self.candles.load(self.keys[sleeve.symbol], end=until, limit=length, newest=True):
                sleeve.engine.warm_up(c.open_time, c.open, c.high, c.low, c.close, c.volume)
        self.cursor = self.book.last_time = until
        self.warming = False
        log.info("%s: warmed up to %s", self.bot.name, ms_to_datetime(until))
        return True

    def _history(self, symbol: str, time: int, n: int) -> list[Timed]:
        """`Wakes.history` from the store: a pair's last `n` candles opening before `time`."""
        rows = self.candles.load(self.keys[symbol], end=time - 1, limit=n, newest=True)
        return [(c.open_time, c.open, c.high, c.low, c.close, c.volume) for c in rows]

    @property
    def strategy_name(self) -> str:
        return str(self.book.sleeves[0].engine.strategy.name)

    @property
    def trips(self) -> list[tuple[int, str, str]]:
        """Every circuit breaker that opened this session: the wallet's, then each pair's own."""
        out = [(t, MIRRORED[b], f"portfolio {why}") for t, b, why in self.book.risk.trips]
        for sleeve in self.book.sleeves:
            out += [
                (t, f"{sleeve.symbol}:{b}", why)
                for t, b, why in sleeve.engine.risk.trips
                if b not in MIRRORED.values()
            ]
        return sorted(out)

    @property
    def series(self) -> set[str]:
        """The candle series whose notifications wake this trader: every pair's."""
        return {str(k) for k in self.keys.values()}

    def check_stale(self, now_ms: int, interval_ms: int) -> bool:
        """`stale_data` for each pair whose next stored candle is overdue, measured from its
        newest *stored* candle (the minutes the portfolio has not stepped yet are not the pair's
        fault); a stale pair is no longer waited on, the others go on. Whether any is. Not
        judged while a new bot warms up: a backfill still landing is not a stopped collector."""
        if self.warming:
            return False
        with self.lock:
            stale = []
            cursor = self.cursor
            watched = (
                self.book.awake_at(cursor) if self.follows_picks and cursor is not None else self.symbols
            )
            for sleeve in self.book.sleeves:
                if sleeve.symbol not in watched:
                    continue  # asleep, and not collected
                newest = self.candles.last_open_time(self.keys[sleeve.symbol])
                seen = None if newest is None else newest + interval_ms
                stale.append(sleeve.engine.risk.check_gap(seen, now_ms))
            self.book.changed()
            return any(stale)

    def run_beside(self, wake: Any) -> None:
        """Nothing beside the candle loop for a paper portfolio."""

    def close(self) -> None:
        """Nothing to stop."""

    def set_controls(self, paused: bool, emergency_stop: bool, *, actor: str) -> None:
        """The spec's controls, on every pair (an emergency stop flattens them all at their
        next close); each change audited."""
        with self.lock:
            engines = [s.engine for s in self.book.sleeves]
            stopped = any("emergency_stop" in e.risk.state.open or e.emergency_requested for e in engines)
            before = {"paused": all(e.paused for e in engines), "emergencyStop": stopped}
            after = {"paused": paused, "emergencyStop": emergency_stop}
            if before == after:
                return
            for engine in engines:
                engine.paused = paused
                if emergency_stop and not stopped:
                    engine.emergency_stop()
                elif not emergency_stop and stopped:
                    engine.clear_emergency_stop()
            self.book.changed()
            self.store.audit(actor, self.bot.name, "controls", before, after)

    @property
    def phase(self) -> str:
        return str(self.summary()["phase"])

    # -- work --------------------------------------------------------------------------------
    def step(self, limit: int | None = None) -> int:
        """Process the next ready minutes (at most `limit` candles of each symbol); returns how
        many minutes there were."""
        with self.lock:
            return self._step(limit or self.batch)

    def _step(self, limit: int) -> int:
        if self.warming:
            if not self._warm_up():
                return 0
            self.checkpoint([], [], [])  # the bot is live: its status says since when
        watched, end = self.symbols, None
        if self.follows_picks:
            followed = self._follow()
            if followed is None:
                return 0
            watched, end = followed
        loaded = self._load(watched, limit, end)
        if loaded is None:
            return 0
        minutes, loaded = loaded
        if (
            not self.follows_picks
            and self.rule is not None
            and not self._pick(minutes[0] if self.cursor is None else self.cursor + 1, minutes[-1])
        ):
            self.checkpoint([], [], [])  # the status says why the minute waits
            return 0
        marks = []
        none: dict[int, Candle] = {}
        for t in minutes:
            self.book.step_rows(t, [loaded.get(s, none).get(t) for s in self.symbols])
            if self.book.last_time != t:
                continue  # no pair awake had a candle that minute: not stepped (nor in a backtest)
            equity = self.book.equity[-1]
            self.peak = max(self.peak, equity)
            marks.append((t, self.book.to_quote(equity), self.book.to_quote(self.book.cash)))
        self.cursor = minutes[-1]
        drained_fills, drained_orders, funding = [], [], []
        for sleeve in self.book.sleeves:
            engine = sleeve.engine
            fills, orders = engine.drain()
            drained_fills += [(sleeve.symbol, f) for f in fills]
            drained_orders += [(sleeve.symbol, o) for o in orders]
            funding += [(sleeve.symbol, event) for event in engine.funding_events]  # stored once each
            engine.funding_events = []
        self.book.times.clear()
        self.book.equity.clear()
        self.book.open_counts.clear()
        fills, orders = self.numbering.number(drained_fills, drained_orders)
        self.checkpoint(fills, orders, marks, funding)
        metrics.count_fills(self.bot.name, [f for _, f in fills])
        return len(minutes)

    def _load(
        self, watched: list[str], limit: int, end: int | None
    ) -> tuple[list[int], dict[str, dict[int, Candle]]] | None:
        """The next minutes every watched pair's stored candles have reached (a stale pair's
        are skipped, never waited on), and each pair's candles of them; None: wait."""
        start = None if self.cursor is None else self.cursor + 1
        loaded: dict[str, dict[int, Candle]] = {}
        ready: int | None = None  # the last minute every live pair's candles have reached
        for symbol in watched:
            rows = self.candles.load(self.keys[symbol], start=start, end=end, limit=limit)
            candles = self.collected[symbol].ready(rows, self.cursor)
            stale = "stale_data" in self.book.by_symbol[symbol].engine.risk.state.open
            if not candles and not stale:
                return None  # a pair with nothing new: its next candle may still come
            loaded[symbol] = {c.open_time: (c.open, c.high, c.low, c.close, c.volume) for c in candles}
            if candles and not stale:  # a stale pair is skipped, never waited on
                ready = candles[-1].open_time if ready is None else min(ready, candles[-1].open_time)
        if ready is None:
            return None
        return sorted({t for rows in loaded.values() for t in rows if t <= ready}), loaded

    def _follow(self) -> tuple[list[str], int] | None:
        """A universe collecting only the pairs picked and held: the next refresh picked once
        it is due, each pair it wakes fetched from the exchange (its warm-up and every minute
        since), then the pairs awake and the last minute before the refresh after — or, with
        none awake, the cursor moved on to the present, none of it stepped. None: wait."""
        assert self.cursor is not None  # a live bot: warmed at the present
        step, now = self.step_ms, self.clock()
        nxt = self.cursor + step
        if self._due() == nxt:
            if nxt > now:
                return None  # the refresh's time has not come (a candle ahead of this clock)
            picked = self._pick(nxt, nxt)
            self.checkpoint([], [], [])  # the pairs to collect now, or why the minute waits
            if not picked:
                return None
        watched = self.book.awake_at(nxt)
        if self.book.schedule.last == nxt and not self._fetch_woken(watched, nxt, now):
            return None
        end = self._due() - 1
        if not watched:
            last = min(last_closed_open_time(now, self.bot.spec.interval), end + 1 - step)
            self.cursor = self.book.last_time = max(self.cursor, last)
            return None
        return watched, end

    def _due(self) -> int:
        """The next refresh time after the cursor's minute."""
        rule, schedule = self.rule, self.book.schedule
        assert rule is not None and self.cursor is not None
        return (
            first_refresh(rule, self.cursor + 1) if schedule.last is None else schedule.last + rule.refresh_ms
        )

    def _fetch_woken(self, awake: list[str], at: int, now: int) -> bool:
        """At a refresh's minute: each awake pair whose stored candles stop before it (one the
        refresh woke) fetched from the exchange — its warm-up before `at` and every minute since
        — so it wakes warmed as in a backtest. Whether none is missing any more."""
        spans = {}
        for symbol in awake:
            key, engine = self.keys[symbol], self.book.by_symbol[symbol].engine
            newest = self.candles.last_open_time(key)
            if newest is None or newest < at - self.step_ms:
                warm = max(1, engine.strategy.warmup_length())
                spans[key] = (at - warm * self.step_ms, last_closed_open_time(now, self.bot.spec.interval))
        try:
            fetch(self.candles, self.bot.spec.source, spans, self.clock)
        except SourceUnavailable as exc:
            self.unranked = f"pairs picked at {ms_to_datetime(at)} wait for the exchange: {exc}"
            self.checkpoint([], [], [])
            return False
        self.unranked = None
        return True

    def _pick(self, first: int, last: int) -> bool:
        """The universe's refreshes up to minute `last` (`first`: the first minute not stepped
        yet), each picked from the candles closed by its time. Whether every one was (one that
        could not reach the exchange is tried again at the next step)."""
        rule, schedule, ranking = self.rule, self.book.schedule, self.ranking
        assert rule is not None and ranking is not None
        at = first_refresh(rule, first) if schedule.last is None else schedule.last + rule.refresh_ms
        while at <= last:
            try:
                schedule.add(at, ranking.pick(at))
            except SourceUnavailable as exc:
                self.unranked = f"universe refresh at {ms_to_datetime(at)} waits for the exchange: {exc}"
                log.warning("%s: %s", self.bot.name, self.unranked)
                return False
            self.unranked = None
            at += rule.refresh_ms
        return True

    def collect(self) -> list[str]:
        """The pairs whose minutes this trader needs collected: following its picks, those
        awake at the next minute (picked, or holding a position or a working order), so the
        operator runs a collector for them alone; else every pair."""
        if self.follows_picks and self.cursor is not None:
            return self.book.awake_at(self.cursor + self.step_ms)
        return list(self.symbols)

    def universe(self) -> list[tuple[int, list[str]]]:
        """The picks so far, each change and the latest refresh (empty for a fixed list)."""
        return [] if self.rule is None else self.book.schedule.changes()

    def checkpoint(
        self,
        fills: list[tuple[str, Fill]],
        orders: list[tuple[str, Order]],
        marks: list[tuple[int, Decimal, Decimal]],
        funding: list[tuple[str, tuple[int, int, int]]] | None = None,
    ) -> None:
        with self.lock:
            snapshot = {
                "portfolio": self.book.snapshot(),
                "numbering": self.numbering.state(),
                "peak": self.peak,
                "markets": {s: m.to_state() for s, m in self.markets.items()},  # each pair's units
                "universe": self.universe(),
                "collect": self.collect(),  # the operator's `status.collect`
            }
            summary = self.summary()
            self.store.save_portfolio_progress(
                self.bot.name,
                snapshot,
                summary,
                [(s, self.markets[s], f) for s, f in fills],
                [(s, self.markets[s], o) for s, o in orders],
                marks,
                [(s, self.markets[s], event) for s, event in funding or []],
            )
            self._export(summary)

    def _export(self, summary: dict[str, Any]) -> None:
        """The metrics, from the summary just committed (its equity, breakers and phase)."""
        book, name = self.book, self.bot.name
        breakers = {
            b.split(":")[-1] for b in summary["breakers"]
        }  # a pair's own: ALGOUSDT:consecutive_losses
        metrics.export_bot(
            name,
            float(summary["equity"]),
            float(book.to_quote(book.budget)),
            float(book.to_quote(self.peak)),
            breakers,
            summary["phase"],
        )
        funding, ratio = Decimal(0), 0.0
        for sleeve in book.sleeves:
            engine = sleeve.engine
            metrics.POSITION.labels(name, sleeve.symbol).set(
                float(engine.market.to_base(engine.portfolio.lots))
            )
            perp = engine.instrument.position(engine.portfolio, sleeve.close)  # None on spot
            if perp is not None:
                funding += engine.market.to_quote(perp.funding)
                ratio = max(ratio, perp.margin_ratio)
        metrics.FUNDING.labels(name).set(float(funding))  # every pair's, received (> 0) or paid
        metrics.MARGIN_RATIO.labels(name).set(ratio)  # the pair nearest its liquidation

    # -- reading -----------------------------------------------------------------------------
    def breakers(self) -> dict[str, str]:
        """The portfolio's breakers and each symbol's own (prefixed with it)."""
        out = {}
        for sleeve in self.book.sleeves:
            for name, why in sleeve.engine.risk.state.open.items():
                key = name if why.startswith("portfolio ") else f"{sleeve.symbol}:{name}"
                out.setdefault(key, why)
        return out

    def holding(self) -> str:
        """The pairs held, each with its side (`botrader up`'s position column)."""
        held = [
            f"{s.symbol} {'short' if s.engine.portfolio.lots < 0 else 'long'}"
            for s in self.book.sleeves
            if s.engine.portfolio.lots
        ]
        return ", ".join(held) or "flat"

    def summary(self) -> dict[str, Any]:
        book = self.book
        equity = book.equity_now()
        breakers = self.breakers()
        paused = all(s.engine.paused for s in book.sleeves)
        emergency = any(s.engine.emergency_requested for s in book.sleeves)
        return {
            "phase": phase_of(breakers, paused=paused, emergency=emergency),
            "message": "; ".join(m for m in (status_message(breakers, self.behind), self.unranked) if m),
            "breakers": breakers,
            "equity": book.to_quote(equity),
            "cash": book.to_quote(book.cash),
            "position": None,  # one quantity means nothing across pairs: /bots/{name} positions[]
            "pnl_percent": (equity - book.budget) / book.budget * 100,
            "trades": self.numbering.fills,
            "last_candle_time": ms_to_datetime(self.cursor) if self.cursor is not None else None,
        }
