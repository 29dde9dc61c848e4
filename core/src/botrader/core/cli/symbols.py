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
    source: Annotated[str, typer.Option(help="binance or binance-testnet.")] = "binance",
    out: Annotated[Path | None, typer.Option(help="Where to write (default: the user cache).")] = None,
) -> None:
    """Fetch every spot symbol's filters from Binance's exchangeInfo and keep the USDT pairs."""
    import asyncio

    from botrader.core.binance.endpoints import endpoints_for
    from botrader.core.binance.filters import cache_file, write
    from botrader.core.binance.rest import BinanceRestClient
    from botrader.core.errors import UserError

    endpoints = endpoints_for(source)
    if endpoints.usdm:
        raise UserError(
            f"--source {source}: refresh covers spot filters; USD-M rules (brackets from the signed "
            "leverageBracket endpoint) come from the bundled snapshot or BOTRADER_USDM_RULES"
        )

    async def fetch() -> dict:
        async with BinanceRestClient.at(endpoints) as rest:
            return await rest.exchange_info_all()

    target = out or cache_file()
    count = write(asyncio.run(fetch()), target)
    typer.echo(f"wrote the filters of {count} symbols to {target}")
