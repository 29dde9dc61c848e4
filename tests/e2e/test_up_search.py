"""`botrader up` with an OptimizationRun in the manifests: it searches first (the operator's
command line, in-process), prints the verdict, and the bot takes the best parameters only when
the card passes its gate — refusing, with one line, when it does not."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, text

from tests.support.paths import REPO

MANIFEST = REPO / "examples" / "tradingbot-searched-replay.yaml"


def manifests(tmp_path: Path, **gate: float) -> Path:
    search, bot = yaml.safe_load_all(MANIFEST.read_text())
    search["spec"].update(trials=12, **({"gate": gate} if gate else {}))
    search["spec"]["dataset"]["path"] = str(REPO / "examples" / search["spec"]["dataset"]["path"])
    bot["spec"]["replay"]["path"] = str(REPO / "examples" / bot["spec"]["replay"]["path"])
    path = tmp_path / "searched.yaml"
    path.write_text(yaml.safe_dump_all([search, bot]))
    return path


def up(tmp_path: Path, manifest: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "botrader.core", "up", "-f", str(manifest)]
    command += ["--db", f"sqlite:///{tmp_path / 'up.db'}", "--port", "0", "--exit-after-replay"]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path)


@pytest.mark.slow
def test_a_card_that_fails_its_gate_stops_the_bot_before_it_trades(tmp_path: Path) -> None:
    done = up(tmp_path, manifests(tmp_path))
    assert done.returncode == 2, done.stderr[-2000:]
    assert "OptimizationRun rsi-month: no evidence of skill" in done.stdout
    assert "a bot trades searched parameters only when the card passes" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "up.db").exists()


@pytest.mark.slow
def test_a_passing_card_gives_the_bot_its_parameters(tmp_path: Path) -> None:
    done = up(tmp_path, manifests(tmp_path, maxPbo=1.0, minDsr=0.0))  # a gate that admits any card
    assert done.returncode == 0, done.stderr[-2000:]
    assert "2880 candles written" in done.stdout
    with create_engine(f"sqlite:///{tmp_path / 'up.db'}").connect() as conn:
        spec = json.loads(conn.execute(text("select spec from bots")).scalar_one())
    strategy = spec["strategy"]
    assert "paramsFrom" not in strategy and set(strategy["params"]) == {"period", "oversold", "overbought"}
    assert 7 <= strategy["params"]["period"] <= 28 and (tmp_path / "mlflow.db").is_file()
