"""Which market a backtest (and later a bot) trades: `spot`, the default, or `usdm-perp`, a
Binance USD-M perpetual — one place that turns the command line's (or a manifest's) market
words into the engine's instrument, so `backtest` and the searches say the same thing.

Mark prices (`--mark FILE`, Binance's markPriceKlines) decide liquidation and price funding
where given; elsewhere the candles' own prices stand in.

A perpetual needs its funding, and never silently gets none: `--funding FILE|DIR` (Binance's
fundingRate dumps, covering every funding time of the candles) or `--funding-rate RATE` (one
rate at every funding time; `0` says "no funding" out loud).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botrader.core.errors import UserError

MARKETS = ("spot", "usdm-perp")


def _o(default: Any, help: str, **meta: Any) -> Any:
    return field(default=default, metadata={"help": help, "panel": "Market", **meta})


@dataclass(frozen=True, slots=True)
class MarketOptions:
    """The market options of `backtest` and `optimize`, declared once (their Typer options are
    generated from these fields: `botrader.core.cli.generated`)."""

    market: str = _o("spot", "spot, or usdm-perp (a Binance USD-M perpetual).", choices=MARKETS)
    leverage: int = _o(1, "usdm-perp: isolated leverage (1 to the bracket's max).")
    funding: Path | None = _o(None, "usdm-perp: Binance fundingRate dump(s), a file or a folder.")  # noqa: RUF009
    funding_rate: str | None = _o(None, "usdm-perp: one rate at every funding time (0 for none).")
    liquidation_buffer: float | None = _o(
        None, "usdm-perp: close this far (a fraction of the price) before the liquidation price."
    )
    mark: Path | None = _o(None, "usdm-perp: Binance markPriceKlines for liquidation and funding.")  # noqa: RUF009

    def apply(self, config: Any, frame: Any, stored: Collected | None = None) -> Any:
        """`config` (an EngineConfig for the symbol's spot rules) for this market, over the
        candles of `frame`; `stored`: what their collector stored beside them, used where no
        --funding/--funding-rate (or --mark) is given."""
        if not len(frame):
            return config
        times = frame["open_time"]
        return self.over(config, int(times.iloc[0]), int(times.iloc[-1]), stored)

    def over(self, config: Any, first: int, last: int, stored: Collected | None = None) -> Any:
        """`config` for this market, over candles whose open times run from `first` to `last`."""
        return with_market(
            config,
            self.market,
            leverage=self.leverage,
            funding=self.funding,
            funding_rate=self.funding_rate,
            liquidation_buffer=self.liquidation_buffer,
            mark=self.mark,
            first=first,
            last=last,
            stored=stored,
        )


def with_market(
    config: Any,
    market: str,
    *,
    leverage: int,
    funding: Path | None,
    funding_rate: str | None,
    first: int,
    last: int,
    liquidation_buffer: float | None = None,
    mark: Path | None = None,
    stored: Collected | None = None,
) -> Any:
    """`config` (an EngineConfig for the symbol's spot rules) for `market`, over candles whose
    open times run from `first` to `last` (`stored`: what a binance-usdm collector stored)."""
    if market not in MARKETS:
        raise UserError(f"unknown market {market!r}: expected {' or '.join(MARKETS)}")
    if market == "spot":
        extra = [
            n
            for n, v in (
                ("--leverage", leverage != 1),
                ("--funding", funding),
                ("--funding-rate", funding_rate),
                ("--liquidation-buffer", liquidation_buffer),
                ("--mark", mark),
            )
            if v
        ]
        if extra:
            raise UserError(f"{', '.join(extra)} apply to --market usdm-perp, not spot")
        return config
    from botrader.core.binance.usdm import perp_rules_for
    from botrader.core.engine.instruments import UsdmPerp

    rules = perp_rules_for(config.market.symbol)
    stored = stored or Collected()
    schedule = _funding(
        funding, funding_rate, first, last, rules.funding_interval_ms, stored.funding, rules.market.symbol
    )
    risk = config.risk
    if liquidation_buffer is not None:
        risk = dataclasses.replace(risk, liquidation_buffer=liquidation_buffer)
    marks = _marks(mark, first, last) if mark is not None else stored.marks
    return dataclasses.replace(
        config, market=rules.market, risk=risk, instrument=UsdmPerp(rules, leverage, schedule, marks)
    )


def _marks(path: Path, first: int, last: int) -> Any:
    """A markPriceKlines dump (Binance's kline format) covering some of the candles."""
    from botrader.core.data.files import read_candles_frame
    from botrader.core.engine.marks import MarkPrices

    frame = read_candles_frame(path, first, last)
    if not len(frame):
        raise UserError(f"--mark {str(path)!r} has no mark candle between these candles' first and last")
    return MarkPrices.from_frame(frame)


def _funding(
    path: Path | None,
    rate: str | None,
    first: int,
    last: int,
    interval_ms: int,
    stored: Any = None,
    symbol: str | None = None,
) -> Any:
    from botrader.core.engine.funding import ConstantFunding

    if path is None and rate is None and stored is not None:  # the collector's rates
        missing = stored.first_missing(first, last, interval_ms)
        if missing is not None:
            when = ms_to_iso(missing)
            raise UserError(
                f"the database has no funding rate for {when} (a funding time of these candles): "
                "run the binance-usdm collector over it, or pass --funding FILE|DIR or --funding-rate"
            )
        return stored
    if (path is None) == (rate is None):
        raise UserError(
            "a usdm-perp backtest needs its funding: --funding FILE|DIR (Binance fundingRate dumps) "
            "or --funding-rate RATE (e.g. 0.0001; 0 for none) — one of them"
        )
    if rate is not None:
        return ConstantFunding.of(rate, interval_ms)
    from botrader.core.data.funding import read_funding

    schedule = read_funding(path, symbol)  # type: ignore[arg-type]  # a folder: the pair's own dumps
    missing = schedule.first_missing(first, last, interval_ms)
    if missing is not None:
        when = ms_to_iso(missing)
        raise UserError(f"--funding {str(path)!r} has no rate for the funding time {when} of these candles")
    return schedule


def bot_instrument(
    symbol: str,
    market: str,
    leverage: int,
    funding_rate: str | None,
    filters: Any = None,
    *,
    collected: bool = False,
) -> Any:
    """A TradingBot's instrument on a perpetual (`spec.market`, `spec.leverage`,
    `spec.funding.rate`): the bundled USD-M rules of its symbol, with `filters` (a resumed
    bot's saved MarketRules) in place of the bundle's so its money units never change.
    `collected`: its candles' source collects funding rates and mark klines: the bot reads
    those marks and, without a rate, pays those rates (`StoredMarks`, `StoredFunding`, fed by
    its trader)."""
    from botrader.core.binance.usdm import perp_rules_for
    from botrader.core.engine.funding import ConstantFunding, StoredFunding
    from botrader.core.engine.instruments import UsdmPerp
    from botrader.core.engine.marks import StoredMarks

    if market not in MARKETS or market == "spot":
        raise UserError(f"bad market {market!r} for a perpetual bot")
    if funding_rate is None and not collected:
        raise UserError("a usdm-perp bot on replay needs spec.funding.rate (e.g. '0.0001'; '0' for none)")
    rules = perp_rules_for(symbol)
    if filters is not None:
        rules = dataclasses.replace(rules, market=filters)
    interval = rules.funding_interval_ms
    funding = StoredFunding(interval) if funding_rate is None else ConstantFunding.of(funding_rate, interval)
    return UsdmPerp(rules, leverage, funding, StoredMarks() if collected else None)


def filters_for(symbol: str, market: str) -> Any:
    """The bundled exchange filters of `symbol` on `market` (spot's, or the perpetual's)."""
    if market == "spot":
        from botrader.core.binance.filters import rules_for

        return rules_for(symbol)
    from botrader.core.binance.usdm import perp_rules_for

    return perp_rules_for(symbol).market


@dataclass(frozen=True, slots=True)
class Collected:
    """What a binance-usdm collector stored beside a perpetual's candles: its settled funding
    rates (a FundingSchedule) and mark klines (MarkPrices); None where nothing was stored."""

    funding: Any = None
    marks: Any = None


def with_collected(config: Any, frame: Any, stored: Collected | None) -> Any:
    """A bot that reads its collector's data (`StoredFunding`, `StoredMarks`: `backtest --bot`
    of a binance-usdm bot) backtested on stored candles: those rates and marks, every funding
    time and every candle covered, as the live bot would have waited for them — or one line
    saying which is missing."""
    from botrader.core.engine.funding import StoredFunding
    from botrader.core.engine.marks import StoredMarks

    instrument = config.instrument
    funding, marks = getattr(instrument, "funding", None), getattr(instrument, "marks", None)
    if not (isinstance(funding, StoredFunding) or isinstance(marks, StoredMarks)) or not len(frame):
        return config
    if stored is None:
        raise UserError(
            "this bot reads its collector's funding rates and mark prices: backtest it on the "
            "database its collector fills (--db)"
        )
    times = frame["open_time"]
    first, last = int(times.iloc[0]), int(times.iloc[-1])
    if isinstance(funding, StoredFunding):
        instrument = dataclasses.replace(
            instrument, funding=_funding(None, None, first, last, funding.interval_ms, stored.funding)
        )
    if isinstance(marks, StoredMarks):
        have = set(stored.marks.times if stored.marks is not None else ())
        missing = next((int(t) for t in times if int(t) not in have), None)
        if missing is not None:
            when = ms_to_iso(missing)
            raise UserError(
                f"the database has no mark kline for {when}: run the binance-usdm collector over it"
            )
        instrument = dataclasses.replace(instrument, marks=stored.marks)
    return dataclasses.replace(config, instrument=instrument)


def ms_to_iso(ms: int) -> str:
    from botrader.core.timeutil import iso_ms

    return iso_ms(ms)
