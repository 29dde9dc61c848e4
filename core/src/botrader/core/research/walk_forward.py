"""Walk-forward (rolling origin) out-of-sample results of a search's selection rule: the search
set's periods cut into `folds + 1` contiguous blocks; at each origin the trial with the best
Sharpe on everything before it — less `purge` periods at the boundary, so no return that
touches the test block is scored in training — trades the next block. What that gives, fold by
fold and stitched, is what the procedure (search, pick, trade) earns on data it never saw,
beside buy-and-hold and the rule baselines on the very same blocks.

Every trial ran once over the whole search set, so a fold's test returns are that trial's
returns there (its indicators warmed on what came before, as a live bot's would be): the
walk-forward costs no backtest. The held-out tail stays untouched by all of it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from botrader.core.research.sharpe import compound_return, sharpe_of


@dataclass(frozen=True, slots=True)
class Fold:
    test: tuple[int, int]  # periods [start, end) of the search set
    train: tuple[int, int]  # periods scored to choose, after the purge
    chosen: int  # the trial (column) picked at this origin
    oos_return: float
    oos_sharpe: float | None  # per period
    market_return: float | None  # buy-and-hold over the same periods
    baselines: dict[str, float] = field(default_factory=dict)  # return per baseline

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class WalkForward:
    folds: tuple[Fold, ...]
    oos_return: float  # the folds' test returns stitched
    oos_sharpe: float | None
    market_return: float | None
    beats_market: int  # folds whose return beat buy-and-hold's
    baselines: dict[str, float]  # each baseline's stitched return over the test blocks
    retrained: bool = False  # True: trained afresh at each origin (PPO), not picked from trials

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["folds"] = [f.to_dict() for f in self.folds]
        return out


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _best(returns: np.ndarray) -> int:
    scores = [sharpe_of(returns[:, j]) for j in range(returns.shape[1])]
    return int(np.argmax([s if math.isfinite(s) else -np.inf for s in scores]))


def fold(
    test: tuple[int, int],
    train: tuple[int, int],
    chosen: int,
    tested: np.ndarray,
    market: np.ndarray | None,
    baselines: dict[str, np.ndarray],
) -> Fold:
    """One fold's figures from its test block's returns (the pick's, the market's, each baseline's)."""
    return Fold(
        test=test,
        train=train,
        chosen=chosen,
        oos_return=compound_return(tested),
        oos_sharpe=_finite(sharpe_of(tested)),
        market_return=None if market is None else compound_return(market),
        baselines={name: compound_return(r) for name, r in baselines.items()},
    )


def summarise(
    folds: list[Fold],
    tested: np.ndarray,
    market: np.ndarray | None,
    baselines: dict[str, np.ndarray],
    retrained: bool = False,
) -> WalkForward:
    """The folds and their test blocks stitched: `tested`, `market` and each baseline are the
    blocks' returns end to end."""
    return WalkForward(
        folds=tuple(folds),
        oos_return=compound_return(tested),
        oos_sharpe=_finite(sharpe_of(tested)),
        market_return=None if market is None else compound_return(market),
        beats_market=sum(1 for f in folds if f.market_return is not None and f.oos_return > f.market_return),
        baselines={name: compound_return(r) for name, r in baselines.items()},
        retrained=retrained,
    )


def walk_forward(
    returns: np.ndarray,
    folds: int = 4,
    purge: int = 1,
    market: np.ndarray | None = None,
    baselines: dict[str, np.ndarray] | None = None,
) -> WalkForward | None:
    """`returns`: periods × trials; `market` and each baseline: one return per period of the
    same search set. None when the blocks would be too short to say anything (under 8 periods)."""
    periods, trials = returns.shape
    if trials < 1 or folds < 1 or periods // (folds + 1) < max(8, 2 * purge + 2):
        return None
    bounds = np.linspace(0, periods, folds + 2).astype(int)
    others = {k: v for k, v in (baselines or {}).items() if len(v) == periods}
    if market is not None and len(market) != periods:
        market = None
    out: list[Fold] = []
    for k in range(1, folds + 1):
        start, end = int(bounds[k]), int(bounds[k + 1])
        train_end = max(1, start - purge)
        chosen = _best(returns[:train_end])
        block = {name: r[start:end] for name, r in others.items()}
        mark = None if market is None else market[start:end]
        out.append(fold((start, end), (0, train_end), chosen, returns[start:end, chosen], mark, block))
    first = int(bounds[1])
    stitched = np.concatenate([returns[f.test[0] : f.test[1], f.chosen] for f in out])
    rest = {name: r[first:] for name, r in others.items()}
    return summarise(out, stitched, None if market is None else market[first:], rest)


def table(wf: dict[str, Any], period: str = "hour") -> tuple[list[str], list[list[str]]]:
    """The folds (`WalkForward.to_dict()`, as the card's JSON holds them) as text, one row each
    and the stitched total last: the CLI and the card's page print the same figures."""

    def pct(x: float | None) -> str:
        return "n/a" if x is None else f"{x:+.2%}"

    def sharpe(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.3f}"

    names = sorted(wf["baselines"])
    folds = wf["folds"]
    rows = [
        [str(i + 1), f"{f['test'][0]}-{f['test'][1]}", str(f["chosen"]), pct(f["oos_return"])]
        + [sharpe(f["oos_sharpe"]), pct(f["market_return"])]
        + [pct(f["baselines"].get(n)) for n in names]
        for i, f in enumerate(folds)
    ]
    span = f"{folds[0]['test'][0]}-{folds[-1]['test'][1]}"
    rows.append(
        ["all", span, "", pct(wf["oos_return"]), sharpe(wf["oos_sharpe"]), pct(wf["market_return"])]
        + [pct(wf["baselines"][n]) for n in names]
    )
    head = ["fold", f"test {period}s", "chosen trial", "return", f"Sharpe/{period[0]}", "buy-and-hold"]
    return head + names, rows
