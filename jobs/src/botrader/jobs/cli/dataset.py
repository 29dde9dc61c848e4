"""`botrader dataset build`: a feature dataset (parquet) from stored candles or a file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from botrader.core import settings
from botrader.core.cli.db import DbOption

app = typer.Typer(help="Training datasets built from stored candles.", no_args_is_help=True)
Symbol = Annotated[str, typer.Option("--symbol", help="Trading pair, e.g. BTCUSDT.")]
Interval = Annotated[str, typer.Option("--interval", help="Candle interval (1m, 5m, 15m, 1h, …).")]


@app.command("build")
def dataset_build(
    out: Annotated[Path, typer.Option(help="Output parquet file.")],
    symbol_given: Annotated[
        str | None, typer.Option("--symbol", help="Trading pair (default: a Binance dump's, else BTCUSDT).")
    ] = None,
    interval: Interval = "1m",
    start: Annotated[str | None, typer.Option(help="First candle (UTC).")] = None,
    end: Annotated[str | None, typer.Option(help="Last candle (UTC).")] = None,
    exchange: Annotated[str, typer.Option(help="Exchange the candles were stored under.")] = "binance",
    data: Annotated[
        Path | None, typer.Option(help="Read candles from this CSV/parquet instead of the DB.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Build a feature dataset (OHLCV + SMA, EMA, RSI, MACD, Bollinger, ATR) as parquet."""
    from botrader.core.candles import make_key
    from botrader.core.data.files import read_candles_frame, symbol_of
    from botrader.core.db import connect_to_read
    from botrader.core.db.candles import CandleStore
    from botrader.core.resample import resample
    from botrader.core.timeutil import format_ms, parse_instant
    from botrader.jobs import dataset as job

    symbol = symbol_given or "BTCUSDT"
    key = make_key(exchange, symbol, interval)
    start_ms = parse_instant(start, option="--start") if start else None
    end_ms = parse_instant(end, option="--end") if end else None
    if data is not None:
        frame = resample(read_candles_frame(data, start_ms, end_ms), "1m", interval)
        found = symbol_of(data)
        if symbol_given is None and found:
            symbol = found
    else:
        nothing, todo = (
            f"no {symbol} {interval} candles",
            "pass --data FILE, --db URL or run `botrader backfill`",
        )
        engine = connect_to_read(settings.db_url(db), "candles", nothing, todo)
        frame = job.candles_from_store(CandleStore(engine), key, start_ms, end_ms)
    result = job.build_dataset(frame, out, symbol=symbol.upper(), interval=interval)
    typer.echo(
        f"wrote {result.rows} rows ({format_ms(result.first)} → {format_ms(result.last)}, "
        f"{result.dropped_warmup} warm-up rows dropped) to {result.path}"
    )
