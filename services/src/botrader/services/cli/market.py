"""Market-data commands: collect (stream closed candles) and backfill (history over REST)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from botrader.core import settings
from botrader.core.cli.common import setup_logging
from botrader.core.cli.db import DbOption
from botrader.core.errors import UserError

Symbol = Annotated[str, typer.Option("--symbol", help="Trading pair, e.g. BTCUSDT.")]
Interval = Annotated[str, typer.Option("--interval", help="Candle interval (1m, 5m, 15m, 1h, …).")]


def split_symbols(values: list[str]) -> list[str]:
    """`--symbol BTCUSDT --symbol ETHUSDT` and `--symbol BTCUSDT,ETHUSDT` both work."""
    return [s for v in values for s in v.split(",") if s.strip()]


def collect(
    symbol: Annotated[
        list[str], typer.Option("--symbol", help="Pair(s) to stream; repeat or comma-separate.")
    ],
    interval: Interval = "1m",
    source: Annotated[
        str,
        typer.Option(
            help="binance, binance-testnet, binance-usdm (a USD-M perpetual: candles and funding "
            "rates), binance-usdm-testnet or replay."
        ),
    ] = "binance",
    replay_file: Annotated[Path | None, typer.Option(help="Candle CSV/parquet for --source replay.")] = None,
    speed: Annotated[
        float, typer.Option(help="Replay speed: x times real time (0 = as fast as possible).")
    ] = 60.0,
    db: DbOption = None,
    duration: Annotated[float | None, typer.Option(help="Stop after this many seconds.")] = None,
    port: Annotated[
        int, typer.Option(help="Port for /healthz, /readyz and /metrics (0 = any free port).")
    ] = 9101,
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING…")] = "INFO",
) -> None:
    """Stream closed candles into the database, filling any gap over REST.

    Runs until SIGTERM/Ctrl-C, --duration, or the end of a replay file.
    """
    setup_logging(log_level)
    from botrader.services.collector import service

    if speed < 0:
        raise UserError(f"bad --speed {speed}: must be >= 0")
    cfg = service.CollectorConfig(
        symbols=split_symbols(symbol),
        interval=interval,
        source=source,
        db_url=settings.db_url(db),
        replay_file=replay_file,
        speed=speed,
        duration=duration,
        port=port,
    )
    result = service.run_collector_process(cfg)
    typer.echo(f"collector stopped: {result.written} candles written")


def backfill(
    symbol: Symbol,
    start: Annotated[str, typer.Option(help="First candle, UTC: YYYY-MM-DD or ISO-8601.")],
    interval: Interval = "1m",
    end: Annotated[str | None, typer.Option(help="Last candle (default: the newest closed one).")] = None,
    source: Annotated[
        str, typer.Option(help="binance, binance-testnet, binance-usdm or binance-usdm-testnet.")
    ] = "binance",
    db: DbOption = None,
) -> None:
    """Fetch historical candles over REST; resumes after the last stored candle."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from botrader.core.binance.endpoints import endpoints_for
    from botrader.core.binance.rest import BinanceRestClient
    from botrader.core.candles import make_key
    from botrader.core.db import connect, upgrade
    from botrader.core.db.candles import CandleStore
    from botrader.core.timeutil import now_ms, parse_instant
    from botrader.services import backfill as job

    key = make_key(source, symbol, interval)
    start_ms, end_ms = (
        parse_instant(start, option="--start"),
        parse_instant(end, option="--end") if end else None,
    )
    endpoints = endpoints_for(source)
    engine = connect(settings.db_url(db))
    upgrade(engine)
    store = CandleStore(engine)

    async def go() -> object:
        async with BinanceRestClient.at(endpoints) as rest:
            await rest.exchange_info(key.symbol)
            plan = job.plan_backfill(store, key, start_ms, end_ms, now_ms())
            columns = (TextColumn(f"{key}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
            with Progress(*columns, transient=False) as bar:
                task = bar.add_task("backfill", total=plan.total)
                return await job.run_backfill(store, rest, plan, lambda n: bar.advance(task, n))

    result = asyncio.run(go())
    typer.echo(
        f"{key}: fetched {result.fetched}, wrote {result.written}, {result.stored_in_range} stored in range"
    )
