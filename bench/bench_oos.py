"""Out-of-sample report on the bundled real month (examples/data): each budget's PPO agent
(several seeds) on the test split against buy-and-hold and simple_rsi, after fees, with a
2x-fee stress row and the deflated Sharpe ratio given the number of trials.

Honesty rules: chronological train / validation / test splits; checkpoints are chosen on
validation only; the test split is evaluated once per agent, after training. The DSR uses
hourly returns of the test period (the test split is ~4.5 days: too few daily returns).

    python bench/bench_oos.py [--seeds 1,2,3] [--budgets 1000,10000,50000,100000] [--timesteps 200000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import numpy as np
from _common import REPO  # noqa: F401 (puts the repo on sys.path)

from botrader.core.data.files import read_candles_frame
from botrader.core.engine.engine import EngineConfig
from botrader.core.engine.execution import ExecutionConfig
from botrader.core.engine.performance import period_returns
from botrader.core.research.sharpe import deflated_sharpe, moments
from botrader.core.strategy.registry import make
from botrader.jobs.rl.data import make_splits
from botrader.jobs.train import ppo
from botrader.jobs.train.evaluate import BuyAndHold, backtest_period
from botrader.jobs.train.fan_out import run_training
from botrader.jobs.train.model import ActionPredictor
from botrader.jobs.train.request import TrainRequest
from botrader.jobs.train.strategy import Ppo
from tests.support.paths import REAL_MONTH

HOUR = 3_600_000


def config(budget: float, fee: float) -> EngineConfig:
    from decimal import Decimal

    return EngineConfig(budget=Decimal(str(budget)), execution=ExecutionConfig(fee_rate=fee))


def annualised_hourly(run, budget: float) -> float | None:
    """Sharpe of hourly returns × √8760: the test split has ~4.5 days, too few for the
    engine's daily Sharpe (None below 30 days); hourly returns are less autocorrelated than
    minutes', so the annualisation overstates less than a per-minute one would."""
    r = hourly(run, budget)
    std = float(r.std(ddof=1)) if len(r) > 2 else 0.0
    return float(r.mean()) / std * (8760**0.5) if std > 0 else None


def hourly(result, budget: float) -> np.ndarray:
    return period_returns(np.asarray(result.times), result.equity, HOUR, budget)


def fmt(values: list[float | None], pct: bool = False) -> str:
    vals = [v for v in values if v is not None]
    if not vals:
        return "–"
    mean, std = statistics.mean(vals), (statistics.stdev(vals) if len(vals) > 1 else 0.0)
    return f"{mean:+.2%} ± {std:.2%}" if pct else f"{mean:+.2f} ± {std:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--budgets", default="1000,10000,50000,100000")
    parser.add_argument("--timesteps", type=int, default=200_000)
    parser.add_argument(
        "--extra-trials",
        type=int,
        default=5,
        help="configurations tried before this run (the action-deadzone sweep), counted in the DSR",
    )
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    budgets = [float(b) for b in args.budgets.split(",")]
    frame = read_candles_frame(REAL_MONTH)
    splits = make_splits(frame)
    test = splits.test.frame
    rows: dict[tuple[float, str], dict[str, list]] = {}
    trial_returns = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            hp = ppo.Hyperparameters(total_timesteps=args.timesteps, seed=seed)
            request = TrainRequest(
                data=REAL_MONTH,
                budgets=budgets,
                hyperparameters=hp,
                tracking_uri=f"sqlite:///{Path(tmp) / 'mlflow.db'}",
                experiment="oos",
            )
            import os

            os.chdir(tmp)
            for result in run_training(request):
                budget = result["budget"]
                predictor = ActionPredictor.load(result["model_uri"])
                for fee, label in ((0.001, "fee 0.1%"), (0.002, "fee 0.2% (2x stress)")):
                    run = backtest_period(Ppo.with_predictor(predictor), frame, test, config(budget, fee))
                    cell = rows.setdefault(
                        (budget, label), {"sharpe": [], "return": [], "dd": [], "trades": [], "exposure": []}
                    )
                    p = run.performance
                    cell["sharpe"].append(annualised_hourly(run, budget))
                    cell["return"].append(p.total_return)
                    cell["dd"].append(-p.max_drawdown)
                    cell["trades"].append(p.trades)
                    cell["exposure"].append(p.exposure)
                    if fee == 0.001:
                        trial_returns.append((budget, seed, hourly(run, budget)))
    srs = [float(r.mean() / r.std(ddof=1)) for _, _, r in trial_returns if r.std(ddof=1) > 0]
    variance = statistics.pvariance(srs) if len(srs) > 1 else 0.0
    print(
        f"test split {len(test):,} candles; {len(seeds)} seeds x {len(budgets)} budgets = {len(trial_returns)} "
        f"trials; {args.timesteps:,} steps each\n"
    )
    print(
        f"{'budget':>8} {'fees':<22} {'Sharpe (mean ± sd)':>20} {'return':>20} {'max DD':>20} "
        f"{'fills':>8} {'exposure':>9}"
    )
    for (budget, label), cell in sorted(rows.items()):
        print(
            f"{budget:>8,.0f} {label:<22} {fmt(cell['sharpe']):>20} {fmt(cell['return'], True):>20} "
            f"{fmt(cell['dd'], True):>20} {statistics.mean(cell['trades']):>8.0f} "
            f"{statistics.mean(cell['exposure']):>9.1%}"
        )
    for fee in (0.001, 0.002):
        hold_run = backtest_period(BuyAndHold(), frame, test, config(10_000, fee))
        rsi_run = backtest_period(make("simple_rsi"), frame, test, config(10_000, fee))
        for name, run in (("buy & hold", hold_run), ("simple_rsi", rsi_run)):
            p, value = run.performance, annualised_hourly(run, 10_000)
            sharpe = "–" if value is None else f"{value:+.2f}"
            print(
                f"{name:>8} fee {fee:.1%}{'':<14} {sharpe:>20} {p.total_return:>+20.2%} {-p.max_drawdown:>+20.2%} "
                f"{p.trades:>8} {p.exposure:>9.1%}"
            )
    print(
        "\ndeflated Sharpe ratio (hourly test returns; probability the Sharpe beats the best of the trials by luck)"
    )
    for budget, seed, returns in trial_returns:
        found = moments(returns)
        dsr = deflated_sharpe(found, len(trial_returns) + args.extra_trials, variance) if found else None
        sr = returns.mean() / returns.std(ddof=1) if returns.std(ddof=1) > 0 else 0.0
        print(
            f"  budget {budget:>8,.0f} seed {seed}: hourly Sharpe {sr:+.3f}, DSR {'–' if dsr is None else f'{dsr:.3f}'}"
        )


if __name__ == "__main__":
    main()
