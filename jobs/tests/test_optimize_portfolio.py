"""`botrader optimize` over a portfolio: one strategy's parameters searched over four real pairs
and one wallet, each trial scored on the portfolio's returns, judged by the same card. The
controls again: a planted leak in every pair is found and believed, shuffled returns are not;
the winner's search-set figures are what `botrader backtest` of the same portfolio gives."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from botrader.core.cli.main import main
from botrader.core.data.files import read_candles_frame
from tests.support.cli import one_error_line
from tests.support.paths import BINANCE_MONTH, DATA
from tests.support.shuffle import shuffled

CONTROLS = Path(__file__).parent / "strategies" / "controls.py"
DAYS = 6
PAIRS = "ALGOUSDT,AVAXUSDT,FILUSDT,NEARUSDT"


def folder(tmp_path: Path, change=lambda frame, i: frame) -> Path:
    """The four bundled months' first `DAYS` days, as Binance-named files in one folder."""
    out = tmp_path / "pairs"
    out.mkdir()
    for i, (symbol, path) in enumerate(sorted(BINANCE_MONTH.items())):
        frame = read_candles_frame(path).iloc[: DAYS * 1440].reset_index(drop=True)
        change(frame, i).to_csv(out / f"{symbol}-1m-2025-02.csv", index=False)
    return out


def optimize(capsys, *argv: str) -> dict:
    rc = main(["optimize", "--ray-address", "none", "--mlflow-uri", "none", "--json", *argv])
    out = capsys.readouterr()
    assert rc == 0, out.err
    return json.loads(out.out)


def test_a_leak_planted_in_every_pair_is_found_and_believed(tmp_path: Path, capsys) -> None:
    data = folder(tmp_path)
    argv = ["--strategy", f"{CONTROLS}:PeekNext", "--data", str(data), "--trials", "12", "--fee", "0"]
    found = optimize(capsys, *argv, "--portfolio", "maxOpenPositions=2")
    assert found["symbols"] == PAIRS.split(",")
    assert found["evaluated_by"] == "the portfolio engine (4 pairs, one wallet)"
    assert found["best"]["params"]["shift"] == -1 and found["best"]["oos"]["sharpe"] > 1.0
    assert found["pbo"] < 0.1 and found["dsr"] > 0.5 and found["passes"]
    # the held-out tail is cut on the merged clock of minutes: 25% of 3 days, after the embargo
    assert found["held_out"]["candles"] == DAYS * 1440 - int(DAYS * 1440 * 0.75) - 60
    variants = [row["variant"] for row in found["stress"]]  # a portfolio fills at the close only
    assert variants[:4] == ["as searched", "2x fees", "3x fees", "participation 0.1"]
    assert variants[4:] == ["baseline simple_rsi", "baseline rsi_sma"]


@pytest.mark.parametrize("seed", [0, 1])
def test_shuffled_returns_in_every_pair_show_no_skill(tmp_path: Path, capsys, seed: int) -> None:
    data = folder(tmp_path, lambda frame, i: shuffled(frame, 10 * seed + i))
    found = optimize(capsys, "--data", str(data), "--trials", "30", "--seed", str(seed))
    assert found["trials"] == 30 and not found["passes"]
    assert found["dsr"] < 0.5


def test_the_winner_scores_what_a_portfolio_backtest_of_the_search_set_gives(tmp_path: Path, capsys) -> None:
    """The objective is the portfolio's: the winner's search-set return and fills are those of
    `botrader backtest --symbols …` with its parameters, its caps, over the same minutes."""
    data = folder(tmp_path)
    caps = "maxOpenPositions=2,stake=volatility"
    found = optimize(capsys, "--data", str(data), "--symbols", PAIRS, "--portfolio", caps, "--trials", "8")
    backtest_agrees(capsys, found, data, caps)


def test_a_perpetual_portfolio_search_goes_long_and_short(tmp_path: Path, capsys) -> None:
    data = folder(tmp_path)
    perp = ["--market", "usdm-perp", "--leverage", "2", "--funding-rate", "0.0001", "--fee", "0.0005"]
    found = optimize(capsys, "--data", str(data), "--strategy", "rsi_long_short", *perp, "--trials", "4")
    assert found["market"] == "usdm-perp" and found["trials"] == 4
    assert "baseline rsi_long_short" in {row["variant"] for row in found["stress"]}  # the market's own


@pytest.mark.slow
def test_a_portfolio_search_runs_on_ray_tune(tmp_path: Path, capsys) -> None:
    """Through Ray Tune the portfolio travels to the workers inside the search: the same
    figures come back as the backtest gives."""
    data = folder(tmp_path)
    argv = ["optimize", "--data", str(data), "--portfolio", "maxOpenPositions=2", "--trials", "4"]
    assert main([*argv, "--concurrency", "2", "--mlflow-uri", "none", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["trials"] == 4 and found["symbols"] == PAIRS.split(",")
    backtest_agrees(capsys, found, data, "maxOpenPositions=2")


def backtest_agrees(capsys, found: dict, data: Path, caps: str) -> None:
    first = pd.Timestamp(found["search_set"]["start"])
    last = first + pd.Timedelta(minutes=found["search_set"]["candles"] - 1)
    params = [f"--param={k}={json.dumps(v)}" for k, v in found["best"]["params"].items()]
    argv = ["backtest", "--data", str(data), "--symbols", PAIRS, "--portfolio", caps, *params, "--json"]
    assert main([*argv, "--start", first.isoformat(), "--end", last.isoformat()]) == 0
    backtest = json.loads(capsys.readouterr().out)
    searched = found["best"]["search_set"]
    assert searched["trades"] == backtest["trades"] > 0
    assert searched["total_return"] == pytest.approx(backtest["total_return"], abs=1e-12)
    assert searched["fees"] == pytest.approx(backtest["fees"], abs=1e-9)


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--market", "usdm-perp", "--funding", str(DATA / "x-fundingRate.csv")], "funding file not found"),
        (["--strategy", "ppo"], "--strategy ppo: not with a portfolio"),
        (["--symbol", "AVAXUSDT"], "--symbol: not with a portfolio"),
        (["--portfolio", "stake=2"], "bad stake fraction 2"),
        (["--symbols", "AVAXUSDT,DOGEUSDT"], "no candle file for DOGEUSDT"),
        (["--universe", "lookback=7d"], "top=N"),
    ],
)
def test_a_bad_portfolio_search_is_one_line_before_anything_starts(
    capsys, argv: list[str], needle: str
) -> None:
    assert main(["optimize", "--data", str(DATA), "--trials", "4", "--mlflow-uri", "none", *argv]) == 2
    one_error_line(capsys, needle)


def test_a_portfolio_optimization_run_is_a_command_line_the_cli_runs(tmp_path: Path, capsys) -> None:
    """The portfolio example's spec (its pairs, caps and folder) becomes `--symbols`,
    `--portfolio` and `--data`, and the search it runs is over those pairs; a universe's
    candidates become `--symbols` beside `--universe`."""
    import yaml

    from botrader.core.crds import validate
    from botrader.core.optimization_spec import optimize_command
    from tests.support.paths import REPO

    doc = yaml.safe_load((REPO / "examples" / "optimizationrun-portfolio.yaml").read_text())
    doc["spec"].update(dataset={"path": str(folder(tmp_path))}, trials=4)
    command = optimize_command(
        "portfolio-search", validate(doc)["spec"], ray_address="none", tracking_uri="none"
    )
    assert command[command.index("--symbols") + 1] == PAIRS
    assert "maxOpenPositions=2" in command[command.index("--portfolio") + 1]
    assert main(command[1:]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["symbols"] == PAIRS.split(",") and found["trials"] == 4
    del doc["spec"]["symbols"]
    doc["spec"]["universe"] = {"topByQuoteVolume": 2, "candidates": ["AVAXUSDT", "NEARUSDT", "FILUSDT"]}
    command = optimize_command("top-two", validate(doc)["spec"], ray_address="none", tracking_uri="none")
    assert command[command.index("--symbols") + 1] == "AVAXUSDT,NEARUSDT,FILUSDT"
    assert command[command.index("--universe") + 1] == "top=2,quote=USDT,lookback=7d,refresh=1d"
