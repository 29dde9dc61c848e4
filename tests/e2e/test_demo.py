"""The README's demo path: the replay bot manifest runs end to end in one process."""

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.support.paths import REPO


@pytest.mark.slow
def test_replay_manifest_runs_end_to_end(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "botrader.core",
            "up",
            "-f",
            str(REPO / "examples" / "tradingbot-replay.yaml"),
            "--db",
            f"sqlite:///{db}",
            "--speed",
            "0",
            "--port",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,  # relative paths resolve via the manifest
    )
    assert run.returncode == 0, run.stderr
    assert "RSI(14)" in run.stdout and "2880 candles written" in run.stdout
    with create_engine(f"sqlite:///{db}").connect() as conn:
        rows = conn.execute(
            text("SELECT count(*), min(open_time), max(open_time) FROM candles WHERE exchange='replay'")
        ).one()
    assert rows[0] == 2880
    assert str(rows[1]).startswith("2025-06-01 00:00") and str(rows[2]).startswith("2025-06-02 23:59")
