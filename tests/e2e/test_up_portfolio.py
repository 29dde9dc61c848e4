"""`botrader up` of a portfolio bot: four pairs replayed together from a folder of Binance
dump files, paper-traded in one process over one wallet — and the stored fills are exactly
what `botrader backtest --bot` of the same manifest and folder makes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, text

from tests.support.portfolio_paper import two_days_of_four_pairs


def botrader(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "botrader.core", *argv], capture_output=True, text=True, timeout=300, cwd=cwd
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("example", "name"),
    [
        ("tradingbot-portfolio-replay.yaml", "usdt-four-replay"),
        ("tradingbot-universe-replay.yaml", "usdt-top-two-replay"),  # the same picks at the same times
        ("tradingbot-portfolio-perp-replay.yaml", "usdt-four-perp-replay"),  # long, short and funding
    ],
)
def test_up_paper_trades_a_portfolio_exactly_as_its_backtest(tmp_path: Path, example: str, name: str) -> None:
    manifest = two_days_of_four_pairs(tmp_path, example)
    folder = tmp_path / "dumps"
    doc = yaml.safe_load(manifest.read_text())
    db = f"sqlite:///{tmp_path / 'up.db'}"
    up = botrader(
        "up",
        "-f",
        str(manifest),
        "--db",
        db,
        "--speed",
        "0",
        "--port",
        "0",
        "--exit-after-replay",
        cwd=tmp_path,
    )
    assert up.returncode == 0, up.stderr
    assert "11520 candles written" in up.stdout and "ALGOUSDT, AVAXUSDT, FILUSDT, NEARUSDT" in up.stdout
    backtest = botrader("backtest", "--bot", str(manifest), "--data", str(folder), "--json", cwd=tmp_path)
    assert backtest.returncode == 0, backtest.stderr
    expected = json.loads(backtest.stdout)
    with create_engine(db).connect() as conn:
        per_symbol = dict(conn.execute(text("SELECT symbol, count(*) FROM trades GROUP BY symbol")).all())
        equity = conn.execute(text("SELECT equity FROM bots WHERE name=:n"), {"n": name}).scalar()
    assert per_symbol == {r["symbol"]: r["fills"] for r in expected["symbols"] if r["fills"]}
    assert sum(per_symbol.values()) == expected["trades"] > 10
    assert float(equity) == pytest.approx(expected["final_equity"], abs=1e-6)
    if doc["spec"].get("market") == "usdm-perp":  # each pair's funding, stored with it
        with create_engine(db).connect() as conn:
            paid = conn.execute(text("SELECT symbol, sum(amount) FROM funding GROUP BY symbol")).all()
        funding = {r["symbol"]: r["funding"] for r in expected["symbols"] if r.get("funding")}
        assert {s: float(a) for s, a in paid} == pytest.approx(funding, abs=1e-6) and funding
