"""`botrader up`: run what a manifest needs in one process, no cluster required.

Today that is the market-data collector (live or replay) with a live candle table;
the paper trader and the status API join it as they land.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from botrader.core import settings
from botrader.core.cli.common import require, setup_logging
from botrader.core.cli.db import DbOption
from botrader.core.cli.live_table import LiveCandles
from botrader.core.errors import UserError
from botrader.core.manifests import TradingBot, load_manifests, parse_trading_bot
from botrader.core.signals import stop_on_signals


def up(
    file: Annotated[
        Path, typer.Option("-f", "--file", help="TradingBot manifest (YAML), as for kubectl apply.")
    ],
    db: DbOption = None,
    port: Annotated[int, typer.Option(help="HTTP port for /healthz and /metrics.")] = 8001,
    duration: Annotated[float | None, typer.Option(help="Stop after this many seconds.")] = None,
    speed: Annotated[float | None, typer.Option(help="Override spec.replay.speed.")] = None,
) -> None:
    """Run a bot manifest locally (embedded mode: SQLite, everything in one process)."""
    setup_logging("WARNING")
    bots = [
        parse_trading_bot(d, source=str(file), manifest_dir=file.parent)
        for d in load_manifests(file)
        if d.get("kind") == "TradingBot"
    ]
    if not bots:
        raise UserError(f"{file}: no TradingBot in the manifest")
    bot = bots[0]
    service = require("botrader.services.collector.service")
    spec = bot.spec
    cfg = service.CollectorConfig(
        symbols=[spec.symbol],
        interval=spec.interval,
        source=spec.source,
        db_url=settings.db_url(db),
        replay_file=bot.replay_path(),
        duration=duration,
        port=port,
        speed=speed if speed is not None else (spec.replay.speed if spec.replay else 60.0),
    )
    if cfg.replay_file is not None and not cfg.replay_file.is_file():
        raise UserError(f"{file}: spec.replay.path {spec.replay.path!r} not found")  # type: ignore[union-attr]
    view = LiveCandles(cfg.keys()[0])
    asyncio.run(_run(cfg, view, service, bot))


async def _run(cfg: object, view: LiveCandles, service: object, bot: TradingBot) -> None:
    from rich.console import Console
    from rich.live import Live

    console = Console()
    if not console.is_terminal:
        console = Console(width=120)  # logs and CI: room for every column
    stop = asyncio.Event()
    stop_on_signals(stop)
    spec = bot.spec
    console.print(
        f"[bold]botrader up[/bold]: {bot.name} ({spec.symbol} {spec.interval}, source {spec.source})"
    )
    with Live(view.render(), console=console, refresh_per_second=4, transient=False) as live:

        def on_commit(key: object, candles: object, changed: int) -> None:
            view.add(key, candles, changed)  # type: ignore[arg-type]
            live.update(view.render())

        result = await service.run_collector(cfg, stop=stop, on_commit=on_commit)  # type: ignore[attr-defined]
    console.line()
    console.print(f"stopped: {result.written} candles written to {cfg.db_url}")  # type: ignore[attr-defined]
