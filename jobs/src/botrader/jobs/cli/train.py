"""`botrader train`: PPO agents per budget, tracked in MLflow.

The hyperparameter options are generated from `Hyperparameters` (one declaration: name,
type, default and the attribute docstring as help), so a new knob needs no CLI code.
"""

from __future__ import annotations

import inspect
import json
import typing
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Annotated, Any

import typer

from botrader.core.cli.generated import options_of
from botrader.core.errors import UserError
from botrader.core.market_kind import MarketOptions
from botrader.core.research.stress import BASELINES
from botrader.core.training_spec import DEFAULT_EXPERIMENT
from botrader.jobs.train.hyperparameters import Hyperparameters, docs

MARKET_FIELDS = tuple(f.name for f in fields(MarketOptions))
ALIASES = {"total_timesteps": ["--timesteps"], "fee_rate": ["--fee"]}  # the names users already type


def _budgets(text: str) -> list[float]:
    try:
        values = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise UserError(f"bad --budgets {text!r}: expected numbers like 1000,10000") from None
    if not values or any(v <= 0 for v in values):
        raise UserError(f"bad --budgets {text!r}: every budget must be > 0")
    return values


def _train(
    data: Annotated[
        Path, typer.Option(help="Dataset parquet (botrader dataset build) or candle CSV/parquet.")
    ],
    budgets: Annotated[
        str, typer.Option(help="Comma-separated budgets; one agent each.")
    ] = "1000,10000,50000,100000",
    experiment: Annotated[str, typer.Option(help="MLflow experiment.")] = DEFAULT_EXPERIMENT,
    mlflow_uri: Annotated[
        str | None, typer.Option(help="Tracking URI (default $MLFLOW_TRACKING_URI or ./mlflow.db).")
    ] = None,
    ray_address: Annotated[
        str | None, typer.Option(help="Ray cluster (default $RAY_ADDRESS or local); 'none' = no Ray.")
    ] = None,
    symbol: Annotated[
        str | None,
        typer.Option(
            help="The pair (names the model, sets money units; default: the dataset's, else BTCUSDT)."
        ),
    ] = None,
    interval: Annotated[
        str | None, typer.Option(help="Recorded with the model (default: the dataset's).")
    ] = None,
    run_name: Annotated[
        str | None, typer.Option(help="Names the run in the metrics (default: the experiment).")
    ] = None,
    metrics_port: Annotated[
        int | None, typer.Option(help="Serve training metrics (Prometheus) on this port while training.")
    ] = None,
    baseline: Annotated[
        list[str] | None,
        typer.Option(
            help="Strategies to compare with on the test split (repeatable; any reference; "
            "default: the search card's baselines, simple_rsi and rsi_sma)."
        ),
    ] = None,
    walk_forward: Annotated[
        int,
        typer.Option(
            help="Also retrain the same hyperparameters at this many origins before the test split "
            "and trade each next block (the card's walk-forward; one training per fold; 0: off)."
        ),
    ] = 0,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    **hyperparameters: Any,
) -> None:
    """Train one PPO agent per budget; validate, test and register each in MLflow. On
    --market usdm-perp the agent trades long and short (its action is a target position) in
    the engine itself, with the perpetual's funding and liquidation."""
    try:
        from botrader.jobs.train import fan_out as runner
        from botrader.jobs.train.request import TrainRequest
    except ModuleNotFoundError as exc:
        raise UserError(
            f"`botrader train` needs the RL extras ({exc.name} is missing): pip install 'botrader-jobs[rl]'"
        ) from None
    market = MarketOptions(**{k: hyperparameters.pop(k) for k in MARKET_FIELDS})
    hp = Hyperparameters(**hyperparameters)
    hp.validate()
    if walk_forward and not 2 <= walk_forward <= 20:
        raise UserError(f"bad --walk-forward {walk_forward}: 0 (off) or 2 to 20 folds")
    timesteps = hp.total_timesteps
    request = TrainRequest(
        data=data,
        budgets=_budgets(budgets),
        hyperparameters=hp,
        experiment=experiment,
        tracking_uri=mlflow_uri,
        ray_address=ray_address,
        symbol=symbol,
        interval=interval,
        run_name=run_name or experiment,
        baselines=tuple(baseline or BASELINES),
        walk_forward=walk_forward,
        market_options=market,
    )
    if metrics_port is not None:
        from prometheus_client import start_http_server

        start_http_server(metrics_port)
    if json_out:
        results = runner.run_training(request)
        typer.echo(json.dumps({"experiment": experiment, "results": results}))
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from botrader.core.cli.common import console as make_console

    console = make_console()
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console
    ) as bar:
        task = bar.add_task(
            f"training {len(request.budgets)} agent(s), {timesteps:,} steps each", total=len(request.budgets)
        )

        def done(result: dict[str, Any]) -> None:
            bar.advance(task)
            bar.console.print(f"budget {result['budget']:,.0f}: {result['model_uri']}")

        results = runner.run_training(request, on_result=done)
    console.print(results_table(results))


def results_table(results: list[dict[str, Any]]) -> Any:
    """Each agent on the test split against every baseline, after fees. A few days of test
    data have too few daily returns for a Sharpe: returns and drawdowns carry the comparison."""
    from rich.table import Table

    def f(x: float | None, pct: bool = False) -> str:
        return "–" if x is None else (f"{x:+.2%}" if pct else f"{x:.2f}")

    table = Table(title="PPO agents on the test split (after fees)")
    names = list(results[0]["baselines"]) if results else []
    columns = ["budget", "val score", "test return", "test max DD", "test Sharpe"]
    columns += [f"{n} {m}" for n in names for m in ("return", "max DD")]
    for col in columns:
        table.add_column(col, justify="right")
    for r in results:
        row = [
            f"{r['budget']:,.0f}",
            f(r.get("val_score")),
            f(r["test_return"], True),
            f(-r["test_max_drawdown"], True),
            f(r["test_sharpe"]),
        ]
        for n in names:
            row += [f(r["baselines"][n]["return"], True), f(-r["baselines"][n]["max_drawdown"], True)]
        table.add_row(*row)
    return table


def _hyperparameter_options() -> list[inspect.Parameter]:
    hints = typing.get_type_hints(Hyperparameters)
    helps = docs()
    out = []
    for f in fields(Hyperparameters):
        flag = "--" + f.name.replace("_", "-")
        kind = hints[f.name]
        names = [f"{flag}/--no-{flag[2:]}"] if kind is bool else [flag, *ALIASES.get(f.name, [])]
        option = typer.Option(*names, help=helps.get(f.name, ""), rich_help_panel="Hyperparameters")
        default = f.default if f.default is not MISSING else None
        out.append(
            inspect.Parameter(
                f.name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=Annotated[kind, option]
            )
        )
    return out


def _with_hyperparameters(func: Any) -> Any:
    """`func` with one keyword option per hyperparameter in its signature (Typer reads it)."""
    signature = inspect.signature(func, eval_str=True)
    plain = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    plain = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in plain]

    def train(**kwargs: Any) -> None:
        return func(**kwargs)

    train.__doc__ = func.__doc__
    generated = [*_hyperparameter_options(), *options_of(MarketOptions, {})]
    train.__signature__ = signature.replace(parameters=[*plain, *generated])  # type: ignore[attr-defined]
    return train


train = _with_hyperparameters(_train)
