"""Backtest speed on one year of 1m candles (525,600; the real month tiled), simple_rsi,
side by side with backtesting.py (and vectorbt when installed) on the same data and rules;
results compared for equality. Targets: >= 250,000 candles/s and >= 50x backtesting.py,
with the exact, event-by-event engine.

Rules for every implementation: RSI(14) as `ta` computes it; flat and RSI < 30 → buy with
all cash (fee included) at the candle's close; long and RSI > 70 → sell all at the close;
fee 0.1% per fill; 0.00001 BTC lots.

    python bench/bench_backtest.py [--candles 525600]
"""

from __future__ import annotations

import argparse
import time

import pandas as pd
from _common import tiled_candles
from ta.momentum import RSIIndicator

from botrader.core.engine.backtest import run_backtest
from botrader.core.strategy.registry import make
from tests.support.reference_rsi import BUDGET, FEE, backtesting_py_rsi


def ours(frame: pd.DataFrame) -> tuple[float, float, int]:
    began = time.perf_counter()
    result = run_backtest(frame, make("simple_rsi"))
    return time.perf_counter() - began, result.performance.final_equity, result.performance.trades


def backtesting_py(frame: pd.DataFrame) -> tuple[float, float, int]:
    began = time.perf_counter()  # its RSI is computed inside the timing, as our engine computes its own
    stats = backtesting_py_rsi(frame)
    elapsed = time.perf_counter() - began
    trades = stats["_trades"]
    fills = 2 * int(trades["ExitTime"].notna().sum()) + int(trades["ExitTime"].isna().sum())
    return elapsed, float(stats["_equity_curve"]["Equity"].iloc[-1]), fills


def vectorbt(frame: pd.DataFrame) -> tuple[float, float, int] | None:
    try:
        import vectorbt as vbt
    except ImportError:
        return None

    def run(close: pd.Series) -> tuple[float, int]:
        rsi = RSIIndicator(close, 14).rsi()
        entries, exits = (rsi < 30).to_numpy(), (rsi > 70).to_numpy()
        # all cash per entry; vectorbt sizes in fractional units (no lot rounding)
        pf = vbt.Portfolio.from_signals(close, entries, exits, init_cash=BUDGET, fees=FEE)
        return float(pf.final_value()), int(pf.orders.count())

    close = pd.Series(frame["close"].to_numpy())
    run(close.iloc[:1000])  # numba compiles on the first call: keep that out of the timing
    began = time.perf_counter()
    final, orders = run(close)
    return time.perf_counter() - began, final, orders


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--candles", type=int, default=525_600)
    parser.add_argument("--skip-backtesting-py", action="store_true")
    args = parser.parse_args()
    frame = tiled_candles(args.candles)
    n = len(frame)
    print(f"simple_rsi on {n:,} 1m candles")
    secs, equity, fills = ours(frame)
    report("botrader engine", n, secs, equity, fills)
    if not args.skip_backtesting_py:
        b_secs, b_equity, b_fills = backtesting_py(frame)
        report("backtesting.py", n, b_secs, b_equity, b_fills)
        print(
            f"speed-up vs backtesting.py {b_secs / secs:.1f}x; "
            f"equity difference {abs(equity - b_equity):.4f}; same fills: {fills == b_fills}"
        )
    vb = vectorbt(frame)
    if vb is None:
        print("vectorbt             not installed (pip install vectorbt) — skipped")
    else:
        report("vectorbt (vectorised)", n, *vb)
        print(f"vectorbt takes {vb[0] / secs:.2f}x our time (signals precomputed, not event-by-event)")


def report(name: str, n: int, secs: float, equity: float, fills: int) -> None:
    print(f"{name:<22} {n / secs:>12,.0f} candles/s  final equity {equity:,.2f}  fills {fills}")


if __name__ == "__main__":
    main()
