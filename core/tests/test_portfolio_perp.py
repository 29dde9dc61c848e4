"""Portfolios of perpetuals: long and short over many USD-M pairs and one wallet. A sleeve's
ledger is the one-symbol perpetual engine's (signed position, isolated margin, funding), and
between calls it holds no cash — its value is its margin and PnL — so the arithmetic stays the
one-symbol engine's. Checked: a one-pair perpetual portfolio is the perpetual bot to the unit;
four pairs' contributions add up to the result to the unit, shorts included; a resumed
perpetual portfolio ends where an uninterrupted one does; and the command line runs it."""

from __future__ import annotations

import json
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from botrader.core.backtesting.runner import run_backtest
from botrader.core.cli.backtest import engine_from_options
from botrader.core.cli.main import main
from botrader.core.data.files import read_candles_frame
from botrader.core.engine.engine import Engine, EngineConfig
from botrader.core.market_kind import MarketOptions, filters_for
from botrader.core.portfolio.backtest import run_portfolio_backtest
from botrader.core.portfolio.config import PortfolioConfig
from botrader.core.portfolio.engine import PortfolioEngine
from botrader.core.strategy.registry import make
from engine_helpers import Scripted
from tests.support.cli import one_error_line
from tests.support.paths import BINANCE_MONTH, DATA

PERP = MarketOptions(market="usdm-perp", leverage=2, funding_rate="0.0001")
SYMBOLS = ("ALGOUSDT", "AVAXUSDT", "FILUSDT", "NEARUSDT")


def frames(n: int) -> dict[str, pd.DataFrame]:
    return {s: read_candles_frame(BINANCE_MONTH[s]).iloc[:n].reset_index(drop=True) for s in SYMBOLS}


def perp_config(symbol: str, frame: pd.DataFrame) -> EngineConfig:
    """The command line's engine for `symbol` on a 2x perpetual paying 0.01% every funding time."""
    spot = engine_from_options(filters_for(symbol, "spot"), 10_000, 0.0005, 0, "close")
    return PERP.apply(spot, frame)


def signed_path(fills: list) -> list[int]:
    """The position after each fill (lots, short < 0)."""
    return list(np.cumsum([f.lots if f.side == "buy" else -f.lots for f in fills]))


def test_a_one_pair_perpetual_portfolio_is_the_perpetual_bot() -> None:
    frame = frames(10_000)["AVAXUSDT"]
    config = perp_config("AVAXUSDT", frame)
    alone = run_backtest(frame, make("rsi_long_short"), config)
    together = run_portfolio_backtest(
        {"AVAXUSDT": frame}, lambda s: make("rsi_long_short"), lambda s: config, Decimal(10_000)
    )
    sleeve = together.engine.sleeves[0].engine
    assert sleeve.fills == alone.engine.fills and min(signed_path(sleeve.fills)) < 0  # it went short
    assert together.engine.equity == alone.engine.equity  # funding, margin and fees: to the unit
    assert together.performance.final_equity == alone.performance.final_equity


def test_four_perpetual_pairs_contributions_add_up_shorts_included() -> None:
    data = frames(12_000)
    result = run_portfolio_backtest(
        data,
        lambda s: make("rsi_long_short"),
        lambda s: perp_config(s, data[s]),
        Decimal(10_000),
        PortfolioConfig(max_open_positions=2),
    )
    p = result.engine
    total = sum(
        (s.engine.portfolio.realized_pnl + s.engine.portfolio.unrealized_pnl(s.engine.last_close_ticks))
        * s.factor
        for s in p.sleeves
    )
    assert total == p.equity_now() - p.budget  # funding and fees inside each pair's PnL, to the unit
    shorted = [s.symbol for s in p.sleeves if min(signed_path(s.engine.fills), default=0) < 0]
    assert len(shorted) >= 3 and max(p.open_counts) == 2 and p.cash >= 0
    assert any(r.reason == "max_open_positions" for r in p.refusals)


def test_a_refused_target_is_ordered_again_once_a_slot_frees() -> None:
    """A long/short strategy says a target (re-traded only when it changes). AVAX holds the one
    slot; NEAR's target is refused, said again every minute, and enters the minute AVAX's
    sale frees the slot. Before the fix a refused target still counted as NEAR's own, so NEAR
    never ordered again."""

    class Target(Scripted):
        can_short = True

    data = {s: f.iloc[:6] for s, f in frames(6).items() if s in ("AVAXUSDT", "NEARUSDT")}
    scripts = {"AVAXUSDT": {0: 1.0, 3: 0.0}, "NEARUSDT": dict.fromkeys(range(6), -1.0)}
    p = run_portfolio_backtest(
        data,
        lambda s: Target(scripts[s]),
        lambda s: perp_config(s, data[s]),
        Decimal(10_000),
        PortfolioConfig(max_open_positions=1),
    ).engine
    t0 = int(data["NEARUSDT"]["open_time"].iloc[0])
    assert [(r.time - t0) // 60_000 for r in p.refusals] == [0, 1, 2]
    near = p.by_symbol["NEARUSDT"].engine
    assert [((f.time - t0) // 60_000, f.side) for f in near.fills] == [(3, "sell")]  # short from minute 3
    assert near.portfolio.lots < 0 and p.by_symbol["AVAXUSDT"].engine.portfolio.lots == 0


def test_a_perpetual_portfolio_may_use_its_leverage_unless_capped() -> None:
    """The gross cap counts |notional|; by default it is the leverage (2x here), so two pairs
    each staked half the equity hold about twice the equity in notional — and an explicit
    maxGrossExposure 1 leaves the second pair only what the first pair's last lot left."""

    class Target(Scripted):
        can_short = True

    data = {s: f.iloc[:3] for s, f in frames(3).items() if s in ("AVAXUSDT", "NEARUSDT")}

    def run(cap: float | None) -> PortfolioEngine:
        config = PortfolioConfig(stake="fraction", stake_fraction=0.5, max_gross_exposure=cap)
        return run_portfolio_backtest(
            data, lambda s: Target({0: 1.0}), lambda s: perp_config(s, data[s]), Decimal(10_000), config
        ).engine

    free, capped = run(None), run(1.0)
    assert 1.9 < sum(s.exposure() for s in free.sleeves) / free.equity_now() < 2.01  # fees: a hair over
    gross = [s.exposure() for s in capped.sleeves]
    assert 0.97 < sum(gross) / capped.equity_now() < 1.01 and gross[1] < gross[0] / 20  # NEAR: the crumbs


def test_a_resumed_perpetual_portfolio_ends_where_an_uninterrupted_one_does() -> None:
    data = frames(6_000)
    columns = ["open", "high", "low", "close", "volume"]
    rows = {
        s: list(zip(f["open_time"].tolist(), f[columns].itertuples(index=False, name=None), strict=True))
        for s, f in data.items()
    }

    def fresh() -> PortfolioEngine:
        engines = {s: Engine(make("rsi_long_short"), perp_config(s, data[s])) for s in SYMBOLS}
        return PortfolioEngine(engines, Decimal(10_000), PortfolioConfig(max_open_positions=2))

    def feed(p: PortfolioEngine, lo: int, hi: int) -> None:
        for i in range(lo, hi):
            p.step(rows["ALGOUSDT"][i][0], {s: r[i][1] for s, r in rows.items()})

    whole, first = fresh(), fresh()
    feed(whole, 0, 6000)
    feed(first, 0, 2500)
    resumed = fresh()
    resumed.restore(json.loads(json.dumps(first.snapshot())))
    feed(resumed, 2500, 6000)
    assert resumed.equity == whole.equity[2500:] and resumed.cash == whole.cash
    for a, b in zip(resumed.sleeves, whole.sleeves, strict=True):
        assert a.engine.portfolio == b.engine.portfolio


def test_the_command_line_backtests_a_perpetual_portfolio(capsys) -> None:
    pairs = ["backtest", "--data", str(DATA), "--symbols", ",".join(SYMBOLS), "--end", "2025-02-08"]
    perp = ["--market", "usdm-perp", "--leverage", "2"]
    argv = [*pairs, *perp, "--strategy", "rsi_long_short", "--portfolio", "maxOpenPositions=2"]
    assert main([*argv, "--funding-rate", "0.0001", "--fee", "0.0005", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    contributions = sum(r["contribution"] for r in out["symbols"])
    assert contributions == pytest.approx(out["final_equity"] - 10_000, abs=1e-6) and out["trades"] > 100
    assert main(argv) == 2  # a perpetual never silently goes unfunded
    one_error_line(capsys, "needs its funding")


def test_a_folder_of_every_pair_s_funding_dumps_pays_each_pair_its_own(capsys, tmp_path) -> None:
    """Each pair reads its own dumps from one folder (Binance's names begin with the pair): at
    0.01% everywhere, the same to the unit as --funding-rate 0.0001; a pair without dumps, or
    one file for all, is one line."""
    from botrader.core.binance.usdm import perp_rules_for

    feb = 1_738_368_000_000
    for symbol in SYMBOLS:
        every = perp_rules_for(symbol).funding_interval_ms
        rows = "".join(f"{t},{every // 3_600_000},0.0001\n" for t in range(feb, feb + 28 * 86_400_000, every))
        (tmp_path / f"{symbol}-fundingRate-2025-02.csv").write_text(
            "calc_time,funding_interval_hours,last_funding_rate\n" + rows
        )
    pairs = ["backtest", "--data", str(DATA), "--symbols", ",".join(SYMBOLS), "--end", "2025-02-05"]
    argv = [*pairs, "--market", "usdm-perp", "--strategy", "rsi_long_short", "--json"]
    assert main([*argv, "--funding-rate", "0.0001"]) == 0
    constant = json.loads(capsys.readouterr().out)
    assert main([*argv, "--funding", str(tmp_path)]) == 0
    dumps = json.loads(capsys.readouterr().out)
    assert dumps["final_equity"] == constant["final_equity"] and dumps["trades"] == constant["trades"] > 20
    assert main([*argv, "--funding-rate", "0"]) == 0  # funding is paid here: without it, another result
    assert json.loads(capsys.readouterr().out)["final_equity"] != constant["final_equity"]
    assert main([*argv, "--funding", str(tmp_path / "AVAXUSDT-fundingRate-2025-02.csv")]) == 2
    one_error_line(
        capsys, "--funding FILE (one pair's; give a folder of every pair's dumps): not with a portfolio"
    )
    (tmp_path / "NEARUSDT-fundingRate-2025-02.csv").unlink()
    assert main([*argv, "--funding", str(tmp_path)]) == 2
    one_error_line(capsys, "no NEARUSDT-fundingRate files in the folder")


def test_a_perpetual_portfolio_manifest_backtests(capsys, tmp_path) -> None:
    import yaml

    doc = {
        "apiVersion": "botrader.io/v1alpha1",
        "kind": "TradingBot",
        "metadata": {"name": "perp-four"},
        "spec": {
            "symbols": list(SYMBOLS),
            "market": "usdm-perp",
            "leverage": 2,
            "funding": {"rate": "0.0001"},
            "source": "replay",
            "replay": {"path": str(DATA)},
            "strategy": {"type": "rsi_long_short"},
            "portfolio": {"maxOpenPositions": 2},
        },
    }
    manifest = tmp_path / "perp.yaml"
    manifest.write_text(yaml.safe_dump(doc))
    backtest = ["backtest", "--bot", str(manifest), "--data", str(DATA), "--end", "2025-02-04"]
    assert main([*backtest, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["trades"] > 20 and {r["symbol"] for r in out["symbols"]} == set(SYMBOLS)
