"""`botrader train`: PPO agents per budget, tracked in MLflow."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from botrader.core.cli.common import require
from botrader.core.errors import UserError


def _budgets(text: str) -> list[float]:
    try:
        values = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise UserError(f"bad --budgets {text!r}: expected numbers like 1000,10000") from None
    if not values or any(v <= 0 for v in values):
        raise UserError(f"bad --budgets {text!r}: every budget must be > 0")
    return values


def train(
    data: Annotated[
        Path, typer.Option(help="Dataset parquet (botrader dataset build) or candle CSV/parquet.")
    ],
    budgets: Annotated[
        str, typer.Option(help="Comma-separated budgets; one agent each.")
    ] = "1000,10000,50000,100000",
    timesteps: Annotated[int, typer.Option(help="Environment steps per agent.")] = 200_000,
    num_envs: Annotated[int, typer.Option(help="Parallel environments per agent.")] = 64,
    learning_rate: Annotated[float, typer.Option(help="Adam step size.")] = 3e-4,
    window_size: Annotated[int, typer.Option(help="Episode length in candles.")] = 240,
    window_overlap: Annotated[float, typer.Option(help="Overlap of training windows (fraction).")] = 0.25,
    action_deadzone: Annotated[
        float, typer.Option(help="|action| below this holds (no order, no fee).")
    ] = 0.2,
    fee: Annotated[float, typer.Option(help="Fee rate per fill.")] = 0.001,
    eval_every: Annotated[int, typer.Option(help="Updates between validation runs.")] = 5,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 1,
    device: Annotated[str, typer.Option(help="cpu or cuda.")] = "cpu",
    experiment: Annotated[str, typer.Option(help="MLflow experiment.")] = "Deep_RL_Trading",
    mlflow_uri: Annotated[
        str | None, typer.Option(help="Tracking URI (default $MLFLOW_TRACKING_URI or ./mlflow.db).")
    ] = None,
    ray_address: Annotated[
        str | None, typer.Option(help="Ray cluster (default $RAY_ADDRESS or local); 'none' = no Ray.")
    ] = None,
    symbol: Annotated[str, typer.Option(help="Recorded with the model.")] = "BTCUSDT",
    interval: Annotated[str, typer.Option(help="Recorded with the model.")] = "1m",
    run_name: Annotated[
        str | None, typer.Option(help="Names the run in the metrics (default: the experiment).")
    ] = None,
    metrics_port: Annotated[
        int | None, typer.Option(help="Serve training metrics (Prometheus) on this port while training.")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Train one PPO agent per budget; validate, test and register each in MLflow."""
    ppo = require("botrader.jobs.train.ppo")
    runner = require("botrader.jobs.train.run")
    hp = ppo.Hyperparameters(
        total_timesteps=timesteps,
        num_envs=num_envs,
        learning_rate=learning_rate,
        window_size=window_size,
        action_deadzone=action_deadzone,
        window_overlap=window_overlap,
        fee_rate=fee,
        eval_every=eval_every,
        seed=seed,
        device=device,
    )
    hp.validate()
    request = runner.TrainRequest(
        data=data,
        budgets=_budgets(budgets),
        hyperparameters=hp,
        experiment=experiment,
        tracking_uri=mlflow_uri,
        ray_address=ray_address,
        symbol=symbol,
        interval=interval,
        run_name=run_name or experiment,
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
    from rich.table import Table

    def f(x: float | None, pct: bool = False) -> str:
        return "–" if x is None else (f"{x:+.2%}" if pct else f"{x:.2f}")

    table = Table(title="PPO agents on the test split (after fees)")
    for col in (
        "budget",
        "val Sharpe",
        "test Sharpe",
        "test return",
        "test max DD",
        "B&H Sharpe",
        "B&H return",
        "B&H max DD",
        "RSI Sharpe",
        "RSI return",
        "RSI max DD",
    ):
        table.add_column(col, justify="right")
    for r in results:
        bh, rsi = r["baselines"]["buy_and_hold"], r["baselines"]["simple_rsi"]
        table.add_row(
            f"{r['budget']:,.0f}",
            f(r["val_sharpe"]),
            f(r["test_sharpe"]),
            f(r["test_return"], True),
            f(-r["test_max_drawdown"], True),
            f(bh["sharpe"]),
            f(bh["return"], True),
            f(-bh["max_drawdown"], True),
            f(rsi["sharpe"]),
            f(rsi["return"], True),
            f(-rsi["max_drawdown"], True),
        )
    return table
