"""Portfolio speed: 20 symbols × a month of 1m candles through the exact portfolio engine
(`PortfolioEngine`: one engine per symbol, one wallet, two phases a minute), against the
one-symbol engine on the same candles in the same run. Target: ≥ 80% of the one-symbol
engine's per-candle speed.

The 20 symbols are the four bundled Binance months (ALGO, AVAX, FIL, NEAR USDT, February
2025), each five times with its candles' values rotated by a whole number of days (the times
stay), so the 20 price paths differ. simple_rsi on every symbol, equal stakes, at most 5
positions open, 0.1% fee.

    python bench/bench_portfolio.py [--symbols 20]
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from decimal import Decimal

import numpy as np
import pandas as pd

from botrader.core.backtesting.runner import run_backtest
from botrader.core.binance.filters import rules_for
from botrader.core.data.files import read_candles_frame
from botrader.core.engine.engine import EngineConfig
from botrader.core.portfolio.backtest import run_portfolio_backtest
from botrader.core.portfolio.config import PortfolioConfig
from botrader.core.strategy.registry import make

BASES = ("ALGOUSDT", "AVAXUSDT", "FILUSDT", "NEARUSDT")
BUDGET = Decimal(10_000)


def symbols(n: int) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """`n` frames named <BASE><k> (k = 0…), and which real symbol's rules each trades."""
    months = {b: read_candles_frame(f"examples/data/{b}-1m-2025-02.csv.gz") for b in BASES}
    frames, rules = {}, {}
    for i in range(n):
        base, k = BASES[i % len(BASES)], i // len(BASES)
        frame = months[base].copy()
        values = ["open", "high", "low", "close", "volume"]
        frame[values] = np.roll(frame[values].to_numpy(), k * 1440, axis=0)
        name = f"{base[:-4]}{k}USDT" if k else base
        frames[name], rules[name] = frame, base
    return frames, rules


def best_of(runs: int, work: object) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(runs):
        began = time.perf_counter()
        result = work()  # type: ignore[operator]
        best = min(best, time.perf_counter() - began)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--symbols", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    frames, rules = symbols(args.symbols)
    market = {s: dataclasses.replace(rules_for(rules[s]), symbol=s) for s in frames}
    config = PortfolioConfig(max_open_positions=5)

    def portfolio() -> object:
        return run_portfolio_backtest(
            frames,
            lambda s: make("simple_rsi"),
            lambda s: EngineConfig(budget=BUDGET, market=market[s]),
            BUDGET,
            config,
        )

    def single() -> list[object]:
        return [
            run_backtest(f, make("simple_rsi"), EngineConfig(budget=BUDGET, market=market[s]))
            for s, f in frames.items()
        ]

    candles = sum(len(f) for f in frames.values())
    one_secs, _ = best_of(args.runs, single)
    many_secs, result = best_of(args.runs, portfolio)
    one, many = candles / one_secs, candles / many_secs
    perf = result.performance  # type: ignore[attr-defined]
    print(f"{args.symbols} symbols × {candles // args.symbols:,} 1m candles, simple_rsi, best of {args.runs}")
    print(f"one-symbol engine, each symbol alone  {one:>10,.0f} candles/s")
    print(
        f"portfolio engine, one wallet          {many:>10,.0f} candles/s  "
        f"({perf.trades} fills, final equity {perf.final_equity:,.2f})"
    )
    print(f"the portfolio keeps {many / one:.1%} of the one-symbol engine's per-candle speed (target ≥ 80%)")


if __name__ == "__main__":
    main()
