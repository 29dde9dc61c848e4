"""The held-out check on a bundled perpetual month: PPO trading long and short (trained in
the engine itself, on the perpetual) against PPO long-only (trained on spot's array
environment, then traded on the same perpetual) and buy-and-hold — all on the same test
split, through the same engine, after fees and funding, with each training's card verdict.

Honesty rules as `botrader train`'s: chronological train / validation / test splits, the
checkpoint chosen on validation, the test split touched once per agent. There are no real
funding dumps bundled, so funding is one rate at every funding time (`--funding-rate`,
Binance's usual 0.01% per 8 h by default): a long pays it, a short receives it.

    python bench/bench_ppo_perp.py [--data examples/data/AVAXUSDT-1m-2025-02.csv.gz]
        [--leverage 1] [--funding-rate 0.0001] [--fee 0.0005] [--timesteps 200000] [--seed 1]
        [--action-deadzone 0.2]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import REPO

from botrader.core.market_kind import MarketOptions
from botrader.jobs.train.evaluate import backtest_period, figures
from botrader.jobs.train.fan_out import run_training
from botrader.jobs.train.hyperparameters import Hyperparameters
from botrader.jobs.train.model import ActionPredictor
from botrader.jobs.train.request import TrainRequest, load_splits
from botrader.jobs.train.strategy import Ppo


def train(data: Path, market: MarketOptions, hp: Hyperparameters, tracking: str) -> dict[str, Any]:
    request = TrainRequest(
        data=data, budgets=[10_000.0], hyperparameters=hp, tracking_uri=tracking, ray_address="none"
    )
    request.market_options = market
    began = time.perf_counter()
    result = run_training(request)[0]
    result["seconds"] = time.perf_counter() - began
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=REPO / "examples/data/AVAXUSDT-1m-2025-02.csv.gz")
    parser.add_argument("--leverage", type=int, default=1)
    parser.add_argument("--funding-rate", default="0.0001")
    parser.add_argument("--timesteps", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--action-deadzone", type=float, default=0.2, help="the target grid (perpetual)")
    parser.add_argument("--fee", type=float, default=0.0005, help="USD-M's taker fee (every row pays it)")
    args = parser.parse_args()
    perp = MarketOptions(market="usdm-perp", leverage=args.leverage, funding_rate=args.funding_rate)
    hp = Hyperparameters(
        total_timesteps=args.timesteps,
        seed=args.seed,
        learning_rate=args.learning_rate,
        fee_rate=args.fee,
        action_deadzone=args.action_deadzone,
    )
    with tempfile.TemporaryDirectory() as tmp:
        tracking = f"sqlite:///{tmp}/mlflow.db"
        os.environ["MLFLOW_TRACKING_URI"] = tracking  # models:/ URIs resolve here
        both = train(args.data, perp, hp, tracking)
        long_only = train(args.data, MarketOptions(), hp, tracking)
        # the long-only agent on the perpetual's test split: same engine, fees and funding
        request = TrainRequest(data=args.data, budgets=[10_000.0], hyperparameters=hp, ray_address="none")
        request.market_options = perp
        frame, splits = load_splits(request)
        predictor = ActionPredictor.load(long_only["model_uri"])
        run = backtest_period(
            Ppo.with_predictor(predictor), frame, splits.test.frame, request.engine_config(1e4)
        )
        on_perp = figures(run.performance)
    rows = {
        "ppo long/short": {k: both[f"test_{k}"] for k in ("return", "max_drawdown", "trades")},
        "ppo long-only (spot-trained)": on_perp,
        **both["baselines"],
    }
    print(
        f"{args.data.name}: test split {splits.test.frame['open_time'].size:,} candles, usdm-perp "
        f"{args.leverage}x, funding {args.funding_rate} per 8 h, fee {hp.fee_rate}, {args.timesteps:,} steps, "
        f"target grid {hp.action_deadzone}"
    )
    print(f"{'':32} {'return':>9} {'max DD':>9} {'fills':>6}")
    for name, r in rows.items():
        print(f"{name:32} {r['return']:>+9.2%} {-r['max_drawdown']:>+9.2%} {r['trades']:>6}")
    print(f"long/short training {both['seconds']:.0f} s; card: {both['verdict']}")
    print(f"long-only training {long_only['seconds']:.0f} s; card (on spot): {long_only['verdict']}")


if __name__ == "__main__":
    main()
