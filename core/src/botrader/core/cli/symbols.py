"""`botrader symbols`: the exchange filters that set each symbol's integer money units."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="Symbols' market rules (tick size, step size, minimum notional).", no_args_is_help=True
)


@app.command("list")
def list_symbols() -> None:
    """The symbols known without asking an exchange, and their filters."""
    from rich.table import Table

    from botrader.core.binance.filters import known, rules_for, source_file
    from botrader.core.cli.common import console

    table = Table(title=f"exchange filters from {source_file()}")
    for col in ("symbol", "tick size", "step size", "min notional"):
        table.add_column(col, justify="right")
    for symbol in sorted(known()):
        r = rules_for(symbol)
        table.add_row(symbol, str(r.tick_size), str(r.step_size), str(r.min_notional))
    console().print(table)


@app.command()
def refresh(
    source: Annotated[
        str, typer.Option(help="binance or binance-testnet (spot filters); binance-usdm (USD-M rules).")
    ] = "binance",
    out: Annotated[Path | None, typer.Option(help="Where to write (default: the user cache).")] = None,
) -> None:
    """Fetch every spot symbol's filters from Binance's exchangeInfo and keep the USDT pairs; with
    --source binance-usdm, the USD-M perpetuals' filters, liquidation fees, funding intervals and
    maintenance brackets (leverageBracket is signed: BINANCE_API_KEY with BINANCE_API_SECRET or
    BINANCE_PRIVATE_KEY_FILE; without keys the brackets in use are kept)."""
    import asyncio

    from botrader.core.binance.endpoints import endpoints_for
    from botrader.core.binance.rest import BinanceRestClient

    endpoints = endpoints_for(source)
    if endpoints.usdm:
        _refresh_usdm(endpoints, out)
        return
    from botrader.core.binance.filters import cache_file, write

    async def fetch() -> dict:
        async with BinanceRestClient.at(endpoints) as rest:
            return await rest.exchange_info_all()

    target = out or cache_file()
    count = write(asyncio.run(fetch()), target)
    typer.echo(f"wrote the filters of {count} symbols to {target}")


def _refresh_usdm(endpoints: object, out: Path | None) -> None:
    import asyncio
    import os

    from botrader.core.binance.rest import BinanceRestClient
    from botrader.core.binance.usdm import cache_file
    from botrader.core.binance.usdm_refresh import fetch_rules, write_rules
    from botrader.core.venue.binance_spot import Credentials

    credentials = Credentials.from_env() if os.environ.get("BINANCE_API_KEY") else None

    async def fetch() -> tuple:
        async with BinanceRestClient.at(endpoints) as rest:  # type: ignore[arg-type]
            return await fetch_rules(rest, credentials)

    doc, done = asyncio.run(fetch())
    target = out or cache_file()
    write_rules(doc, target)
    left = f"; {done.left_out} without brackets left out (give API keys)" if done.left_out else ""
    what = f"the USD-M rules of {done.symbols} symbols (brackets from {done.brackets_from})"
    typer.echo(f"wrote {what} to {target}{left}")
