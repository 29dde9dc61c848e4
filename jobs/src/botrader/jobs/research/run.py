"""One `botrader optimize` from options to verdict: check the request, run the search, trade the
winner on the held-out tail, judge it, record it. The `--json` object is built here."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from botrader.core.engine.engine import EngineConfig
from botrader.core.errors import UserError
from botrader.core.market_kind import MarketOptions
from botrader.core.optimize_options import OptimizeOptions
from botrader.core.research.card import Card, Gate, judge
from botrader.core.research.objective import (
    HOUR_MS,
    HOURS_PER_YEAR,
    OBJECTIVES,
    Split,
    Trial,
    market_returns,
)
from botrader.core.research.space import check, declared, from_option
from botrader.jobs.research.search import Outcome, Search, absolute_reference, run_local, run_ray
from botrader.jobs.research.subjects import subject_for, subject_of
from botrader.jobs.tracking import resolve_uri


@dataclass(slots=True)
class Request:
    search: Search
    split: Split
    gate: Gate
    tracking_uri: str | None  # None: no MLflow
    experiment: str
    ray_address: str | None  # "none": trials in this process
    run_name: str | None = None
    report: Path | None = None  # the card's page, also logged to MLflow as report.html
    walk_forward: bool = False  # PPO: retrain the winner at each origin


def _check_numbers(o: OptimizeOptions) -> None:
    if o.trials < 2:
        raise UserError(f"bad --trials {o.trials}: at least 2 (PBO compares trials)")
    if not 1 <= o.folds <= 50:
        raise UserError(f"bad --folds {o.folds}: 1 to 50")
    if o.objective not in OBJECTIVES:
        raise UserError(f"bad --objective {o.objective!r}: expected one of {', '.join(OBJECTIVES)}")
    if o.concurrency is not None and o.concurrency < 1:
        raise UserError(f"bad --concurrency {o.concurrency}: at least 1")
    if not 0 <= o.max_pbo <= 1:
        raise UserError(f"bad --max-pbo {o.max_pbo:g}: a probability in [0, 1]")
    if not 0 <= o.min_dsr <= 1:
        raise UserError(f"bad --min-dsr {o.min_dsr:g}: a probability in [0, 1]")


def prepare(o: OptimizeOptions) -> Request:
    """Everything checked before anything starts: a bad value is one UserError naming it."""
    from botrader.core.cli.backtest import parse_params

    _check_numbers(o)
    data = str(o.data.resolve()) if o.data else None
    market = MarketOptions(**{f.name: getattr(o, f.name) for f in dataclasses.fields(MarketOptions)})
    subject = subject_for(o.strategy, data, o.budget, market)
    params = subject.fixed(parse_params(o.param or []), o.fee)
    subject.space_owner(**params)  # the fixed parameters, checked with the defaults of the rest
    space = (
        from_option(subject.space_owner, o.space, params)
        if o.space
        else declared(subject.space_owner, params)
    )
    check(subject.space_owner, space)
    portfolio = None
    if o.is_portfolio:
        from botrader.jobs.research import portfolio as many

        portfolio = many.load(o)
        frame, config = portfolio.minutes(), portfolio.reference
    else:
        subject.check(o.data, o.walk_forward)
        frame, config = _one_pair(o)
    search = Search(
        absolute_reference(o.strategy),
        space,
        dict(params),
        config,
        o.trials,
        o.folds,
        o.objective,
        o.seed,
        o.concurrency,
        data,
        o.budget,
        market,
        portfolio,
    )
    uri = None if o.mlflow_uri == "none" else resolve_uri(o.mlflow_uri)
    if o.report is not None and o.report.suffix.lower() not in (".html", ".htm"):
        raise UserError(f"bad --report {str(o.report)!r}: write an .html file")
    parts = subject_of(search).split(frame, o.holdout, o.embargo)
    return Request(
        search,
        parts,
        Gate(max_pbo=o.max_pbo, min_dsr=o.min_dsr),
        uri,
        o.experiment,
        o.ray_address,
        o.run_name,
        o.report,
        o.walk_forward,
    )


def _one_pair(o: OptimizeOptions) -> tuple[pd.DataFrame, EngineConfig]:
    """One pair's candles and engine: from its file (the name gives the pair) or the database."""
    from botrader.core.binance.filters import rules_for
    from botrader.core.cli.backtest import engine_from_options, file_symbol, load_candles

    rules = rules_for(file_symbol(o.data, o.symbol) if o.data else (o.symbol or "BTCUSDT"))
    config = engine_from_options(rules, o.budget, o.fee, o.slippage_bps, o.fill)
    series = (o.exchange, rules.symbol, o.interval)
    frame = load_candles(o.data, o.db, *series, o.start, o.end, assumed=o.symbol is None)
    return frame, o.apply(config, frame)  # its market options


def run(
    request: Request,
    on_trial: Callable[[Trial | None], None] | None = None,
    on_fold: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    search = request.search
    record = None
    if request.tracking_uri is not None:
        from botrader.jobs.research.record import SearchRecord

        record = SearchRecord(
            request.tracking_uri,
            request.experiment,
            request.run_name or _run_name(search),
            _settings(request),
            optimization_run=request.run_name,
        )

    def finished(trial: Trial | None) -> None:
        if record is not None and trial is not None:
            record.trial(trial)
        if on_trial:
            on_trial(trial)

    frame = request.split.search
    try:
        if request.ray_address == "none":
            outcome = run_local(search, frame, finished)
        else:
            outcome = run_ray(search, frame, request.ray_address, finished)
        card, best, page, stressed = _judge(request, outcome, on_fold)
    except BaseException:
        if record is not None:
            record.fail()
        raise
    if request.report is not None:
        request.report.write_text(page)
    if record is not None:
        record.finish(card, best.params, page)
    result = _result(request, outcome, best, card, record.run_id if record else None)
    return {**result, "stress": stressed}


def _judge(
    request: Request, outcome: Outcome, on_fold: Callable[[int], None] | None = None
) -> tuple[Card, Trial, str, list[dict[str, Any]]]:
    """The card, the winner, the card's page, and the winner under stress."""
    from botrader.core.research.card_page import card_html

    best, search, parts = outcome.best, request.search, request.split
    subject = subject_of(search)
    stressed = subject.stressed(best, parts, search.config)
    matrix = np.column_stack([t.returns for t in outcome.trials])
    tail = subject.held_out(best, parts, search.config)
    market, baselines = subject.alongside(parts.search, search.config)
    retrained = subject.retrained(search, best, parts, on_fold) if request.walk_forward else None
    purge = 1 + request.split.embargo // _candles_per_hour(request.split.frame)
    card = judge(
        matrix,
        outcome.trials.index(best),
        tail,
        request.gate,
        market,
        baselines,
        request.search.folds,
        purge,
        retrained,
    )
    page = card_html(
        f"{request.search.strategy}: {request.search.objective} search, {card.trials} trials",
        card,
        {"best": {"params": best.params}, "invalid": outcome.invalid, "stress": stressed},
        [t.objective for t in outcome.trials],
        matrix,
        outcome.trials.index(best),
        tail,
        market_returns(request.split.frame.iloc[request.split.start :]),
    )
    return card, best, page, stressed


def _candles_per_hour(frame: pd.DataFrame) -> int:
    times = frame["open_time"].to_numpy()
    step = int(np.median(np.diff(times[:1000]))) if len(times) > 1 else HOUR_MS
    return max(1, HOUR_MS // max(step, 1))


def _run_name(search: Search) -> str:
    return f"optimize-{search.strategy.rpartition(':')[2] or search.strategy}-{search.trials}"


def _settings(request: Request) -> dict[str, Any]:
    s, execution = request.search, request.search.config.execution
    return {
        "strategy": s.strategy,
        "trials": s.trials,
        "folds": s.folds,
        "objective": s.objective,
        "seed": s.seed,
        "fee": execution.fee_rate,
        "fill": execution.fill,
        "holdout_start": _iso(request.split.frame["open_time"].iloc[request.split.start]),
        "embargo": request.split.embargo,
        "space": {n: d.describe() for n, d in s.space.items()},
        "fixed": s.fixed,
    }


def _iso(ms: Any) -> str:
    return pd.Timestamp(int(ms), unit="ms", tz="UTC").isoformat()


def _annual(sharpe: float | None) -> float | None:
    return None if sharpe is None else sharpe * math.sqrt(HOURS_PER_YEAR)


def _result(
    request: Request, outcome: Outcome, best: Trial, card: Card, run_id: str | None
) -> dict[str, Any]:
    split_ = request.split
    return {
        "strategy": request.search.strategy,
        "market": request.search.config.instrument.name,
        **subject_of(request.search).about(request.search.config),
        "objective": request.search.objective,
        "trials": len(outcome.trials),
        "invalid": outcome.invalid,
        "best": {
            "params": best.params,
            "objective": best.objective,
            "folds": best.folds,
            "search_set": best.metrics,  # its return, fills, fees and drawdown on the search set
            "oos": {
                "return": card.oos_return,
                "sharpe": card.oos_sharpe,
                "sharpe_annualised": _annual(card.oos_sharpe),
                "return_ci": card.oos_return_ci,
                "sharpe_ci": card.oos_sharpe_ci,
            },
        },
        "pbo": card.pbo,
        "psr": card.psr,
        "dsr": card.dsr,
        "passes": card.passes,
        "verdict": card.verdict,
        "card": card.to_dict(),
        "search_set": {"candles": split_.cut, "start": _iso(split_.frame["open_time"].iloc[0])},
        "held_out": {
            "candles": len(split_.frame) - split_.start,
            "start": _iso(split_.frame["open_time"].iloc[split_.start]),
        },
        "mlflow_run_id": run_id,
    }


def print_result(console: Any, result: dict[str, Any]) -> None:
    from rich.table import Table

    def f(x: float | None, pct: bool = False) -> str:
        return "n/a" if x is None or not math.isfinite(x) else (f"{x:+.2%}" if pct else f"{x:.3f}")

    def ci(pair: Any, pct: bool = False) -> str:
        return "" if not pair else f" [{f(pair[0], pct)}, {f(pair[1], pct)}]"

    best, oos = result["best"], result["best"]["oos"]
    table = Table(title=f"{result['strategy']}: {result['trials']} trials ({result['invalid']} invalid)")
    table.add_column("")
    table.add_column("value", justify="right")
    rows = [
        ("best parameters", ", ".join(f"{k}={_short(v)}" for k, v in best["params"].items())),
        (f"best {result['objective']} (search set, mean of folds)", f(best["objective"])),
        ("held-out return (95% CI)", f(oos["return"], True) + ci(oos["return_ci"], True)),
        ("held-out Sharpe per hour (95% CI)", f(oos["sharpe"]) + ci(oos["sharpe_ci"])),
        ("held-out Sharpe, annualised", f(oos["sharpe_annualised"])),
        ("PBO (CSCV over all trials)", f(result["pbo"])),
        ("Deflated Sharpe", f(result["dsr"])),
        ("DSR for the independent trials (not the gate)", _independent(result["card"])),
        ("PSR of the held-out Sharpe", f(result["psr"])),
        ("CPCV paths' Sharpe per hour (5/50/95%)", _spread(result["card"])),
        ("held out from", f"{result['held_out']['start']} ({result['held_out']['candles']:,} candles)"),
        ("market, trials evaluated by", f"{result['market']}, {result['evaluated_by']}"),
    ]
    if result.get("symbols"):
        rows.append(("pairs (one wallet; held out counts minutes)", ", ".join(result["symbols"])))
    if result["mlflow_run_id"]:
        rows.append(("MLflow run", result["mlflow_run_id"]))
    for row in rows:
        table.add_row(*row)
    console.print(table)
    walked = walk_table(result["card"])
    if walked is not None:
        console.print(walked)
    if result["stress"]:
        console.print(stress_table(result["stress"]))
    # one line however wide the terminal (scripts take the last line): rich would wrap it
    console.print(("[green]" if result["passes"] else "[yellow]") + result["verdict"], soft_wrap=True)


def walk_table(card: dict[str, Any]) -> Any:
    from rich.table import Table

    from botrader.core.research.walk_forward import table

    if not card.get("walk_forward"):
        return None
    head, rows = table(card["walk_forward"])
    title = (
        "walk-forward: the winner's hyperparameters retrained at each origin, on the next block"
        if card["walk_forward"].get("retrained")
        else "walk-forward: the search's pick at each origin, on the next block (search set)"
    )
    out = Table(title=title)
    for column in head:
        out.add_column(column, justify="right")
    for row in rows:
        out.add_row(*row)
    return out


def stress_table(rows: list[dict[str, Any]]) -> Any:
    from rich.table import Table

    def f(x: float | None, pct: bool = False) -> str:
        return "n/a" if x is None or not math.isfinite(x) else (f"{x:+.2%}" if pct else f"{x:.3f}")

    table = Table(title="the winner on the held-out tail, under stress")
    for column in ("variant", "return", "Sharpe/h", "fills", "turnover", "fees/gross", "B&H at its exposure"):
        table.add_column(column, justify="left" if column == "variant" else "right")
    for r in rows:
        share = "n/a" if r["fee_share"] is None else f"{r['fee_share']:.0%}"
        table.add_row(
            r["variant"],
            f(r["return"], True),
            f(r["sharpe"]),
            str(r["fills"]),
            f"{r['turnover']:.1f}",
            share,
            f(r["exposure_matched_buy_and_hold"], True),
        )
    return table


def _spread(card: dict[str, Any]) -> str:
    spread = card.get("cpcv_sharpe")
    if not spread:
        return "n/a"
    return " / ".join(f"{v:.3f}" for v in spread) + f" ({card['cpcv_paths']} paths)"


def _independent(card: dict[str, Any]) -> str:
    value, count = card.get("dsr_independent"), card.get("independent_trials")
    if value is None or count is None:
        return "n/a"
    return f"{value:.3f} (≈ {count:.0f} of {card['trials']} trials)"


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
