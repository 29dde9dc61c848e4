"""`botrader backtest`: replay candles through the engine and report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from botrader.core import settings
from botrader.core.cli.common import assignments
from botrader.core.cli.common import console as make_console
from botrader.core.cli.db import DbOption
from botrader.core.cli.generated import with_options
from botrader.core.errors import UserError
from botrader.core.market_kind import MarketOptions, filters_for, with_collected


def _strategy_help() -> str:
    from botrader.core.strategy.registry import builtin_names

    return f"{', '.join(builtin_names())}, or your own: path/to/file.py:Class or package.module:Class."


StrategyOption = Annotated[str, typer.Option(help=_strategy_help())]
ExitOption = Annotated[float | None, typer.Option(rich_help_panel="Exits")]


def load_candles(
    data: Path | None,
    db: str | None,
    exchange: str,
    symbol: str,
    interval: str,
    start: str | None,
    end: str | None,
    *,
    assumed: bool = False,
) -> Any:
    """Candles from a file or a stored series, as a frame (one line naming what is missing).
    `assumed`: nobody named the symbol (a file priced as BTCUSDT by default)."""
    from botrader.core.candles import make_key
    from botrader.core.data.files import read_candles_frame
    from botrader.core.db import connect_to_read
    from botrader.core.db.candles import CandleStore
    from botrader.core.timeutil import parse_instant

    start_ms = parse_instant(start, option="--start") if start else None
    end_ms = parse_instant(end, option="--end") if end else None
    if data is not None:
        frame = read_candles_frame(data, start_ms, end_ms)
        check_on_tick(frame, symbol, data, assumed=assumed)
        return frame
    key = make_key(exchange, symbol, interval)
    url, nothing = settings.db_url(db), f"no {symbol} {interval} candles"
    store = CandleStore(connect_to_read(url, "candles", nothing, "pass --data FILE or --db URL"))
    frame = store.load_frame(key, start_ms, end_ms)
    if frame.empty:
        todo = "choose a stored series (--exchange, --symbol) or pass --data FILE"
        raise store.missing(key, todo, start_ms, end_ms)
    return frame


def collected(db: str | None, exchange: str, symbol: str, interval: str, frame: Any) -> Any:
    """What a USD-M source's collector stored beside these candles: funding rates and mark
    klines (None for other sources)."""
    from botrader.core.binance.endpoints import USDM_SOURCES

    if exchange not in USDM_SOURCES or not len(frame):
        return None
    from botrader.core.db import connect
    from botrader.core.db.funding_rates import FundingRateStore
    from botrader.core.db.mark_prices import MarkPriceStore
    from botrader.core.market_kind import Collected

    engine = connect(settings.db_url(db))
    first, last = int(frame["open_time"].iloc[0]), int(frame["open_time"].iloc[-1])
    marks = MarkPriceStore(engine).marks(exchange, symbol, interval, first - 1, last)
    return Collected(FundingRateStore(engine).schedule(exchange, symbol), marks if marks.times else None)


COARSEST_TICK = 0.0005  # of the price: a coarser tick rounds every price by more than fees


def check_on_tick(frame: Any, symbol: str, data: Path, *, assumed: bool) -> None:
    """A file is priced with its symbol's rules (--symbol, the name of a Binance dump, else
    BTCUSDT's): refuse, in one line, a tick too coarse for its prices — an ALGOUSDT file read
    as BTCUSDT would have every price rounded by up to 2.6% — and, when BTCUSDT was assumed,
    prices off its tick. (A perpetual's finer tick under its spot pair's is rounded, as said.)"""
    import numpy as np

    from botrader.core.binance.filters import rules_for
    from botrader.core.data.files import symbol_of
    from botrader.core.timeutil import format_ms

    if frame.empty:
        return
    tick = float(rules_for(symbol).tick_size)
    prices = frame[["open", "high", "low", "close"]].to_numpy(dtype=float)
    ticks = prices / tick
    off = np.abs(ticks - np.round(ticks)) > 1e-6 * np.maximum(1.0, np.abs(ticks))
    if not assumed or symbol_of(data) is not None:
        off[:] = False  # the pair is known: only a coarse tick is refused
    median = float(np.median(prices[:, 3]))
    coarse = median > 0 and tick / median > COARSEST_TICK
    if not off.any() and not coarse:
        return
    row = int(np.argmax(off.any(axis=1))) if off.any() else 0
    at = f"{format_ms(int(frame['open_time'].iloc[row]))} close {prices[row, 3]:g}"
    why = f"not on {symbol}'s tick {tick:g}" if off.any() else f"{tick / median:.2%} of the price apart"
    raise UserError(
        f"{data}: prices ({at}) are {why}, so every price would be rounded: "
        "pass --symbol with the pair this file holds"
    )


def file_symbol(data: Path | None, symbol: str | None) -> str:
    """`--symbol`, else the symbol a Binance dump's name carries, else BTCUSDT."""
    from botrader.core.data.files import symbol_of

    return (symbol or (symbol_of(data) if data else None) or "BTCUSDT").upper()


def parse_params(items: list[str]) -> dict[str, object]:
    """`--param NAME=VALUE`: values as JSON when they parse (14, 0.5, true), else text."""
    return assignments(items, "--param")


def trades_path(trades: Path | None) -> Path | None:
    """`--trades FILE`: a .csv or .parquet name (checked before any candle is read)."""
    if trades is not None and trades.suffix not in (".csv", ".parquet"):
        raise UserError(f"bad --trades {str(trades)!r}: expected a .csv or .parquet file name")
    return trades


def engine_from_options(
    market: Any,
    budget: float,
    fee: float,
    slippage_bps: float,
    fill: str,
    *,
    algo: str = "market",
    slices: int = 1,
    participation: float | None = None,
    exits: dict[str, Any] | None = None,
) -> Any:
    """The engine's settings from the command line's money and execution options (one place
    for `backtest` and `optimize`)."""
    from decimal import Decimal

    from botrader.core.engine.engine import EngineConfig
    from botrader.core.engine.execution import ExecutionConfig

    execution = ExecutionConfig(
        algo=algo,  # type: ignore[arg-type]
        slices=slices,
        fee_rate=fee,
        slippage_bps=slippage_bps,
        participation=participation,
        fill=fill,  # type: ignore[arg-type]
    )
    return EngineConfig(budget=Decimal(str(budget)), market=market, execution=execution, exits=exits or {})


def _backtest(
    strategy: StrategyOption = "simple_rsi",
    data: Annotated[
        list[Path] | None,
        typer.Option(
            help="Candle CSV(.gz)/parquet or a Binance dump .zip (default: read --db); repeat it, or "
            "give a folder of Binance dump files, for a portfolio."
        ),
    ] = None,
    db: DbOption = None,
    symbol: Annotated[
        str | None, typer.Option(help="The pair (its tick and step sizes set the money units).")
    ] = None,
    interval: Annotated[str, typer.Option(help="With --db: the interval.")] = "1m",
    exchange: Annotated[
        str | None,
        typer.Option(help="With --db: binance, binance-testnet or replay (default: --bot's source)."),
    ] = None,
    start: Annotated[str | None, typer.Option(help="First candle (UTC).")] = None,
    end: Annotated[str | None, typer.Option(help="Last candle (UTC).")] = None,
    bot: Annotated[
        Path | None,
        typer.Option(help="Take strategy, budget, risk, execution and exits from a TradingBot manifest."),
    ] = None,
    model: Annotated[str | None, typer.Option(help="Model path or MLflow URI (strategy ppo).")] = None,
    param: Annotated[
        list[str] | None, typer.Option(help="Strategy parameter NAME=VALUE (repeatable; wins over --bot's).")
    ] = None,
    budget: Annotated[float, typer.Option(help="Starting cash in the quote asset.")] = 10_000.0,
    fee: Annotated[float, typer.Option(help="Fee rate per fill (0.001 = 0.1%).")] = 0.001,
    slippage_bps: Annotated[float, typer.Option(help="Slippage in basis points, against you.")] = 0.0,
    algo: Annotated[str, typer.Option(help="market, twap or vwap.")] = "market",
    slices: Annotated[int, typer.Option(help="TWAP/VWAP child orders per parent.")] = 1,
    participation: Annotated[
        float | None, typer.Option(help="Max fraction of a candle's volume per fill.")
    ] = None,
    fill: Annotated[
        str, typer.Option(help="close: at the signal candle's close; next_open: at the next candle's open.")
    ] = "close",
    stop_loss: ExitOption = None,
    take_profit: ExitOption = None,
    trailing_stop: ExitOption = None,
    trailing_activation: ExitOption = None,
    time_stop: Annotated[int | None, typer.Option(rich_help_panel="Exits", help="Candles.")] = None,
    walk_forward: Annotated[
        str | None, typer.Option(help="TRAIN,TEST candles per window, e.g. 10080,1440.")
    ] = None,
    plot: Annotated[
        Path | None, typer.Option(help="Write an HTML equity/drawdown chart with trades.")
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print one JSON object instead of tables.")
    ] = False,
    trades: Annotated[
        Path | None,
        typer.Option(
            help="Write every fill (time, side, quantity, price, fee, PnL, reason, the strategy's "
            "explanation) to FILE.csv or FILE.parquet."
        ),
    ] = None,
    fills: Annotated[bool, typer.Option("--fills", help="With --json: add every fill as `fills`.")] = False,
    symbols: Annotated[
        str | None,
        typer.Option(
            rich_help_panel="Portfolio",
            help="SYMBOL,SYMBOL,…: one wallet over these symbols (their files in --data, or --db).",
        ),
    ] = None,
    universe: Annotated[
        str | None,
        typer.Option(
            rich_help_panel="Portfolio",
            help="top=N,lookback=7d,refresh=1d: trade the N symbols of highest trailing quote volume, "
            "picked at each refresh from the candles closed by then.",
        ),
    ] = None,
    portfolio: Annotated[
        str | None,
        typer.Option(
            rich_help_panel="Portfolio",
            help="maxOpenPositions=5,maxPositionFraction=0.25,maxGrossExposure=1,maxDrawdownFraction=0.1,"
            "stake=equal|volatility|FRACTION,onExit=close|hold.",
        ),
    ] = None,
    **market_options: Any,
) -> None:
    """Backtest a strategy on candles from a file or the database. Exits (fractions of the
    entry price; --time-stop in candles) override the strategy's own."""
    import dataclasses

    from botrader.core.backtesting import html_report as report
    from botrader.core.backtesting import runner as bt
    from botrader.core.binance.filters import rules_for
    from botrader.core.strategy.registry import resolve

    cli_exits = {
        k: v
        for k, v in {
            "stop_loss": stop_loss,
            "take_profit": take_profit,
            "trailing_stop": trailing_stop,
            "trailing_activation": trailing_activation,
            "time_stop": time_stop,
        }.items()
        if v is not None
    }
    params = parse_params(param or [])
    if model is not None:
        params["model"] = model
    paths = data or []
    manifest = None
    if bot is not None:
        from botrader.core.manifests import load_trading_bot

        manifest = load_trading_bot(bot)
    many = symbols or universe or portfolio or len(paths) > 1 or any(p.is_dir() for p in paths)
    if manifest is not None and manifest.spec.is_portfolio:
        if symbols or universe or portfolio:
            raise UserError(f"{bot}: a portfolio bot names its symbols, universe and caps itself")
        _bot_portfolio(manifest, paths, db, exchange, start, end, params, cli_exits, json_out, trades, fills)
        return
    if many:
        if manifest is not None:
            raise UserError(f"{bot}: a one-symbol bot; drop --symbols/--universe/--portfolio or the folder")
        from botrader.core.cli import portfolio_backtest as pb
        from botrader.core.strategy.registry import resolve

        pb.refuse_unsupported(
            {
                "--funding FILE (one pair's; give a folder of every pair's dumps)": bool(
                    market_options.get("funding") and Path(market_options["funding"]).is_file()
                ),
                "--mark (one file for many pairs)": market_options.get("mark"),
                "--walk-forward": walk_forward,
                "--plot": plot,
                "--symbol": symbol,
                "--model": model,
            }
        )
        request = pb.PortfolioRequest(
            pb.split_list(symbols), pb.parse_universe(universe, interval), pb.parse_portfolio(portfolio)
        )
        execution = dict(algo=algo, slices=slices, participation=participation)

        def config_for(s: str) -> Any:
            from botrader.core.binance.filters import rules_for

            return engine_from_options(
                rules_for(s), budget, fee, slippage_bps, fill, exits=cli_exits, **execution
            )

        where = pb.Where(paths, db, exchange or "binance", interval, start, end)
        market = MarketOptions(**market_options)
        _portfolio(
            where, request, resolve(strategy), params, config_for, budget, json_out, trades, fills, market
        )
        return
    data = paths[0] if paths else None
    if bot is not None:
        from botrader.core.bot_engine import engine_config, strategy_params

        assert manifest is not None
        spec = manifest.spec
        base = engine_config(spec, filters_for(symbol or spec.symbol, spec.market))
        config = dataclasses.replace(base, exits={**base.exits, **cli_exits})
        cls = resolve(manifest.strategy_reference())
        params = strategy_params(manifest, cls, params)
        series = (exchange or spec.source, base.market.symbol, spec.interval)
        frame = load_candles(data, db, *series, start, end)
    else:
        market = rules_for(file_symbol(data, symbol) if data else (symbol or "BTCUSDT"))
        execution = dict(algo=algo, slices=slices, participation=participation)
        config = engine_from_options(market, budget, fee, slippage_bps, fill, exits=cli_exits, **execution)
        cls = resolve(strategy)
        series = (exchange or "binance", market.symbol, interval)
        frame = load_candles(data, db, *series, start, end, assumed=symbol is None)
    stored = collected(db, *series, frame) if data is None else None
    config = MarketOptions(**market_options).apply(config, frame, stored)
    config = with_collected(config, frame, stored)  # a binance-usdm bot's own rates and marks
    if walk_forward:
        _walk_forward(frame, cls, config, walk_forward, params, json_out)
        return
    trades_path(trades)
    result = bt.run_backtest(frame, cls(**params), config)
    summary = result.summary()
    if trades is not None:
        write_fills(result.fill_rows(), trades)
    if fills:
        summary["fills"] = result.fill_rows()
    if plot is not None:
        report.write_html(
            plot, result.times, result.equity, result.fill_rows(), f"{summary['strategy']} backtest", summary
        )
    if json_out:
        typer.echo(json.dumps(summary))
        return
    console = make_console()
    console.print(report.summary_table(summary))
    for trip in summary["breakers"]:
        console.print(f"circuit breaker {trip['breaker']} opened at {trip['time']}: {trip['why']}")
    if plot is not None:
        console.print(f"chart written to {plot}")
    if trades is not None:
        console.print(f"{len(result.fills)} fills written to {trades}")


def _portfolio(
    where: Any,
    request: Any,
    cls: Any,
    params: dict[str, object],
    config_for: Any,
    budget: float,
    json_out: bool,
    trades: Path | None,
    fills: bool,
    market: MarketOptions | None = None,
) -> None:
    """One strategy over many symbols and one wallet (`where`: files or the database);
    `market`: the command line's market, on every pair (a manifest's engines carry their own)."""
    from decimal import Decimal

    from botrader.core.cli import portfolio_backtest as pb

    trades_path(trades)
    cls(**params)  # a bad parameter is one line before any candle is read
    frames = where.frames(request.symbols, load_candles, stored_symbols)

    def stored_for(symbol: str) -> Any:  # a binance-usdm pair's collected rates and marks
        return (
            None
            if where.paths
            else collected(where.db, where.exchange, symbol, where.interval, frames[symbol])
        )

    config_for = pb.per_pair(config_for, frames, stored_for, market)
    result = pb.run(frames, request, lambda s: cls(**params), config_for, Decimal(str(budget)), warmup=0)
    if trades is not None:
        write_fills(result.fill_rows(), trades, symbol=True)
    pb.report(result, json_out, fills)
    if trades is not None and not json_out:
        make_console().print(f"{result.performance.trades} fills written to {trades}")


def _bot_portfolio(
    manifest: Any,
    paths: list[Path],
    db: str | None,
    exchange: str | None,
    start: str | None,
    end: str | None,
    params: dict[str, object],
    exits: dict[str, Any],
    json_out: bool,
    trades: Path | None,
    fills: bool,
) -> None:
    """`--bot` of a portfolio manifest: its symbols or universe, caps, budget and rules."""
    import dataclasses

    from botrader.core.bot_engine import portfolio_config, sleeve_config, strategy_params, universe_rule
    from botrader.core.cli import portfolio_backtest as pb
    from botrader.core.strategy.registry import resolve

    spec = manifest.spec
    request = pb.PortfolioRequest(spec.traded_symbols or None, universe_rule(spec), portfolio_config(spec))
    cls = resolve(manifest.strategy_reference())
    params = strategy_params(manifest, cls, params)

    def config_for(symbol: str) -> Any:
        config = sleeve_config(spec, symbol)
        return dataclasses.replace(config, exits={**config.exits, **exits})

    where = pb.Where(paths, db, exchange or spec.source, spec.interval, start, end)
    _portfolio(where, request, cls, params, config_for, spec.budget, json_out, trades, fills)


def stored_symbols(db: str | None, exchange: str, interval: str) -> list[str]:
    """Every symbol with stored candles of this exchange and interval."""
    from botrader.core.db import connect_to_read
    from botrader.core.db.candles import CandleStore
    from botrader.core.db.connection import redact_url

    url = settings.db_url(db)
    store = CandleStore(connect_to_read(url, "candles", "no candles", "pass --data FILES or --db URL"))
    found = sorted(k.symbol for k, _ in store.series() if k.exchange == exchange and k.interval == interval)
    if not found:
        raise UserError(
            f"no stored {exchange} {interval} candles in {redact_url(url)}: run a collector, or pass --data"
        )
    return found


# the market options are declared once, in botrader.core.market_kind (optimize has them too)
backtest = with_options(_backtest, MarketOptions, {})


def write_fills(rows: list[dict[str, Any]], path: Path, *, symbol: bool = False) -> None:
    """CSV (decimals as written, exact) or parquet (quantity, price, fee and PnL as floats);
    a portfolio's rows carry their symbol first."""
    import pandas as pd

    columns = [
        *(["symbol"] if symbol else []),
        "seq",
        "time",
        "time_utc",
        "side",
        "quantity",
        "price",
        "fee",
        "pnl",
        "order_id",
        "reason",
        "explanation",
    ]
    frame = pd.DataFrame(rows, columns=columns)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        for column in ("quantity", "price", "fee", "pnl"):
            frame[column] = frame[column].astype(float)
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)


def _walk_forward(
    frame: Any, cls: Any, config: Any, spec: str, params: dict[str, object], json_out: bool
) -> None:
    from rich.table import Table

    from botrader.core.backtesting.rolling_windows import walk_forward
    from botrader.core.timeutil import format_ms

    try:
        train, test = (int(x) for x in spec.split(","))
    except ValueError:
        raise UserError(
            f"bad --walk-forward {spec!r}: expected TRAIN,TEST candle counts like 10080,1440"
        ) from None
    windows = walk_forward(frame, cls, config, train, test, params)
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
        typer.echo(json.dumps({"strategy": cls.name, "windows": rows}))
        return
    table = Table(title=f"walk-forward: {cls.name} (train {train}, test {test} candles)")
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
