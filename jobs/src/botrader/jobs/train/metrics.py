"""Training progress as Prometheus metrics, served by the process that drives the run.

Ray runs each budget in a worker process; workers send their progress to the driver (a Ray
queue), and the driver alone serves `/metrics`, so one scrape target covers the whole run.
Labels: `run` (the TrainingRun) and `budget` — both bounded by what the user asked for.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Gauge

EPISODE_RETURN = Gauge(
    "botrader_training_episode_return",
    "Mean return of the episodes finished in the last update",
    ["run", "budget"],
)
VALIDATION_SHARPE = Gauge(
    "botrader_training_validation_sharpe", "Sharpe ratio of the latest validation backtest", ["run", "budget"]
)
STEPS_PER_SECOND = Gauge(
    "botrader_training_steps_per_second", "Environment steps per second in the last update", ["run", "budget"]
)
ENV_STEPS = Counter("botrader_training_env_steps", "Environment steps taken", ["run", "budget"])
FINISHED = Counter("botrader_training_budgets_finished", "Budgets whose agent is trained and tested", ["run"])


def record(run: str, progress: dict[str, Any]) -> None:
    """Apply one progress message (what `train_budget` reports after an update)."""
    labels = (run, f"{progress['budget']:g}")
    if progress.get("episode_return") is not None:
        EPISODE_RETURN.labels(*labels).set(progress["episode_return"])
    if progress.get("val_sharpe") is not None:
        VALIDATION_SHARPE.labels(*labels).set(progress["val_sharpe"])
    if progress.get("sps") is not None:
        STEPS_PER_SECOND.labels(*labels).set(progress["sps"])
    if progress.get("steps"):
        ENV_STEPS.labels(*labels).inc(progress["steps"])
    if progress.get("finished"):
        FINISHED.labels(run).inc()


def declare(run: str, budgets: list[float]) -> None:
    """Series exist from the start (zero steps), so rates and alerts have a baseline."""
    FINISHED.labels(run)
    for budget in budgets:
        ENV_STEPS.labels(run, f"{budget:g}")
