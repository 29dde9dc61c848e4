"""`botrader up`: a manifest's bot (and its TrainingRuns) on a laptop, no cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from botrader.core.cli.db import DbOption


def up(
    files: Annotated[
        list[Path],
        typer.Option(
            "-f",
            "--file",
            help="Manifest (YAML) as for kubectl apply: one TradingBot, optionally TrainingRuns; repeatable.",
        ),
    ],
    db: DbOption = None,
    port: Annotated[int, typer.Option(help="API and dashboard port (0 = any free port).")] = 8001,
    duration: Annotated[float | None, typer.Option(help="Stop after this many seconds.")] = None,
    speed: Annotated[float | None, typer.Option(help="Override spec.replay.speed.")] = None,
    exit_after_replay: Annotated[
        bool, typer.Option(help="Stop when a replay ends instead of serving on.")
    ] = False,
) -> None:
    """Run a bot manifest locally (embedded mode: SQLite, collector, trader and API in one process;
    TrainingRuns in the manifests train first, with local Ray and a local MLflow store)."""
    from botrader.services.embedded.runner import run_embedded

    run_embedded(files, db=db, port=port, duration=duration, speed=speed, exit_after_replay=exit_after_replay)
