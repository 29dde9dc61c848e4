"""A bot whose orders go to a venue (Binance's Spot Testnet): the engine decides as for paper
trading — its paper fills are the shadow the divergence report compares against — and every
order it places is sent through the venue executor, committed before it is sent. The venue's
fills are the truth for the bot's position. The user data stream brings the venue's news
between candles (it wakes the loop); each (re)subscription asks for a reconciliation.

The venue can stop a bot: a reset account (breaker `venue_reset`, for good: history kept,
nothing old re-sent) or an IP ban (418, breaker `venue_banned`, lifted when the ban ends).
Either makes the bot Degraded (`botrader.core.phases`); the engine sends nothing meanwhile."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from botrader.core.db.venue import VenueStore
from botrader.core.timeutil import ms_to_datetime, now_ms
from botrader.core.venue.divergence import Divergence, divergence
from botrader.core.venue.errors import Banned, VenueError
from botrader.core.venue.executor import Executor, Reconciled, VenueReset
from botrader.core.venue.ledger import Ledger
from botrader.core.venue.orders import Intent, client_order_id
from botrader.core.venue.user_stream import RESUBSCRIBED, UserStream
from botrader.services.trader import metrics
from botrader.services.trader.trader import PaperTrader

log = logging.getLogger(__name__)
RESET, BANNED = "venue_reset", "venue_banned"
BUY_MARGIN = Decimal("0.002")
STREAM_WAIT_S = 5.0  # above the last close: the spread and a tick or two


class VenueTrader(PaperTrader):
    def __init__(
        self,
        *args: Any,
        executor: Executor,
        base_asset: str,
        quote_asset: str,
        stream: UserStream | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.executor, self.base_asset, self.quote_asset = executor, base_asset, quote_asset
        self.stream = stream
        self.venue = VenueStore(self.store.engine)
        self.observed: set[str] = set()  # decisions whose slippage the histogram has
        self.unsettled = True  # until the first reconcile says otherwise
        self.banned_until = 0  # ms; a restart forgets it: the next request finds out again

    def start(self, actor: str = "trader") -> None:
        super().start(actor)
        for counter in (metrics.VENUE_STREAM_EVENTS, metrics.VENUE_RECONCILE_FILLS):
            counter.labels(self.bot.name)  # exported as 0 from the start, so rate() works
        self.reconcile()

    def run_beside(self, wake: Callable[[], None]) -> None:
        """The user data stream, subscribed before the first order goes out (if it can be
        within STREAM_WAIT_S: trading does not wait longer; reconciling covers the gap)."""
        if self.stream is not None:
            self.stream.on_event = wake
            if not self.stream.start().wait_subscribed(STREAM_WAIT_S):
                log.warning("%s: user data stream not subscribed yet; trading on", self.bot.name)

    def close(self) -> None:
        if self.stream is not None:
            self.stream.stop()

    def _step(self, limit: int | None) -> int:
        self.follow_venue()
        return super()._step(limit)

    def follow_venue(self) -> None:
        """Before each step: lift a ban that has ended, apply what the stream brought, and
        reconcile after a (re)subscription — events while it was down are lost to it."""
        if BANNED in self.engine.risk.state.open and now_ms() >= self.banned_until:
            self.engine.risk.clear(BANNED)
            log.info("%s: the venue's ban has ended; trading again", self.bot.name)
            self.reconcile()
        events = self.stream.drain() if self.stream is not None else []
        for event in events:
            if event is not RESUBSCRIBED and self.executor.on_event(event):
                metrics.VENUE_STREAM_EVENTS.labels(self.bot.name).inc()
        if any(event is RESUBSCRIBED for event in events):
            self.reconcile()

    def ban(self, exc: Banned) -> None:
        """418: nothing is sent until the ban's end; the bot is Degraded meanwhile."""
        self.banned_until = exc.until_ms
        until = ms_to_datetime(exc.until_ms).isoformat(timespec="seconds")
        with self.lock:
            self.engine.risk.trip(BANNED, f"the venue banned this IP until {until} (HTTP 418)")
        log.error("%s: banned by the venue until %s", self.bot.name, until)

    def reconcile(self) -> Reconciled | None:
        """Settle what the venue did while we were away; a reset account degrades the bot for
        good, a ban until it ends, a rate limit waits for the next step."""
        began = time.perf_counter()
        try:
            found = self.executor.reconcile()
        except VenueReset as exc:
            with self.lock:
                self.engine.risk.trip(RESET, str(exc))
                self.checkpoint([], [], [])
            log.error("%s: %s", self.bot.name, exc)
            return None
        except Banned as exc:
            self.ban(exc)
            self.checkpoint([], [], [])
            return None
        except VenueError as exc:
            log.warning("%s: reconciling later: %s", self.bot.name, exc)
            self.unsettled = True
            return None
        metrics.VENUE_RECONCILE_SECONDS.labels(self.bot.name).observe(time.perf_counter() - began)
        metrics.VENUE_RECONCILE_FILLS.labels(self.bot.name).inc(found.fills)
        metrics.VENUE_WEIGHT.labels(self.bot.name).set(self.executor.client.limits.weight_1m)
        # only an unsettled order makes the next steps ask the database and the venue again
        self.unsettled = bool(self.venue.orders(self.bot.name, final=False))
        if found.unknown_open:
            log.warning(
                "%s: open orders of this bot the database does not know: %s",
                self.bot.name,
                found.unknown_open,
            )
        return found

    def _set_controls(self, paused: bool, emergency_stop: bool, actor: str) -> None:
        """An emergency stop also cancels the bot's resting orders on the venue; the engine's
        flattening sell then goes out as any order does. A pause sends nothing new; resting
        orders stay (GET /bots/{name}/orders lists them)."""
        was = self.venue_closed or self.engine.emergency_requested
        super()._set_controls(paused, emergency_stop, actor)
        if emergency_stop and not was:
            self.cancel_open()
            self.flatten()

    def flatten(self) -> None:
        """Sell what the venue holds for this bot, at market, now — not at the next candle's
        close, and all of it, whatever the paper engine believes it holds (its own flattening
        sell then finds nothing left to sell). The order's decision is negative: no paper order
        stands behind it."""
        lots = int(self.ledger().base / self.market.step_size)
        if lots <= 0 or self.venue_closed:
            return
        decision = -(len(self.venue.orders(self.bot.name)) + 1)
        client_id = client_order_id(self.executor.prefix, decision)
        intent = Intent(client_id, self.bot.name, self.bot.spec.symbol, "SELL", lots, decision, now_ms())
        try:
            self.executor.submit(intent)
        except Banned as exc:
            self.ban(exc)

    def cancel_open(self) -> int:
        """Cancel every order of this bot the venue may still hold; how many it canceled."""
        canceled = 0
        for order in self.venue.orders(self.bot.name, final=False):
            if order.venue_id is None:
                continue  # not acknowledged: reconciling settles it
            try:
                report = self.executor.client.cancel(order.intent.client_id)
            except VenueError as exc:  # filled meanwhile, or gone: the next reconcile says which
                log.warning("%s: cancel %s: %s", self.bot.name, order.intent.client_id, exc)
                continue
            self.venue.save(order.apply(report), now_ms())
            canceled += 1
        return canceled

    @property
    def venue_closed(self) -> bool:
        """The account was wiped (never send into it) or the IP is banned."""
        return RESET in self.engine.risk.state.open or BANNED in self.engine.risk.state.open

    def execute(self, orders: list[Any]) -> None:
        if self.venue_closed:
            return
        spec = self.bot.spec
        for order in orders:
            lots = self.affordable(order.side, order.lots)
            if lots <= 0:
                continue
            intent = Intent(
                client_id=client_order_id(self.executor.prefix, order.id),
                bot=self.bot.name,
                symbol=spec.symbol,
                side=order.side.upper(),
                lots=lots,
                decision=order.id,
                created_ms=now_ms(),
            )
            try:
                sent = self.executor.submit(intent)
            except Banned as exc:
                self.ban(exc)
                return
            self.count(sent)
            self.unsettled |= not sent.state.final
        if self.unsettled:  # a lost answer, or an intent a crash left unsent: ask now, not on restart
            self.reconcile()

    def count(self, order: Any) -> None:
        """The venue metrics for an order just sent: its state and the weight used."""
        metrics.VENUE_ORDERS.labels(self.bot.name, order.state.value).inc()
        metrics.VENUE_WEIGHT.labels(self.bot.name).set(self.executor.client.limits.weight_1m)

    def _checkpoint(self, fills: list[Any], orders: list[Any], marks: list[Any], funding: list[Any]) -> None:
        super()._checkpoint(fills, orders, marks, funding)
        if fills:  # the paper fills are stored now: their decisions can be compared with the venue's
            for decision in self.divergence().decisions:
                if decision.slippage_bps is not None and decision.client_id not in self.observed:
                    metrics.VENUE_SLIPPAGE.labels(self.bot.name).observe(decision.slippage_bps)
                    self.observed.add(decision.client_id)

    def affordable(self, side: str, lots: int) -> int:
        """The engine sizes from its paper portfolio; the venue holds what its fills left — a
        buy's commission taken in the base asset makes the venue's position a little smaller
        than paper's. Sell at most what the venue holds, buy at most what this bot's budget has
        left at the last close plus a margin for the spread; the rest shows in the divergence."""
        ledger, m = self.ledger(), self.market
        if side == "sell":
            return min(lots, int(ledger.base / m.step_size))
        cash = Decimal(str(self.bot.spec.budget)) + ledger.quote
        price = m.price(self.engine.last_close_ticks) * (1 + BUY_MARGIN)
        return min(lots, int(cash / price / m.step_size)) if price > 0 else lots

    # -- what the venue says -------------------------------------------------------------
    def ledger(self) -> Ledger:
        return Ledger.of(self.venue.fills(self.bot.name), self.base_asset, self.quote_asset)

    def divergence(self) -> Divergence:
        return divergence(
            self.store.fills(self.bot.name),
            self.venue.orders(self.bot.name),
            self.venue.fills(self.bot.name),
            self.base_asset,
            self.quote_asset,
        )


def trader_for(
    bot: Any,
    candles: Any,
    store: Any,
    markets: dict[str, Any],
    *,
    batch: int = 2000,
    env: dict[str, str] | None = None,
    clock: Callable[[], int] = now_ms,
) -> Any:
    """The trader a bot's `spec.venue` asks for: paper, or the venue with the paper engine
    beside it; `clock` is the present it reads. Keys from BINANCE_API_KEY with
    BINANCE_PRIVATE_KEY_FILE or BINANCE_API_SECRET (the operator mounts the Secret's files and
    points these at them), the endpoints from BOTRADER_VENUE_REST_URL and
    BOTRADER_VENUE_WS_API_URL (default: the Spot Testnet's)."""
    import os

    from botrader.core.binance.filters import assets_of
    from botrader.core.errors import UserError
    from botrader.core.venue.binance_spot import TESTNET_REST, TESTNET_WS_API, Credentials, SpotClient
    from botrader.core.venue.orders import bot_prefix
    from botrader.services.trader.portfolio import PortfolioTrader

    venue = bot.spec.venue
    kw: dict[str, Any] = {"batch": batch, "clock": clock}
    if bot.spec.is_portfolio:
        if venue.on_exchange:
            raise UserError(f"{bot.name}: a portfolio bot trades on paper for now (spec.venue.type paper)")
        return PortfolioTrader(bot, candles, store, markets=markets, **kw)
    market = markets[bot.spec.symbol]
    if not venue.on_exchange:
        return PaperTrader(bot, candles, store, market, **kw)
    if not venue.shadow_paper:
        why = "the engine's paper fills drive its decisions"
        raise UserError(f"{bot.name}: spec.venue.shadowPaper false is not supported yet ({why})")
    env = dict(os.environ) if env is None else env
    credentials = Credentials.from_env(env)
    client = SpotClient(env.get("BOTRADER_VENUE_REST_URL", TESTNET_REST), credentials, market)
    stream = UserStream(env.get("BOTRADER_VENUE_WS_API_URL", TESTNET_WS_API), credentials)
    executor = Executor(VenueStore(store.engine), client, bot.name, bot_prefix(bot.namespace, bot.name))
    base, quote = assets_of(bot.spec.symbol)
    return VenueTrader(
        bot,
        candles,
        store,
        market,
        **kw,
        executor=executor,
        base_asset=base,
        quote_asset=quote,
        stream=stream,
    )
