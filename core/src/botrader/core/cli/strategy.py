"""`botrader strategy`: list, check and start strategies (the strategy SDK's commands)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Annotated

import typer

from botrader.core.cli.backtest import file_symbol, parse_params
from botrader.core.cli.common import console

app = typer.Typer(help="Write, list and check strategies (yours and the built-ins).", no_args_is_help=True)


@app.command("list")
def list_strategies(
    json_out: Annotated[bool, typer.Option("--json", help="One JSON array.")] = False,
) -> None:
    """Every registered strategy: description, parameters (type, default, bounds, search), exits."""
    from rich.table import Table

    from botrader.core.strategy.registry import describe_all

    found = describe_all()
    if json_out:
        typer.echo(json.dumps(found))
        return
    table = Table(title="registered strategies (yours: --strategy path/to/file.py:Class)", show_lines=True)
    for col in ("name", "description", "parameters", "exits", "from"):
        table.add_column(col)
    for s in found:
        params = "\n".join(
            f"{k}={p['default']!r}" + (f" search {p['search']}" if "search" in p else "")
            for k, p in s["params"].items()
        )
        exits = ", ".join(f"{k} {v}" for k, v in s["exits"].items()) or "–"
        name = s["name"] + (f" ({', '.join(s['aliases'])})" if s["aliases"] else "")
        table.add_row(name, s["description"], params or "–", exits, s["source"])
    console().print(table)


@app.command()
def check(
    ref: Annotated[
        str, typer.Argument(help="A registered name, path/to/file.py:Class or package.module:Class.")
    ],
    data: Annotated[Path, typer.Option(help="Candle CSV(.gz)/parquet or a Binance dump .zip.")],
    param: Annotated[list[str] | None, typer.Option(help="Parameter NAME=VALUE (repeatable).")] = None,
    symbol: Annotated[
        str | None, typer.Option(help="The pair (default: from a dump's name, else BTCUSDT).")
    ] = None,
    fill: Annotated[str, typer.Option(help="close or next_open.")] = "close",
    fee: Annotated[float, typer.Option(help="Fee rate per fill.")] = 0.001,
    seed: Annotated[int, typer.Option(help="Chooses where the resume check stops.")] = 0,
    cuts: Annotated[
        int, typer.Option(min=1, max=500, help="Truncated histories for the look-ahead check.")
    ] = 20,
    json_out: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
) -> None:
    """Look-ahead, warm-up, determinism and exact-resume checks. Exit 0 when clean, 1 with a
    report naming the first candle and field that differ."""
    from botrader.core.binance.filters import rules_for
    from botrader.core.data.files import read_candles_frame
    from botrader.core.engine.engine import EngineConfig
    from botrader.core.engine.execution import ExecutionConfig
    from botrader.core.strategy.check import run_checks
    from botrader.core.strategy.registry import resolve

    cls = resolve(ref)
    params = parse_params(param or [])
    cls(**params)  # bad parameters: one line, exit 2, before any work
    frame = read_candles_frame(data)
    config = EngineConfig(
        market=rules_for(file_symbol(data, symbol)),
        execution=ExecutionConfig(fee_rate=fee, fill=fill),  # type: ignore[arg-type]
    )
    with console().status(f"checking {cls.name} on {len(frame):,} candles"):
        findings = run_checks(cls, params, frame, config, seed=seed, cuts=cuts)
    clean = all(f.ok for f in findings)
    if json_out:
        typer.echo(
            json.dumps(
                {"strategy": cls.name, "clean": clean, "checks": [dataclasses.asdict(f) for f in findings]}
            )
        )
    else:
        out = console()
        for f in findings:
            mark = "[green]ok[/green]    " if f.ok else "[red]FAILED[/red]"
            out.print(f"{f.check:<12} {mark} {f.detail}")
        out.print(f"{cls.name}: " + ("clean" if clean else "not clean — see above"))
    raise typer.Exit(0 if clean else 1)


@app.command()
def new(
    name: Annotated[
        str, typer.Argument(help="The strategy's name, e.g. my_strategy (writes my_strategy.py).")
    ],
    folder: Annotated[Path, typer.Option(help="Where to write it.")] = Path("."),
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented strategy template that passes `botrader strategy check`."""
    from botrader.core.strategy.template import class_name, write_template

    path = write_template(name, folder, force=force)
    ref = f"{path}:{class_name(name)}"
    typer.echo(f"wrote {path} (class {class_name(name)}); try: botrader strategy check {ref} --data FILE")
