"""`botrader strategy check`: the built-ins and the examples pass; a strategy that peeks one
candle ahead, one with a too-short warm-up and one whose state is not saved are each flagged,
naming the candle and the field; the template `strategy new` writes passes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from botrader.core.cli.main import main
from botrader.core.engine.engine import EngineConfig
from botrader.core.strategy.check import run_checks
from botrader.core.strategy.registry import resolve
from tests.support.paths import REAL_MONTH, REPO

FIXTURES = Path(__file__).parent / "strategies" / "broken.py"
EXAMPLES = REPO / "examples" / "strategies"


@pytest.fixture(scope="module")
def days(real_candles: pd.DataFrame) -> pd.DataFrame:
    return real_candles.iloc[:8000].reset_index(drop=True)


def verdicts(ref: str, frame: pd.DataFrame, **params) -> dict[str, tuple[bool, str]]:
    findings = run_checks(resolve(ref), params, frame, EngineConfig())
    return {f.check: (f.ok, f.detail) for f in findings}


@pytest.mark.parametrize(
    "ref",
    [
        "simple_rsi",
        "rsi_sma",
        f"{EXAMPLES / 'sma_cross.py'}:SmaCross",
        f"{EXAMPLES / 'bollinger_reversion.py'}:BollingerReversion",
    ],
)
def test_built_ins_and_examples_are_clean(ref: str, days: pd.DataFrame) -> None:
    found = verdicts(ref, days)
    assert all(ok for ok, _ in found.values()), found


def test_a_strategy_that_peeks_ahead_is_flagged(days: pd.DataFrame) -> None:
    found = verdicts(f"{FIXTURES}:PeeksAhead", days)
    ok, detail = found["look-ahead"]
    assert not ok and "ind.next_up" in detail and "it used later candles" in detail
    assert found["determinism"][0]


def test_a_too_short_warmup_is_flagged(days: pd.DataFrame) -> None:
    ok, detail = verdicts(f"{FIXTURES}:ShortWarmup", days)["warm-up"]
    assert not ok and "declared warm-up of 20 candles" in detail and "ind.trend" in detail
    ok, _ = verdicts(f"{FIXTURES}:ShortWarmup", days, span=10)["warm-up"]  # EMA(10) has settled long before
    assert not ok  # still: 20 candles are too few for an EMA(10) to forget its seed to 1e-9


def test_state_that_is_not_saved_is_flagged(days: pd.DataFrame) -> None:
    ok, detail = verdicts(f"{FIXTURES}:ForgetsItsState", days)["resume"]
    assert not ok and "resumed from its snapshot" in detail
    # in prices and quantities, as people read them — not the engine's integer units
    assert "'price':" not in detail and re.search(r"(buy|sell) \d+\.\d+ at \d+\.\d{2} on 2025-", detail)
    assert "look-ahead failure" not in detail


def test_a_resume_failure_caused_by_look_ahead_says_so(days: pd.DataFrame) -> None:
    """A new user's look-ahead bug failed the resume check too, with a hint about state() that
    sent them the wrong way: the resume finding now points at the look-ahead one."""
    found = verdicts(f"{FIXTURES}:PeeksAhead", days)
    assert not found["look-ahead"][0] and not found["resume"][0]
    assert "the look-ahead failure above explains this too" in found["resume"][1]


def test_cli_exit_codes_and_the_template(tmp_path: Path, capsys, monkeypatch) -> None:
    sample = tmp_path / "days.csv"
    pd.read_csv(REAL_MONTH, nrows=8000).to_csv(sample, index=False)
    assert main(["strategy", "check", "simple_rsi", "--data", str(sample), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["clean"] and [c["check"] for c in report["checks"]] == [
        "look-ahead",
        "warm-up",
        "determinism",
        "resume",
    ]
    assert main(["strategy", "check", f"{FIXTURES}:PeeksAhead", "--data", str(sample)]) == 1
    assert "look-ahead   FAILED" in capsys.readouterr().out
    assert main(["strategy", "check", "simple_rsi", "--data", str(sample), "--param", "period=1"]) == 2
    assert "bad simple_rsi parameter period=1" in capsys.readouterr().err
    monkeypatch.chdir(tmp_path)
    assert main(["strategy", "new", "my_trend"]) == 0
    assert "class MyTrend" in capsys.readouterr().out
    assert main(["strategy", "check", "my_trend.py:MyTrend", "--data", str(sample)]) == 0
    assert main(["strategy", "new", "my_trend"]) == 2  # nothing overwritten
    assert "my_trend.py exists" in capsys.readouterr().err
