"""`botrader optimize`: search a strategy's parameters, then say whether to believe the winner.

Everything that can be wrong with the request (strategy, space, data, options) is checked
before Ray or MLflow start, so a typo costs one line and exit 2, not a cluster's time."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from botrader.core.cli.backtest import StrategyOption
from botrader.core.cli.db import DbOption
from botrader.core.errors import UserError

DEFAULT_EXPERIMENT = "botrader-optimize"


def optimize(
    strategy: StrategyOption = "simple_rsi",
    data: Annotated[
        Path | None, typer.Option(help="Candle CSV(.gz)/parquet or a Binance dump .zip (default: read --db).")
    ] = None,
    db: DbOption = None,
    symbol: Annotated[str | None, typer.Option(help="The pair (sets the money units).")] = None,
    interval: Annotated[str, typer.Option(help="With --db: the interval.")] = "1m",
    exchange: Annotated[str, typer.Option(help="With --db: binance, binance-testnet or replay.")] = "binance",
    start: Annotated[str | None, typer.Option(help="First candle (UTC).")] = None,
    end: Annotated[str | None, typer.Option(help="Last candle (UTC).")] = None,
    space: Annotated[
        str | None,
        typer.Option(
            help="A YAML file of ranges/choices over the strategy's declared space, or the mapping "
            "inline ('{period: {low: 7, high: 28}}'; README: Searches)."
        ),
    ] = None,
    param: Annotated[
        list[str] | None, typer.Option(help="Fix a parameter NAME=VALUE (repeatable; not searched).")
    ] = None,
    trials: Annotated[int, typer.Option(help="Parameter sets to try.")] = 100,
    folds: Annotated[
        int, typer.Option(help="Contiguous folds of the search set each trial is scored on.")
    ] = 4,
    objective: Annotated[
        str, typer.Option(help="sharpe, sortino, calmar or return (mean over folds).")
    ] = "sharpe",
    holdout: Annotated[float, typer.Option(help="Fraction of the candles held out from the search.")] = 0.25,
    embargo: Annotated[
        int, typer.Option(help="Candles skipped between the search set and the held-out tail.")
    ] = 60,
    budget: Annotated[float, typer.Option(help="Starting cash in the quote asset.")] = 10_000.0,
    fee: Annotated[float, typer.Option(help="Fee rate per fill (0.001 = 0.1%).")] = 0.001,
    slippage_bps: Annotated[float, typer.Option(help="Slippage in basis points, against you.")] = 0.0,
    fill: Annotated[str, typer.Option(help="close or next_open.")] = "close",
    seed: Annotated[int, typer.Option(help="The sampler's seed (same seed, same proposals).")] = 0,
    ray_address: Annotated[
        str | None,
        typer.Option(help="Ray cluster (default $RAY_ADDRESS, else a local Ray); 'none': this process."),
    ] = None,
    concurrency: Annotated[int | None, typer.Option(help="Ray trials at once (default: all CPUs).")] = None,
    max_pbo: Annotated[float, typer.Option(help="The gate: highest PBO that passes.")] = 0.5,
    min_dsr: Annotated[float, typer.Option(help="The gate: lowest Deflated Sharpe that passes.")] = 0.5,
    experiment: Annotated[str, typer.Option(help="MLflow experiment.")] = DEFAULT_EXPERIMENT,
    mlflow_uri: Annotated[
        str | None,
        typer.Option(help="Tracking URI (default $MLFLOW_TRACKING_URI or ./mlflow.db); 'none': no tracking."),
    ] = None,
    report: Annotated[
        Path | None, typer.Option(help="Write the card as an HTML page with its charts (MLflow gets it too).")
    ] = None,
    run_name: Annotated[
        str | None, typer.Option(help="Names the MLflow run and tags it (an OptimizationRun's name).")
    ] = None,
    walk_forward: Annotated[
        bool,
        typer.Option(
            "--walk-forward",
            help="--strategy ppo: retrain the winner's hyperparameters at each of --folds origins and "
            "trade each next block (one training per fold). Rule strategies' walk-forward is always on.",
        ),
    ] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
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
    from botrader.core.cli.backtest import parse_params
    from botrader.core.research.card import Gate

    options = runner.Options(
        strategy=strategy,
        data=data,
        db=db,
        symbol=symbol,
        interval=interval,
        exchange=exchange,
        start=start,
        end=end,
        space=space,
        params=parse_params(param or []),
        trials=trials,
        folds=folds,
        objective=objective,
        holdout=holdout,
        embargo=embargo,
        budget=budget,
        fee=fee,
        slippage_bps=slippage_bps,
        fill=fill,
        seed=seed,
        ray_address=ray_address,
        concurrency=concurrency,
        gate=Gate(max_pbo=max_pbo, min_dsr=min_dsr),
        experiment=experiment,
        mlflow_uri=mlflow_uri,
        run_name=run_name,
        report=report,
        walk_forward=walk_forward,
    )
    request = runner.prepare(options)
    if json_out:
        with contextlib.redirect_stdout(sys.stderr):  # stdout is the one object (MLflow prints links)
            result = runner.run(request)
        typer.echo(json.dumps(result))
        return
    _run_with_progress(runner, request)


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
