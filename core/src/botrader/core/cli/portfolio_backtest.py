"""`botrader backtest --symbols … | --universe …`: one strategy over many symbols and one
wallet (`botrader.core.portfolio`), from a folder of candle files or the database."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from botrader.core.cli.common import assignments
from botrader.core.data.files import frames_by_symbol
from botrader.core.errors import UserError
from botrader.core.intervals import interval_ms
from botrader.core.portfolio.config import PortfolioConfig
from botrader.core.portfolio.universe import Schedule, UniverseRule, rule_from_spec, universe_history


@dataclass(frozen=True)
class PortfolioRequest:
    """What the command line (or a manifest) asks of a portfolio backtest."""

    symbols: list[str] | None  # None: every symbol found (a universe picks among them)
    universe: UniverseRule | None
    config: PortfolioConfig


@dataclass(frozen=True)
class Where:
    """Where a portfolio's candles come from: files and folders of them, or the database."""

    paths: list[Path]
    db: str | None
    exchange: str
    interval: str
    start: str | None
    end: str | None

    def frames(
        self, symbols: list[str] | None, load: Callable[..., Any], stored: Callable[..., list[str]]
    ) -> dict[str, Any]:
        """`load`: one stored series' candles (backtest's `load_candles`); `stored`: every
        stored symbol of the exchange and interval."""
        from botrader.core.timeutil import parse_instant

        if self.paths:
            first = parse_instant(self.start, option="--start") if self.start else None
            last = parse_instant(self.end, option="--end") if self.end else None
            return frames_by_symbol(self.paths, symbols, first, last)
        names = symbols or stored(self.db, self.exchange, self.interval)
        return {s: load(None, self.db, self.exchange, s, self.interval, self.start, self.end) for s in names}


def refuse_unsupported(asked: Mapping[str, object]) -> None:
    """Options a portfolio does not honour, given anyway: one line naming the first, never a
    silent one-pair or spot run in their place."""
    for flag, given in asked.items():
        if given:
            raise UserError(f"{flag}: not with a portfolio (--symbols, --universe or a folder of pairs)")


def per_pair(
    config_for: Callable[[str], Any],
    frames: Mapping[str, Any],
    stored_for: Callable[[str], Any],
    market: Any = None,
) -> Callable[[str], Any]:
    """Each pair's engine over its own candles: on the command line's market (`MarketOptions`:
    a perpetual at one leverage for every pair), with what its collector stored beside them
    (`stored_for(symbol)`: a binance-usdm pair's funding rates and mark klines, else None) where
    the market or the manifest reads them."""
    from botrader.core.market_kind import with_collected

    def config(symbol: str) -> Any:
        frame, stored = frames[symbol], stored_for(symbol)
        built = config_for(symbol) if market is None else market.apply(config_for(symbol), frame, stored)
        return with_collected(built, frame, stored)

    return config


def split_list(text: str | None) -> list[str] | None:
    if text is None:
        return None
    items = [s.strip().upper() for s in text.split(",") if s.strip()]
    if not items:
        raise UserError(f"bad --symbols {text!r}: expected SYMBOL,SYMBOL,…")
    return items


def parse_universe(text: str | None, interval: str = "1m") -> UniverseRule | None:
    """`--universe top=20,lookback=7d,refresh=1d[,quote=USDT]` (the manifest's
    `spec.universe` keys, topByQuoteVolume shortened to top)."""
    if text is None:
        return None
    values = assignments(text.split(","), "--universe")
    unknown = sorted(set(values) - {"top", "lookback", "refresh", "quote"})
    if unknown:
        raise UserError(f"unknown --universe item {unknown[0]!r}: expected top, lookback, refresh, quote")
    if "top" not in values:
        raise UserError(f"bad --universe {text!r}: top=N (how many symbols) is required")
    return rule_from_spec({"topByQuoteVolume": values.pop("top"), **values}, interval_ms(interval))


def parse_portfolio(text: str | None) -> PortfolioConfig:
    """`--portfolio maxOpenPositions=5,stake=0.1,onExit=hold,…`: the manifest's
    `spec.portfolio` keys (`stake` a number: a fraction of equity per position)."""
    if text is None:
        return PortfolioConfig()
    values = assignments(text.split(","), "--portfolio")
    stake = values.get("stake")
    if isinstance(stake, int | float) and not isinstance(stake, bool):
        values["stake"], values["stakeFraction"] = "fraction", stake
    return PortfolioConfig.from_spec(values)


def schedule_for(frames: Mapping[str, Any], rule: UniverseRule | None, warmup: int) -> Schedule | None:
    """The universe's picks over the backtest's minutes, each from what was known then."""
    if rule is None:
        return None
    import numpy as np

    clock = np.unique(np.concatenate([f["open_time"].to_numpy(dtype=np.int64) for f in frames.values()]))
    if len(clock) <= warmup:
        raise UserError("no candles to backtest")
    return Schedule(universe_history(frames, rule, int(clock[warmup]), int(clock[-1])))


def run(
    frames: Mapping[str, Any],
    request: PortfolioRequest,
    make_strategy: Callable[[str], Any],
    config_for: Callable[[str], Any],
    budget: Decimal,
    warmup: int,
) -> Any:
    from botrader.core.portfolio.backtest import run_portfolio_backtest

    if not frames:
        raise UserError("no candles to backtest in the period asked")
    schedule = schedule_for(frames, request.universe, warmup)
    return run_portfolio_backtest(
        frames, make_strategy, config_for, budget, request.config, schedule, warmup=warmup
    )


def report(result: Any, json_out: bool, with_fills: bool) -> None:
    """Tables (the portfolio's metrics, then one row per symbol) or one JSON object."""
    import typer
    from rich.table import Table

    from botrader.core.backtesting import html_report
    from botrader.core.cli.common import console as make_console

    summary = result.summary()
    if with_fills:
        summary["fills"] = result.fill_rows()
    if json_out:
        typer.echo(json.dumps(summary))
        return
    console = make_console()
    console.print(html_report.summary_table(summary))
    table = Table(title="per symbol")
    perp = any(r["funding"] is not None for r in summary["symbols"])
    columns = ["symbol", "side", "fills", "round trips", "realised", "open PnL", "contribution", "fees"]
    for column in [*columns, *(["funding"] if perp else []), "weight"]:
        table.add_column(column, justify="right")
    for r in summary["symbols"]:
        table.add_row(
            r["symbol"],
            r["side"],
            str(r["fills"]),
            str(r["round_trips"]),
            f"{r['realized_pnl']:,.2f}",
            f"{r['open_pnl']:,.2f}",
            f"{r['contribution']:+,.2f}",
            f"{r['fees']:,.2f}",
            *([f"{r['funding']:+,.2f}"] if perp else []),
            f"{r['weight']:.1%}",
        )
    console.print(table)
    refusals: dict[str, int] = {}
    for r in summary["refusals"]:
        refusals[r["reason"]] = refusals.get(r["reason"], 0) + 1
    if refusals:
        console.print("orders refused: " + ", ".join(f"{n} by {why}" for why, n in sorted(refusals.items())))
    before = None
    for change in summary["universe"]:  # the changes (--json has every refresh)
        if change["symbols"] != before:
            console.print(f"universe from {change['time']}: {', '.join(change['symbols']) or '(none)'}")
        before = change["symbols"]
    for trip in summary["breakers"]:
        where = f" ({trip['symbol']})" if "symbol" in trip else ""
        console.print(f"circuit breaker {trip['breaker']}{where} opened at {trip['time']}: {trip['why']}")
