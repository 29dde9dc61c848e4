"""`botrader optimize`: search a strategy's parameters, then say whether to believe the winner.

Everything that can be wrong with the request (strategy, space, data, options) is checked
before Ray or MLflow start, so a typo costs one line and exit 2, not a cluster's time."""

from __future__ import annotations

import contextlib
import json
import sys
from typing import Annotated, Any

import typer

from botrader.core.cli.backtest import StrategyOption
from botrader.core.cli.db import DbOption
from botrader.core.cli.generated import with_options
from botrader.core.errors import UserError
from botrader.core.optimize_options import OptimizeOptions


def _optimize(
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    **options: Any,
) -> None:
    """Search a strategy's parameters (Optuna TPE through Ray Tune) on all but a held-out tail,
    trade the winner on that tail, and judge it: PBO over every trial, Deflated Sharpe for the
    number of trials, the held-out Sharpe's PSR and bootstrap intervals. Ends with the verdict."""
    try:
        from botrader.jobs.research import run as runner
    except ModuleNotFoundError as exc:
        raise UserError(
            f"`botrader optimize` needs the research extras ({exc.name} is missing): "
            "pip install 'botrader-jobs[research]'"
        ) from None
    request = runner.prepare(OptimizeOptions(**options))
    if json_out:
        with contextlib.redirect_stdout(sys.stderr):  # stdout is the one object (MLflow prints links)
            result = runner.run(request)
        typer.echo(json.dumps(result))
        return
    _run_with_progress(runner, request)


# the options are declared once, in botrader.core.optimize_options
optimize = with_options(_optimize, OptimizeOptions, {"strategy": StrategyOption, "db": DbOption})


def _run_with_progress(runner: Any, request: Any) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from botrader.core.cli.common import console as make_console

    console = make_console()
    best: list[float] = []
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        task = bar.add_task(f"searching {request.search.strategy}", total=request.search.trials)

        def done(trial: Any) -> None:
            if trial is not None and trial.objective is not None:
                best[:] = [max([*best, trial.objective])]
            shown = f"best {request.search.objective} {best[0]:.4g}" if best else "no valid trial yet"
            bar.update(task, advance=1, description=f"searching {request.search.strategy}: {shown}")

        def fold(k: int) -> None:
            if not folds_bar:
                folds_bar.append(bar.add_task("retraining the winner per fold", total=request.search.folds))
            bar.update(folds_bar[0], completed=k)

        folds_bar: list[Any] = []
        result = runner.run(request, on_trial=done, on_fold=fold)
    runner.print_result(console, result)
