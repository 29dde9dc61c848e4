"""`botrader trade`: the paper trader service for one bot."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from botrader.core import settings
from botrader.core.cli.common import setup_logging
from botrader.core.cli.db import DbOption
from botrader.core.errors import UserError


def load_bot(bot: Path | None, name: str | None, db_url: str) -> object:
    """The TradingBot from a manifest file, or by name from the `bots` table."""
    from botrader.core.manifests import GROUP_VERSION, load_trading_bot, parse_trading_bot

    if (bot is None) == (name is None):
        raise UserError("give exactly one of --bot FILE.yaml or --name NAME")
    if bot is not None:
        return load_trading_bot(bot)
    from botrader.core.db import connect, upgrade
    from botrader.core.db.trading import TradingStore

    engine = connect(db_url)
    upgrade(engine)
    row = TradingStore(engine).bot(name or "")
    if row is None:
        raise UserError(f"no bot named {name!r} in the database")
    doc = {
        "apiVersion": GROUP_VERSION,
        "kind": "TradingBot",
        "metadata": {"name": name, "namespace": row["namespace"]},
        "spec": row["spec"],
    }
    return parse_trading_bot(doc, source=f"bots/{name}")


def trade(
    bot: Annotated[Path | None, typer.Option(help="TradingBot manifest (YAML).")] = None,
    name: Annotated[str | None, typer.Option(help="A bot already registered in the database.")] = None,
    db: DbOption = None,
    port: Annotated[int, typer.Option(help="Port for /healthz, /readyz and /metrics.")] = 9102,
    poll_interval: Annotated[
        float, typer.Option(help="Seconds between checks when no notification arrives.")
    ] = 0.5,
    batch: Annotated[
        int, typer.Option(min=1, max=100_000, help="Candles decided and committed per transaction at most.")
    ] = 2000,
    until_caught_up: Annotated[
        bool, typer.Option(help="Trade what is stored, then exit (instead of waiting for new candles).")
    ] = False,
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING…")] = "INFO",
) -> None:
    """Paper-trade a bot on the candles the collector stores, until SIGTERM/Ctrl-C."""
    setup_logging(log_level)
    from botrader.services.trader import service

    url = settings.db_url(db)
    trading_bot = load_bot(bot, name, url)
    result = service.run_trader_process(
        trading_bot,
        service.TraderSettings(db_url=url, port=port or None, poll_interval=poll_interval, batch=batch),
        until_caught_up=until_caught_up,
    )
    summary = result.summary()
    typer.echo(
        f"trader stopped: {summary['phase']}, equity {summary['equity']:.2f}, {summary['trades']} fills"
    )
