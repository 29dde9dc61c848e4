"""`botrader optimize`'s options, declared once: the dataclass below is the only list. The
command's Typer options are generated from it (`botrader.core.cli.generated`), the search reads
it as its request (`botrader.jobs.research.run`), and an OptimizationRun's spec becomes its
command line through each field's `spec` path (`botrader.core.optimization_spec`) — a test
checks those paths, types, defaults and choices against the CRD.

Field metadata: `help`; `spec`, where the OptimizationRun spec holds the value (a path of
keys); `flag` for a flag whose name is not the field's; `option`, a ready-made option type
shared with other commands (`--strategy`, `--db`); `choices`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botrader.core.market_kind import MarketOptions

DEFAULT_EXPERIMENT = "botrader-optimize"  # the CRD's default too


def _o(default: Any, help: str, **meta: Any) -> Any:
    """`dataclasses.field` with the option's metadata (ruff's RUF009 cannot see that)."""
    return field(default=default, metadata={"help": help, **meta})


@dataclass(frozen=True, slots=True)
class OptimizeOptions(MarketOptions):
    """The market's options (inherited from `market_kind.MarketOptions`), then its own."""

    strategy: str = _o("simple_rsi", "", option="strategy")
    data: Path | None = _o(  # noqa: RUF009
        None, "Candle CSV(.gz)/parquet, a Binance dump .zip, or a folder of them (a portfolio); default --db."
    )
    db: str | None = _o(None, "", option="db")
    symbol: str | None = _o(None, "The pair (sets the money units).")
    symbols: str | None = _o(
        None,
        "SYMBOL,SYMBOL,…: search one wallet over these pairs (their files in a --data folder, or "
        "--db); the objective is the portfolio's returns.",
        panel="Portfolio",
    )
    universe: str | None = _o(
        None,
        "top=N,lookback=7d,refresh=1d: a point-in-time universe of the folder's (or --db's) pairs.",
        panel="Portfolio",
    )
    portfolio: str | None = _o(
        None,
        "maxOpenPositions=5,maxPositionFraction=0.25,stake=equal|volatility|FRACTION,onExit=close|hold,…",
        panel="Portfolio",
    )
    interval: str = _o("1m", "With --db: the interval.")
    exchange: str = _o("binance", "With --db: binance, binance-testnet or replay.")
    start: str | None = _o(None, "First candle (UTC).")
    end: str | None = _o(None, "Last candle (UTC).")
    space: str | None = _o(
        None,
        "A YAML file of ranges/choices over the strategy's declared space, or the mapping "
        "inline ('{period: {low: 7, high: 28}}'; README: Searches).",
    )
    param: list[str] | None = _o(None, "Fix a parameter NAME=VALUE (repeatable; not searched).")  # noqa: RUF009
    trials: int = _o(100, "Parameter sets to try.", spec=("trials",))
    folds: int = _o(4, "Contiguous folds of the search set each trial is scored on.", spec=("folds",))
    objective: str = _o(
        "sharpe",
        "sharpe, sortino, calmar or return (mean over folds).",
        spec=("objective",),
        choices=("sharpe", "sortino", "calmar", "return"),
    )
    holdout: float = _o(0.25, "Fraction of the candles held out from the search.", spec=("holdout",))
    embargo: int = _o(60, "Candles skipped between the search set and the held-out tail.", spec=("embargo",))
    budget: float = _o(10_000.0, "Starting cash in the quote asset.")
    fee: float = _o(0.001, "Fee rate per fill (0.001 = 0.1%).", spec=("fee",))
    slippage_bps: float = _o(0.0, "Slippage in basis points, against you.")
    fill: str = _o("close", "close or next_open.", spec=("fill",), choices=("close", "next_open"))
    seed: int = _o(0, "The sampler's seed (same seed, same proposals).", spec=("seed",))
    ray_address: str | None = _o(
        None, "Ray cluster (default $RAY_ADDRESS, else a local Ray); 'none': this process."
    )
    concurrency: int | None = _o(None, "Ray trials at once (default: all CPUs).")
    max_pbo: float = _o(0.5, "The gate: highest PBO that passes.", spec=("gate", "maxPbo"))
    min_dsr: float = _o(0.5, "The gate: lowest Deflated Sharpe that passes.", spec=("gate", "minDsr"))
    experiment: str = _o(DEFAULT_EXPERIMENT, "MLflow experiment.", spec=("mlflow", "experiment"))
    mlflow_uri: str | None = _o(
        None, "Tracking URI (default $MLFLOW_TRACKING_URI or ./mlflow.db); 'none': no tracking."
    )
    report: Path | None = _o(  # noqa: RUF009 (`_o` is dataclasses.field with metadata)
        None, "Write the card as an HTML page with its charts (MLflow gets it too)."
    )
    run_name: str | None = _o(None, "Names the MLflow run and tags it (an OptimizationRun's name).")
    walk_forward: bool = _o(
        False,
        "--strategy ppo: retrain the winner's hyperparameters at each of --folds origins and "
        "trade each next block (one training per fold). Rule strategies' walk-forward is always on.",
        spec=("walkForward",),
        flag="--walk-forward",
    )

    @property
    def is_portfolio(self) -> bool:
        """Many pairs and one wallet: asked for by name, or a folder of candle files given."""
        many = self.symbols or self.universe or self.portfolio
        return bool(many or (self.data is not None and self.data.is_dir()))


def flag_of(f: Any) -> str:
    return str(f.metadata.get("flag") or "--" + f.name.replace("_", "-"))
