"""The trader process: a PaperTrader driven by candle notifications, with probes, metrics
and a clean stop on SIGTERM (the current batch commits, then the process exits)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from botrader.core.binance.endpoints import endpoints_for
from botrader.core.binance.rest import BinanceRestClient
from botrader.core.db import connect, upgrade
from botrader.core.db.candles import NOTIFY_CHANNEL, CandleStore
from botrader.core.db.listen import libpq_dsn
from botrader.core.db.trading import TradingStore
from botrader.core.engine.units import MarketRules
from botrader.core.errors import UserError
from botrader.core.intervals import interval_ms
from botrader.core.manifests import TradingBot
from botrader.core.market_kind import filters_for
from botrader.core.shutdown import stop_on_signals
from botrader.core.timeutil import now_ms
from botrader.services.common.probe import ProbeServer
from botrader.services.trader import metrics
from botrader.services.trader.trader import PaperTrader
from botrader.services.trader.venue import trader_for
from botrader.services.trader.waker import Waker

__all__ = ["TraderSettings", "Waker", "run_trader", "run_trader_process"]

log = logging.getLogger(__name__)


@dataclass
class TraderSettings:
    db_url: str
    port: int | None = 9102
    poll_interval: float = 0.5
    actor: str = "trader"
    batch: int = 2000  # candles per committed transaction at most
    market: MarketRules | None = None  # default: Binance's filters (live) or the bundled ones (replay)
    clock: Callable[[], int] = now_ms  # the present (a live series caught up; stale data)


async def market_rules(bot: TradingBot) -> dict[str, MarketRules]:
    """Every traded pair's filters: the bundled ones on replay, else the exchange's."""
    symbols = bot.spec.traded_symbols
    if bot.spec.source == "replay":
        return {s: filters_for(s, bot.spec.market) for s in symbols}
    async with BinanceRestClient.at(endpoints_for(bot.spec.source)) as rest:  # spot's, or USD-M's
        return {s: MarketRules.from_exchange_info(await rest.exchange_info(s)) for s in symbols}


async def run_trader(
    bot: TradingBot,
    settings: TraderSettings,
    *,
    stop: asyncio.Event | None = None,
    waker: Waker | None = None,
    started: asyncio.Event | None = None,
    until_caught_up: bool = False,
    on_start: Callable[[PaperTrader], None] | None = None,
    drain_on_stop: bool = False,
) -> PaperTrader:
    """Trade until `stop` (or, with `until_caught_up`, until no candle is left). With
    `drain_on_stop`, a stop first trades what is already stored (embedded mode: the
    replay ended, the bot should see every candle of it)."""
    stop = stop or asyncio.Event()
    db = connect(settings.db_url)
    upgrade(db)
    markets = {bot.spec.symbol: settings.market} if settings.market else await market_rules(bot)
    try:
        trader = trader_for(
            bot, CandleStore(db), TradingStore(db), markets, batch=settings.batch, clock=settings.clock
        )
    except UserError as exc:  # the strategy does not import or rejects its parameters
        report_failure(bot, TradingStore(db), f"StrategyInvalid: {exc}")
        raise
    await asyncio.to_thread(trader.start, settings.actor)
    waker = waker or Waker(trader.series, poll_interval=settings.poll_interval)
    if db.dialect.name == "postgresql":
        waker.listen_postgres(libpq_dsn(settings.db_url), NOTIFY_CHANNEL)
    probe = ProbeServer(settings.port).start() if settings.port is not None else None
    loop = asyncio.get_running_loop()
    await asyncio.to_thread(trader.run_beside, lambda: loop.call_soon_threadsafe(waker.poke))
    if on_start is not None:
        on_start(trader)
    if started is not None:
        started.set()
    try:
        await _loop(trader, waker, stop, until_caught_up)
        if drain_on_stop:
            while await asyncio.to_thread(trader.step):
                pass
    finally:
        trader.close()
        await waker.close()
        if probe:
            probe.stop()
        db.dispose()
    return trader


async def _loop(trader: PaperTrader, waker: Waker, stop: asyncio.Event, until_caught_up: bool) -> None:
    live = trader.bot.spec.live
    step_ms = interval_ms(trader.bot.spec.interval)
    latency = metrics.DECISION_LATENCY.labels(trader.bot.name)
    while not stop.is_set():
        began = time.perf_counter()
        processed = await asyncio.to_thread(trader.step)
        if processed:
            latency.observe(time.perf_counter() - began)
            continue
        if until_caught_up:
            return
        if live and trader.check_stale(trader.clock(), step_ms):
            await asyncio.to_thread(trader.checkpoint, [], [], [])
        stopping = asyncio.create_task(stop.wait())
        waiting = asyncio.create_task(waker.wait())
        await asyncio.wait({stopping, waiting}, return_when=asyncio.FIRST_COMPLETED)
        for task in (stopping, waiting):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def report_failure(bot: TradingBot, store: TradingStore, message: str) -> None:
    """Why the trader cannot run, where the operator and `kubectl describe` look: the bot's
    row (phase Failed) and the container's termination message."""
    store.register(bot.name, bot.namespace, bot.spec.model_dump(by_alias=True, exclude_none=True))
    store.set_phase(bot.name, "Failed", message)
    path = Path(os.environ.get("BOTRADER_TERMINATION_LOG", "/dev/termination-log"))
    if path.exists():
        with contextlib.suppress(OSError):
            path.write_text(message[:4000])
    log.error("%s: %s", bot.name, message)


def run_trader_process(
    bot: TradingBot, settings: TraderSettings, *, until_caught_up: bool = False
) -> PaperTrader:
    async def main() -> PaperTrader:
        stop = asyncio.Event()
        stop_on_signals(stop)
        return await run_trader(bot, settings, stop=stop, until_caught_up=until_caught_up)

    return asyncio.run(main())
