"""The collector process: wires a source (Binance stream or replay; a USD-M source's funding
rates and mark klines beside its candles) to the writer, serves
probes and metrics, and shuts down cleanly on SIGTERM (flush, then exit, within seconds)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botrader.core.binance.endpoints import endpoints_for
from botrader.core.binance.rest import KLINES_PAGE, BinanceRestClient
from botrader.core.candles import SeriesKey, make_key
from botrader.core.data.files import read_candles_frame
from botrader.core.db import connect, upgrade
from botrader.core.db.candles import CandleStore
from botrader.core.db.funding_rates import FundingRateStore
from botrader.core.db.mark_prices import MarkPriceStore
from botrader.core.errors import UserError
from botrader.core.intervals import interval_ms
from botrader.core.shutdown import stop_on_signals
from botrader.core.timeutil import now_ms
from botrader.services.collector import metrics
from botrader.services.collector.binance_stream import BinanceStream, StreamSettings
from botrader.services.collector.funding import FundingPoller
from botrader.services.collector.marks import MarkPoller
from botrader.services.collector.replay import ReplaySource
from botrader.services.collector.writer import CandleWriter, CommitHook
from botrader.services.common.probe import ProbeServer

log = logging.getLogger(__name__)
SHUTDOWN_GRACE = 4.0  # seconds to flush on SIGTERM; Kubernetes waits 30 by default


@dataclass
class CollectorConfig:
    symbols: list[str]
    interval: str = "1m"
    source: str = "binance"
    db_url: str = "sqlite:///botrader.db"
    replay_file: Path | None = None
    speed: float = 60.0
    duration: float | None = None
    port: int | None = 9101  # probes and metrics; None: no HTTP port
    start_ms: int | None = None
    max_connection_age: float = 23.5 * 3600
    funding_every: float = 60.0  # USD-M sources: seconds between funding-rate fetches
    marks_every: float = 5.0  # … and between mark-kline fetches
    clock: Callable[[], int] = field(default=now_ms)

    def keys(self) -> list[SeriesKey]:
        if not self.symbols:
            raise UserError("no symbol given")
        return [make_key(self.source, s, self.interval) for s in self.symbols]


@dataclass
class CollectorResult:
    written: int
    connections: int


@dataclass
class _Wiring:
    source: BinanceStream | ReplaySource
    writer: CandleWriter
    ready: Callable[[], bool]
    rest: BinanceRestClient | None = None
    pollers: list[Any] = field(default_factory=list)  # a perpetual's funding rates and marks

    async def run(self) -> None:
        await asyncio.gather(self.source.run(), *(p.run() for p in self.pollers))


async def run_collector(
    cfg: CollectorConfig,
    *,
    stop: asyncio.Event | None = None,
    on_commit: CommitHook | None = None,
    ready: asyncio.Event | None = None,
) -> CollectorResult:
    """Run until `stop` is set, `duration` passes, or a replay ends."""
    keys = cfg.keys()
    metrics.declare([(k.symbol, k.interval) for k in keys])
    if cfg.source == "replay" and cfg.replay_file is None:
        raise UserError("--source replay needs --replay-file")
    replayed = replay_frames(cfg, keys) if cfg.replay_file and cfg.source == "replay" else None
    engine = connect(cfg.db_url)
    upgrade(engine)
    store = CandleStore(engine)
    try:
        if replayed is not None:
            wiring = _replay(replayed, cfg, store, on_commit)
        else:
            wiring = await _live(keys, cfg, store, on_commit)
        probe = ProbeServer(cfg.port, ready=wiring.ready).start() if cfg.port is not None else None
        if ready is not None:
            ready.set()
        try:
            await _supervise(wiring.run(), wiring.writer, stop or asyncio.Event(), cfg.duration)
        finally:
            if probe:
                probe.stop()
            if wiring.rest:
                await wiring.rest.aclose()
    finally:
        engine.dispose()
    return CollectorResult(wiring.writer.written, getattr(wiring.source, "connections", 0))


def replay_frames(cfg: CollectorConfig, keys: list[SeriesKey]) -> dict[SeriesKey, Any]:
    """The replayed candles of each series: one file for one symbol, or a folder of Binance
    dump files for several (a portfolio's; each file's name gives its symbol)."""
    assert cfg.replay_file is not None
    if not cfg.replay_file.is_dir():
        return {keys[0]: read_candles_frame(cfg.replay_file)}
    from botrader.core.data.files import frames_by_symbol

    frames = frames_by_symbol([cfg.replay_file], [k.symbol for k in keys], None, None)
    return {k: frames[k.symbol] for k in keys}


def _replay(
    series: dict[SeriesKey, Any], cfg: CollectorConfig, store: CandleStore, on_commit: CommitHook | None
) -> _Wiring:
    writer = CandleWriter(store, on_commit=on_commit)
    source = ReplaySource(series, cfg.speed, writer)
    writer.clock = source.clock  # lag is measured on the replayed market's clock
    return _Wiring(source, writer, ready=lambda: True)


async def _live(
    keys: list[SeriesKey], cfg: CollectorConfig, store: CandleStore, on_commit: CommitHook | None
) -> _Wiring:
    endpoints = endpoints_for(cfg.source)
    rest = BinanceRestClient.at(endpoints, clock=cfg.clock)
    try:
        for key in keys:
            await rest.exchange_info(key.symbol)  # fail fast, in one line, on an unknown symbol
    except BaseException:
        await rest.aclose()
        raise
    writer = CandleWriter(store, clock=cfg.clock, on_commit=on_commit)
    last = {k: store.last_open_time(k) for k in keys}
    settings = StreamSettings(endpoints.ws_url, cfg.start_ms, cfg.max_connection_age)
    source = BinanceStream(keys, settings, rest, writer, last, clock=cfg.clock)
    pollers = _perpetual(cfg, rest, store)
    return _Wiring(source, writer, ready=source.connected.is_set, rest=rest, pollers=pollers)


def _perpetual(cfg: CollectorConfig, rest: BinanceRestClient, store: CandleStore) -> list[Any]:
    """A USD-M source's funding rates and mark klines beside its candles (none elsewhere)."""
    if not endpoints_for(cfg.source).usdm:
        return []
    first = cfg.start_ms
    if first is None:  # as far back as the candles' first catch-up reaches
        first = cfg.clock() - KLINES_PAGE * interval_ms(cfg.interval)
    symbols, clock = [s.upper() for s in cfg.symbols], cfg.clock
    rates, marks = FundingRateStore(store.engine), MarkPriceStore(store.engine)
    return [
        FundingPoller(cfg.source, symbols, rest, first, cfg.funding_every, clock, store=rates),
        MarkPoller(
            cfg.source, symbols, rest, first, cfg.marks_every, clock, interval=cfg.interval, store=marks
        ),
    ]


async def _supervise(
    source_run: object, writer: CandleWriter, stop: asyncio.Event, duration: float | None
) -> None:
    writer_task = asyncio.create_task(writer.run(), name="writer")
    source_task = asyncio.create_task(source_run, name="source")  # type: ignore[arg-type]
    stop_task = asyncio.create_task(stop.wait(), name="stop")
    try:
        done, _ = await asyncio.wait(
            {source_task, stop_task, writer_task}, timeout=duration, return_when=asyncio.FIRST_COMPLETED
        )
        for task in done:
            if task is not stop_task and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
        if source_task in done and not stop.is_set():
            # a replay that ended: every candle it played is written, however far behind the
            # writer is (the grace below is for a stop, and would drop the backlog)
            await asyncio.wait(
                {asyncio.ensure_future(writer.drain()), stop_task, writer_task},
                return_when=asyncio.FIRST_COMPLETED,
            )
    finally:
        source_task.cancel()
        stop_task.cancel()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(asyncio.gather(source_task, return_exceptions=True), 1.0)
            await asyncio.wait_for(writer.drain(), SHUTDOWN_GRACE)
        writer_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer_task


def run_collector_process(cfg: CollectorConfig) -> CollectorResult:
    """Entry for `botrader collect`: SIGTERM and SIGINT stop it gracefully."""

    async def main() -> CollectorResult:
        stop = asyncio.Event()
        stop_on_signals(stop)
        return await run_collector(cfg, stop=stop)

    return asyncio.run(main())
