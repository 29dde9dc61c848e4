"""Entry point of the `botrader` command.

`main()` is the one place that turns failures into exit codes: 0 success, 2 bad input
(one line naming the bad value, never a traceback), 130 interrupted.
"""

from __future__ import annotations

import sys

import typer

from botrader.core.cli import api, backtest, db, market, operator_cmd, trade, train, up
from botrader.core.errors import UserError

app = typer.Typer(
    name="botrader",
    help="Botrader: AI-driven crypto paper-trading bots, on Kubernetes or on a laptop.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command()(up.up)
app.command()(market.collect)
app.command()(market.backfill)
app.command()(backtest.backtest)
app.command()(trade.trade)
app.command()(train.train)
app.command()(api.api)
app.command(name="operator")(operator_cmd.operator)
app.add_typer(market.dataset_app, name="dataset")
app.add_typer(db.app, name="db")


def main(argv: list[str] | None = None) -> int:
    try:
        app(args=argv, prog_name="botrader")  # standalone: usage errors exit 2 with a message
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except UserError as exc:
        typer.echo(f"error: {exc}", err=True)
        return 2
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        return 130
    return 0


def run() -> None:
    sys.exit(main())
