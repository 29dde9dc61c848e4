"""Portfolio speed: 20 symbols × a month of 1m candles through the exact portfolio engine
(`PortfolioEngine`: one engine per symbol, one wallet, two phases a minute), against the
one-symbol engine on the same candles in the same run. Target: ≥ 80% of the one-symbol
engine's per-candle speed — the share is the median over rounds of each round's ratio (both
engines run back to back in a round), printed with the rounds' range.

The 20 symbols are the four bundled Binance months (ALGO, AVAX, FIL, NEAR USDT, February
2025), each five times with its candles' values rotated by a whole number of days (the times
stay), so the 20 price paths differ. simple_rsi on every symbol, equal stakes, at most 5
positions open, 0.1% fee.

    python bench/bench_portfolio.py [--symbols 20] [--runs 7]
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections.abc import Callable
from decimal import Decimal
from statistics import median

import numpy as np
import pandas as pd

from botrader.core.backtesting.runner import run_backtest
from botrader.core.binance.filters import rules_for
from botrader.core.data.files import read_candles_frame
from botrader.core.engine.engine import EngineConfig
from botrader.core.portfolio.backtest import run_portfolio_backtest
from botrader.core.portfolio.config import PortfolioConfig
from botrader.core.strategy import Strategy
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


def interleaved(runs: int, *works: object) -> tuple[list[list[float]], list[object]]:
    """Each work's CPU time in every round (this process's, so another tenant's load on the
    shared VM is not counted), the works taking turns within a round (its speed drifts by the
    minute: back-to-back blocks would compare two different machines), and each one's result."""
    times: list[list[float]] = [[] for _ in works]
    results: list[object] = [None] * len(works)
    for _ in range(runs):
        for i, work in enumerate(works):
            began = time.process_time()
            results[i] = work()  # type: ignore[operator]
            times[i].append(time.process_time() - began)
    return times, results


class Idle(Strategy):
    """Sees every candle and never trades: what stepping itself costs, strategy and orders aside."""

    def on_candle(self, candle: object, ind: object, account: object) -> float | None:
        return None


def compare(
    name: str,
    factory: Callable[[], Strategy],
    runs: int,
    frames: dict[str, pd.DataFrame],
    market: dict,
    config: PortfolioConfig,
) -> None:
    def portfolio() -> object:
        return run_portfolio_backtest(
            frames,
            lambda s: factory(),
            lambda s: EngineConfig(budget=BUDGET, market=market[s]),
            BUDGET,
            config,
        )

    def single() -> list[object]:
        return [
            run_backtest(f, factory(), EngineConfig(budget=BUDGET, market=market[s]))
            for s, f in frames.items()
        ]

    candles = sum(len(f) for f in frames.values())
    (one_secs, many_secs), (_, result) = interleaved(runs, single, portfolio)
    # the share from each round's pair of runs (taken moments apart, so the machine's drift
    # cancels), its median and range; candles/s from each work's best run
    shares = sorted(a / b for a, b in zip(one_secs, many_secs, strict=True))
    one, many = candles / min(one_secs), candles / min(many_secs)
    perf = result.performance  # type: ignore[attr-defined]
    refused = len(result.engine.refusals)  # type: ignore[attr-defined]
    cap = config.max_open_positions or "no cap"
    print(
        f"{name}, {cap} positions: one-symbol engine {one:>9,.0f} candles/s, portfolio {many:>9,.0f}; "
        f"share {median(shares):.1%} (rounds {shares[0]:.1%}–{shares[-1]:.1%}; {perf.trades} fills, "
        f"{refused} orders refused)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--symbols", type=int, default=20)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    frames, rules = symbols(args.symbols)
    market = {s: dataclasses.replace(rules_for(rules[s]), symbol=s) for s in frames}
    print(
        f"{args.symbols} symbols × {len(next(iter(frames.values()))):,} 1m candles, {args.runs} rounds, "
        "candles/s (a symbol's candle each; best run), the portfolio's share of the one-symbol speed "
        "(median of the rounds; target ≥ 80%):"
    )
    rsi = lambda: make("simple_rsi")  # noqa: E731
    compare("simple_rsi", rsi, args.runs, frames, market, PortfolioConfig(max_open_positions=5))
    compare("simple_rsi", rsi, args.runs, frames, market, PortfolioConfig())
    compare("idle", Idle, args.runs, frames, market, PortfolioConfig(max_open_positions=5))


if __name__ == "__main__":
    main()
