"""The README's demo path: the replay bot manifest runs end to end in one process, and the
bot's paper trades are exactly what a backtest of the same manifest and candles makes."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.support.paths import REPO, SAMPLE

MANIFEST = REPO / "examples" / "tradingbot-replay.yaml"
SMA_CROSS = REPO / "examples" / "strategies" / "tradingbot-sma-cross.yaml"  # a user's strategy file


@pytest.mark.slow
@pytest.mark.parametrize(("manifest", "bot"), [(MANIFEST, "btc-replay"), (SMA_CROSS, "btc-sma-cross")])
def test_replay_manifest_runs_end_to_end(tmp_path: Path, manifest: Path, bot: str) -> None:
    db = tmp_path / "demo.db"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "botrader.core",
            "up",
            "-f",
            str(manifest),
            "--db",
            f"sqlite:///{db}",
            "--speed",
            "0",
            "--port",
            "0",
            "--exit-after-replay",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,  # relative paths resolve via the manifest
    )
    assert run.returncode == 0, run.stderr
    assert "RSI(14)" in run.stdout and "2880 candles written" in run.stdout
    backtest = subprocess.run(
        [
            sys.executable,
            "-m",
            "botrader.core",
            "backtest",
            "--data",
            str(SAMPLE),
            "--bot",
            str(manifest),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    expected = json.loads(backtest.stdout)
    with create_engine(f"sqlite:///{db}").connect() as conn:
        candles = conn.execute(text("SELECT count(*) FROM candles WHERE exchange='replay'")).scalar()
        fills = conn.execute(text("SELECT count(*) FROM trades WHERE bot=:b"), {"b": bot}).scalar()
        equity = conn.execute(text("SELECT equity FROM bots WHERE name=:b"), {"b": bot}).scalar()
    assert candles == 2880
    assert fills == expected["trades"] > 0
    assert float(equity) == pytest.approx(expected["final_equity"], abs=1e-6)
    assert f"{fills} fills" in run.stdout


@pytest.mark.slow
def test_up_says_when_a_breaker_halts_the_bot_and_backtest_says_when(tmp_path: Path) -> None:
    """A new user's bot was Halted after 10 fills by a default breaker while the plain backtest
    made 1,639: `botrader up` now prints a line when a breaker opens, and `backtest --json`
    lists the same opening at the same time."""
    manifest = tmp_path / "bot.yaml"
    text_ = MANIFEST.read_text().replace("maxConsecutiveLosses: 10", "maxConsecutiveLosses: 1")
    manifest.write_text(text_.replace("path: data/", f"path: {MANIFEST.parent}/data/"))
    up = [
        sys.executable,
        "-m",
        "botrader.core",
        "up",
        "-f",
        str(manifest),
        "--db",
        f"sqlite:///{tmp_path / 'b.db'}",
    ]
    run = subprocess.run(
        [*up, "--speed", "0", "--port", "0", "--exit-after-replay"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    backtest = subprocess.run(
        [
            sys.executable,
            "-m",
            "botrader.core",
            "backtest",
            "--data",
            str(SAMPLE),
            "--bot",
            str(manifest),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    (trip,) = json.loads(backtest.stdout)["breakers"]
    assert trip["breaker"] == "consecutive_losses" and trip["why"] == "1 losing trades in a row (limit 1)"
    when = trip["time"][:16].replace("T", " ")
    halted = [line for line in run.stdout.splitlines() if "halted" in line]
    assert halted and f"btc-replay halted at {when}: circuit breaker consecutive_losses opened" in halted[0]
