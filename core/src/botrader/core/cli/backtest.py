"""`botrader backtest`: replay candles through the engine and report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from botrader.core import settings
from botrader.core.cli.common import console as make_console
from botrader.core.cli.db import DbOption
from botrader.core.errors import UserError

Strategy = Annotated[str, typer.Option(help="simple_rsi, rsi_sma or ppo.")]


def _candles(
    data: Path | None,
    db: str | None,
    exchange: str,
    symbol: str,
    interval: str,
    start: str | None,
    end: str | None,
) -> object:
    from botrader.core.candles import make_key
    from botrader.core.data.files import read_candles_frame
    from botrader.core.db import connect
    from botrader.core.db.candles import CandleStore
    from botrader.core.timeutil import parse_instant

    start_ms = parse_instant(start, option="--start") if start else None
    end_ms = parse_instant(end, option="--end") if end else None
    if data is not None:
        return read_candles_frame(data, start_ms, end_ms)
    store = CandleStore(connect(settings.db_url(db)))
    key = make_key(exchange, symbol, interval)
    frame = store.load_frame(key, start_ms, end_ms)
    if frame.empty:
        raise store.missing(
            key, "choose a stored series (--exchange, --symbol) or pass --data FILE", start_ms, end_ms
        )
    return frame


def backtest(
    strategy: Strategy = "simple_rsi",
    data: Annotated[Path | None, typer.Option(help="Candle CSV(.gz)/parquet (default: read --db).")] = None,
    db: DbOption = None,
    symbol: Annotated[str, typer.Option(help="With --db: the pair.")] = "BTCUSDT",
    interval: Annotated[str, typer.Option(help="With --db: the interval.")] = "1m",
    exchange: Annotated[str, typer.Option(help="With --db: binance, binance-testnet or replay.")] = "binance",
    start: Annotated[str | None, typer.Option(help="First candle (UTC).")] = None,
    end: Annotated[str | None, typer.Option(help="Last candle (UTC).")] = None,
    bot: Annotated[
        Path | None,
        typer.Option(help="Take strategy, budget, risk and execution from a TradingBot manifest."),
    ] = None,
    model: Annotated[str | None, typer.Option(help="Model path or MLflow URI (strategy ppo).")] = None,
    param: Annotated[
        list[str] | None, typer.Option(help="Strategy parameter NAME=VALUE (repeatable).")
    ] = None,
    budget: Annotated[float, typer.Option(help="Starting cash in the quote asset.")] = 10_000.0,
    fee: Annotated[float, typer.Option(help="Fee rate per fill (0.001 = 0.1%).")] = 0.001,
    slippage_bps: Annotated[float, typer.Option(help="Slippage in basis points, against you.")] = 0.0,
    algo: Annotated[str, typer.Option(help="market, twap or vwap.")] = "market",
    slices: Annotated[int, typer.Option(help="TWAP/VWAP child orders per parent.")] = 1,
    participation: Annotated[
        float | None, typer.Option(help="Max fraction of a candle's volume per fill.")
    ] = None,
    walk_forward: Annotated[
        str | None, typer.Option(help="TRAIN,TEST candles per window, e.g. 10080,1440.")
    ] = None,
    plot: Annotated[
        Path | None, typer.Option(help="Write an HTML equity/drawdown chart with trades.")
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print one JSON object instead of tables.")
    ] = False,
) -> None:
    """Backtest a strategy on candles from a file or the database."""

    from botrader.core.engine import backtest as bt
    from botrader.core.engine import report
    from botrader.core.engine.engine import EngineConfig
    from botrader.core.engine.execution import ExecutionConfig
    from botrader.core.engine.from_manifest import engine_config, strategy_for
    from botrader.core.engine.strategies import make_strategy

    frame = _candles(data, db, exchange, symbol, interval, start, end)
    params = _parse_params(param or [])
    if bot is not None:
        from botrader.core.manifests import load_trading_bot

        spec = load_trading_bot(bot).spec
        config, name, params = engine_config(spec), spec.strategy.type, {**spec.strategy.params, **params}
    else:
        from decimal import Decimal

        execution = ExecutionConfig(
            algo=algo,
            slices=slices,
            fee_rate=fee,  # type: ignore[arg-type]
            slippage_bps=slippage_bps,
            participation=participation,
        )
        config, name = EngineConfig(budget=Decimal(str(budget)), execution=execution), strategy
    if walk_forward:
        _walk_forward(frame, name, config, walk_forward, params, json_out)
        return
    result = bt.run_backtest(
        frame, make_strategy(name, params, model) if bot is None else strategy_for(spec), config
    )
    summary = result.summary()
    if plot is not None:
        report.write_html(
            plot, result.times, result.equity, result.fill_rows(), f"{summary['strategy']} backtest", summary
        )
    if json_out:
        typer.echo(json.dumps(summary))
        return
    console = make_console()
    console.print(report.summary_table(summary))
    if plot is not None:
        console.print(f"chart written to {plot}")


def _parse_params(items: list[str]) -> dict[str, object]:
    out: dict[str, object] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise UserError(f"bad --param {item!r}: expected NAME=VALUE")
        try:
            out[key] = json.loads(raw)
        except json.JSONDecodeError:
            out[key] = raw
    return out


def _walk_forward(
    frame: object, name: str, config: object, spec: str, params: dict[str, object], json_out: bool
) -> None:

    from rich.table import Table

    from botrader.core.engine.walkforward import walk_forward
    from botrader.core.timeutil import format_ms

    try:
        train, test = (int(x) for x in spec.split(","))
    except ValueError:
        raise UserError(
            f"bad --walk-forward {spec!r}: expected TRAIN,TEST candle counts like 10080,1440"
        ) from None
    windows = walk_forward(frame, name, config, train, test, params)  # type: ignore[arg-type]
    rows = [
        {
            "test_start": w.test_start,
            "test_end": w.test_end,
            "params": w.params,
            "train_return": w.train_return,
            **{
                k: w.test[k]
                for k in ("total_return", "sharpe", "max_drawdown", "trades", "buy_and_hold_return")
            },
        }
        for w in windows
    ]
    if json_out:
        typer.echo(json.dumps({"strategy": name, "windows": rows}))
        return
    table = Table(title=f"walk-forward: {name} (train {train}, test {test} candles)")
    for col in (
        "test window (UTC)",
        "chosen params",
        "train",
        "test",
        "Sharpe",
        "max DD",
        "fills",
        "buy&hold",
    ):
        table.add_column(col, justify="right")
    for r in rows:
        window = f"{format_ms(r['test_start'])[5:]} → {format_ms(r['test_end'])[5:]}"
        table.add_row(
            window,
            " ".join(f"{k}={v}" for k, v in r["params"].items()),
            f"{r['train_return']:+.2%}",
            f"{r['total_return']:+.2%}",
            "–" if r["sharpe"] is None else f"{r['sharpe']:.2f}",
            f"{r['max_drawdown']:.2%}",
            str(r["trades"]),
            f"{r['buy_and_hold_return']:+.2%}",
        )
    make_console().print(table)
