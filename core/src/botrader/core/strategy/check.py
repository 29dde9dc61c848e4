"""`botrader strategy check`: four checks to run before trusting a strategy's backtest.

1. **Look-ahead** (as Freqtrade's lookahead-analysis): the strategy runs on the full candles,
   then again on histories cut at its signals; every decision and indicator value up to the
   cut must equal the full run's. A difference means the strategy saw candles it could not
   have seen live (a vectorised `Batch` function with `shift(-1)`, a centred window, …).
2. **Warm-up** (as Freqtrade's recursive-analysis): decisions and indicator values after the
   declared warm-up must equal those after a much longer one; if they differ, the paper
   trader (which warms on exactly the declared length) trades differently from the backtest.
3. **Determinism**: two runs give the same fills.
4. **Exact resume**: stopped at a random candle, snapshotted through JSON and resumed in a
   fresh engine, the fills equal an uninterrupted run's.

Each finding names the first candle and field that differ.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from botrader.core.backtesting.runner import run_backtest
from botrader.core.engine.engine import Engine, EngineConfig
from botrader.core.errors import UserError
from botrader.core.strategy.base import Strategy
from botrader.core.timeutil import format_ms

RELATIVE = 1e-6  # indicator values after two warm-ups agree to this (exponential memory)


@dataclass(frozen=True, slots=True)
class Finding:
    check: str
    ok: bool
    detail: str


class Recording:
    """The strategy, with each traded candle's decision and indicator values written down."""

    def __init__(self, strategy: Strategy) -> None:
        self.inner = strategy
        self.times: list[int] = []
        self.actions: list[float | None] = []
        self.values: list[dict[str, Any]] = []

    def decide(self, bar: Any, account: Any) -> float | None:
        action = self.inner.decide(bar, account)
        self.times.append(bar.time)
        self.actions.append(action)
        self.values.append({k: _plain(v) for k, v in vars(self.inner._values).items()})
        return action

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return tuple(float(x) for x in value.ravel())
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    return value


def _close(a: Any, b: Any, exact: bool) -> bool:
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_close(x, y, exact) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float) and not exact:
        return math.isclose(a, b, rel_tol=RELATIVE, abs_tol=1e-12)
    return a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))


def first_difference(a: Recording, b: Recording, since: int, exact: bool) -> str | None:
    """The first traded candle at or after `since` (open time) where the two runs differ."""
    index_b = {t: i for i, t in enumerate(b.times)}
    for i, t in enumerate(a.times):
        if t < since or t not in index_b:
            continue
        j = index_b[t]
        for key, value in a.values[i].items():  # an indicator first: it is usually the cause
            if not _close(value, b.values[j].get(key), exact):
                return f"{format_ms(t)}: ind.{key} {value!r} vs {b.values[j].get(key)!r}"
        if a.actions[i] != b.actions[j]:
            return f"{format_ms(t)}: decision {a.actions[i]!r} vs {b.actions[j]!r}"
    return None


def _run(
    cls: type[Strategy], params: dict[str, Any], frame: pd.DataFrame, config: EngineConfig, warmup: int = 0
) -> tuple[Recording, Any]:
    recording = Recording(cls(**params))
    result = run_backtest(frame, recording, config, warmup=warmup)  # type: ignore[arg-type]
    return recording, result


def look_ahead(
    cls: type[Strategy], params: dict[str, Any], frame: pd.DataFrame, config: EngineConfig, cuts: int = 20
) -> Finding:
    full, _ = _run(cls, params, frame, config)
    signals = [i for i, a in enumerate(full.actions) if a is not None]
    candidates = signals or list(range(1, len(frame)))
    step = max(1, len(candidates) // cuts)
    chosen = candidates[step - 1 :: step][:cuts]
    for cut in chosen:
        part, _ = _run(cls, params, frame.iloc[: cut + 1].reset_index(drop=True), config)
        diff = first_difference(part, full, int(frame["open_time"].iloc[0]), exact=True)
        if diff is not None:
            when = format_ms(int(frame["open_time"].iloc[cut]))
            return Finding(
                "look-ahead", False, f"with the history cut at {when}, {diff} — it used later candles"
            )
    what = f"{len(chosen)} histories cut at its signals" if signals else f"{len(chosen)} cut histories"
    return Finding("look-ahead", True, f"{what} agree with the full run")


def warm_up(
    cls: type[Strategy], params: dict[str, Any], frame: pd.DataFrame, config: EngineConfig
) -> Finding:
    declared = cls(**params).warmup_length()
    longer = max(5 * declared, declared + 1000)
    if len(frame) < longer + 200:
        raise UserError(
            f"the warm-up check needs at least {longer + 200} candles for a warm-up of {declared} "
            f"(the data has {len(frame)})"
        )
    start = longer
    short_run, _ = _run(cls, params, frame.iloc[start - declared :].reset_index(drop=True), config, declared)
    long_run, _ = _run(cls, params, frame, config, longer)
    diff = first_difference(short_run, long_run, int(frame["open_time"].iloc[start]), exact=False)
    if diff is not None:
        return Finding(
            "warm-up",
            False,
            f"after its declared warm-up of {declared} candles it differs from a warm-up of {longer} at "
            f"{diff}: declare a longer warmup",
        )
    return Finding("warm-up", True, f"{declared} warm-up candles decide as {longer} do")


def determinism(
    cls: type[Strategy], params: dict[str, Any], frame: pd.DataFrame, config: EngineConfig
) -> Finding:
    _, a = _run(cls, params, frame, config)
    _, b = _run(cls, params, frame, config)
    fa, fb = [f.to_dict() for f in a.fills], [f.to_dict() for f in b.fills]
    if fa != fb:
        i = next((k for k, (x, y) in enumerate(zip(fa, fb, strict=False)) if x != y), min(len(fa), len(fb)))
        return Finding(
            "determinism", False, f"two runs differ at fill {i}: {fa[i : i + 1]} vs {fb[i : i + 1]}"
        )
    return Finding("determinism", True, f"two runs, the same {len(fa)} fills")


def _feed(engine: Engine, frame: pd.DataFrame) -> None:
    cols = [frame[c].to_numpy().tolist() for c in ("open_time", "open", "high", "low", "close", "volume")]
    for row in zip(*cols, strict=True):
        engine.on_bar(*row)


def resume(
    cls: type[Strategy], params: dict[str, Any], frame: pd.DataFrame, config: EngineConfig, seed: int = 0
) -> Finding:
    _, whole = _run(cls, params, frame, config)
    stop = random.Random(seed).randrange(len(frame) // 4, max(len(frame) // 4 + 1, 3 * len(frame) // 4))
    first = cls(**params)
    first.prepare(frame.iloc[:stop].reset_index(drop=True))
    before = Engine(first, config)
    _feed(before, frame.iloc[:stop])
    snapshot = json.loads(json.dumps(before.snapshot()))
    after = Engine(cls(**params), config)
    after.restore(snapshot)
    _feed(after, frame.iloc[stop:])
    resumed = [f.to_dict() for f in before.fills] + [f.to_dict() for f in after.fills]
    expected = [f.to_dict() for f in whole.fills]
    when = format_ms(int(frame["open_time"].iloc[stop]))
    if resumed != expected:
        i = next(
            (k for k, (x, y) in enumerate(zip(resumed, expected, strict=False)) if x != y),
            min(len(resumed), len(expected)),
        )
        got = _fill_text(resumed[i], config) if i < len(resumed) else "no fill"
        want = _fill_text(expected[i], config) if i < len(expected) else "no fill"
        return Finding(
            "resume",
            False,
            f"stopped before {when} and resumed from its snapshot, fill {i} differs: resumed {got}, "
            f"uninterrupted {want} (keep everything on_candle decides on in plain attributes, "
            "or override state()/restore())",
        )
    return Finding(
        "resume",
        True,
        f"stopped before {when}, resumed from a JSON snapshot: {len(expected)} fills identical",
    )


def _fill_text(fill: dict[str, Any], config: EngineConfig) -> str:
    """A fill as people read it: prices and quantities, not the engine's integer units."""
    m = config.market
    return (
        f"{fill['side']} {m.to_base(fill['lots'])} at {m.price(fill['price'])} on {format_ms(fill['time'])} "
        f"({fill['reason']})"
    )


LOOK_AHEAD_EXPLAINS = (
    "; the look-ahead failure above explains this too: a strategy that reads candles it has not "
    "seen yet decides differently when it is stopped before them — fix that first"
)


def run_checks(
    cls: type[Strategy],
    params: dict[str, Any],
    frame: pd.DataFrame,
    config: EngineConfig,
    *,
    seed: int = 0,
    cuts: int = 20,
) -> list[Finding]:
    if len(frame) < 100:
        raise UserError(f"strategy check needs at least 100 candles (the data has {len(frame)})")
    found = [
        look_ahead(cls, params, frame, config, cuts),
        warm_up(cls, params, frame, config),
        determinism(cls, params, frame, config),
        resume(cls, params, frame, config, seed),
    ]
    if not found[0].ok and not found[3].ok:
        found[3] = Finding("resume", False, found[3].detail + LOOK_AHEAD_EXPLAINS)
    return found
