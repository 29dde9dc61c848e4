"""Vectorised sweeps: simple_rsi over a year of 1m candles (525,600; the real month tiled) for
many parameter sets at once (`botrader.core.research.sweep`), against the exact event engine
(one backtest per set, timed on a few and projected) and against vectorbt's broadcast of the
same signals (`Portfolio.from_signals`, float accounting, in column chunks to bound memory),
in the same run. Figures: candle·parameter evaluations per second and the ratios; the sweep's
results are checked equal to the engine's to the unit on the sets the engine ran, and
vectorbt's final values compared. Target: >= 20M candle·param evaluations/s on 2 cores.

    python bench/bench_sweep.py [--candles 525600] [--sets 1000] [--no-vectorbt]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _common import tiled_candles

from botrader.core.backtesting.runner import run_backtest
from botrader.core.engine.engine import EngineConfig
from botrader.core.research.sweep import sweep
from botrader.core.strategy.library import SimpleRsi


def parameter_sets(n: int, seed: int = 0) -> list[dict[str, float]]:
    """Periods from a grid (a search shares indicator series between sets), thresholds free."""
    rng = np.random.default_rng(seed)
    return [
        {
            "period": int(rng.choice([7, 10, 14, 21, 28])),
            "oversold": float(rng.uniform(15, 35)),
            "overbought": float(rng.uniform(65, 85)),
        }
        for _ in range(n)
    ]


def vectorbt_run(frame, sets: list[dict], chunk: int = 100) -> tuple[float, np.ndarray]:
    """vectorbt on the same latch signals (entries/exits), fee 0.1%, all cash in, all out."""
    import vectorbt as vbt

    close = frame["close"].to_numpy(dtype=float).reshape(-1, 1)  # a column, broadcast to every set
    cache: dict = {}
    signals = [SimpleRsi.sweep_signals(frame, p, cache) for p in sets]  # the indicator work is shared
    vbt.Portfolio.from_signals(
        close[:1000], np.zeros((1000, 1), bool), np.zeros((1000, 1), bool)
    )  # numba compiles
    began, finals = time.perf_counter(), []
    for start in range(0, len(sets), chunk):
        block = np.stack(signals[start : start + chunk], axis=1)
        portfolio = vbt.Portfolio.from_signals(
            close, block == 1, block == -1, fees=0.001, init_cash=10_000.0, freq="1min"
        )
        finals.append(np.asarray(portfolio.final_value()))
    return time.perf_counter() - began, np.concatenate(finals)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--candles", type=int, default=525_600)
    parser.add_argument("--sets", type=int, default=1000)
    parser.add_argument("--engine-sets", type=int, default=3, help="sets the exact engine runs (projected)")
    parser.add_argument("--no-vectorbt", action="store_true")
    args = parser.parse_args()
    frame, sets, config = tiled_candles(args.candles), parameter_sets(args.sets), EngineConfig()
    work = args.candles * args.sets

    began = time.perf_counter()
    swept = sweep(SimpleRsi, frame, sets, config)
    ours = time.perf_counter() - began
    exact = sum(s.exact for s in swept)

    engine_time, checked = 0.0, 0
    for s in swept[: args.engine_sets]:
        t0 = time.perf_counter()
        engine = run_backtest(frame, SimpleRsi(**s.params), config).engine
        engine_time += time.perf_counter() - t0
        assert (len(engine.fills), engine.equity[-1]) == (s.fills, s.final_equity), s.params
        checked += 1
    engine_rate = args.candles * checked / engine_time

    print(f"simple_rsi, {args.candles:,} candles x {args.sets:,} parameter sets ({work:,} evaluations)")
    print(
        f"  sweep:          {ours:8.2f} s  {work / ours / 1e6:8.1f} M evaluations/s  ({exact:,} exact; the rest"
        " fell below the minimum notional, where the engine skips orders: evaluate_many reruns those)"
    )
    print(
        f"  exact engine:   {work / engine_rate:8.1f} s  {engine_rate / 1e6:8.2f} M evaluations/s"
        f"  (projected from {checked} backtests; equal to the sweep to the unit)"
    )
    print(f"  sweep / engine: {engine_rate and (work / ours) / engine_rate:8.1f}x")
    if not args.no_vectorbt:
        try:
            vbt_time, finals = vectorbt_run(frame, sets)
        except ImportError:
            print("  vectorbt: not installed (pip install -r bench/requirements.txt)")
            return
        unit = float(config.market.cash_unit)
        ours_final = np.array([s.final_equity * unit for s in swept])
        solvent = np.array([s.exact for s in swept])  # the others fell below the minimum notional
        gap = float(np.median(np.abs(finals[solvent] / ours_final[solvent] - 1)))
        print(
            f"  vectorbt:       {vbt_time:8.2f} s  {work / vbt_time / 1e6:8.1f} M evaluations/s"
            "  (signals given; float accounting without lots or a minimum notional:"
            f" final values a median {gap:.1e} from ours)"
        )
        print(
            f"  sweep / vectorbt: {vbt_time / ours:6.2f}x (the sweep's time includes computing its indicators)"
        )


if __name__ == "__main__":
    main()
