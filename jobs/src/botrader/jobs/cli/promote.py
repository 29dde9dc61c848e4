"""`botrader promote MODEL`: move a registered model's @champion alias to its @challenger (or
--version N) when the version's honesty card passes the gate."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from botrader.core.cli.db import DbOption


def promote(
    model: Annotated[str, typer.Argument(help="Registered model name (botrader-ppo-BTCUSDT-1m-10000).")],
    version: Annotated[
        str | None, typer.Option(help="The version to promote (default: @challenger).")
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Promote although the card fails the gate (needs --reason).")
    ] = False,
    reason: Annotated[str | None, typer.Option(help="Why a forced promotion is right (audited).")] = None,
    max_pbo: Annotated[float, typer.Option(help="The gate: highest PBO that passes.")] = 0.5,
    min_dsr: Annotated[float, typer.Option(help="The gate: lowest Deflated Sharpe that passes.")] = 0.5,
    mlflow_uri: Annotated[
        str | None, typer.Option(help="Tracking URI (default $MLFLOW_TRACKING_URI or ./mlflow.db).")
    ] = None,
    db: DbOption = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Move @champion when the card passes (PBO <= --max-pbo, DSR >= --min-dsr); a refusal
    prints the verdict and exits 1; every promotion is an audit row (/audit)."""
    from botrader.core.research.card import Gate
    from botrader.jobs.promote import Refused
    from botrader.jobs.promote import promote as run
    from botrader.jobs.tracking import resolve_uri

    try:
        done = run(resolve_uri(mlflow_uri), model, version, Gate(max_pbo, min_dsr), force, reason, db)
    except Refused as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    if json_out:
        typer.echo(json.dumps(done.to_dict()))
        return
    was = f" (was {done.previous})" if done.previous else ""
    how = "forced: " + (done.reason or "") if done.forced else done.verdict
    print(f"models:/{done.model}@champion → version {done.version}{was}; {how}", file=sys.stdout)
