"""`botrader backtest` over many symbols and one wallet: a folder of Binance dump files, the
symbols or a point-in-time universe, the portfolio's caps; per-symbol results in --json and
the fills export; bad input is one line and exit code 2."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from botrader.core.cli.main import main
from tests.support.cli import one_error_line
from tests.support.paths import BINANCE_MONTH, DATA

FOUR = "ALGOUSDT,AVAXUSDT,FILUSDT,NEARUSDT"


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    assert main(["backtest", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_a_folder_of_dumps_and_symbols_give_the_portfolio_and_each_symbol(capsys, tmp_path: Path) -> None:
    trades = tmp_path / "fills.csv"
    out = run_json(
        capsys, "--data", str(DATA), "--symbols", FOUR, "--portfolio", "maxOpenPositions=2",
        "--end", "2025-02-08", "--trades", str(trades),
    )  # fmt: skip
    assert [r["symbol"] for r in out["symbols"]] == FOUR.split(",")
    assert out["trades"] == sum(r["fills"] for r in out["symbols"]) > 20
    # each symbol's contribution adds up to the portfolio's result (within float printing)
    assert sum(r["contribution"] for r in out["symbols"]) == pytest.approx(
        out["final_equity"] - 10_000, abs=1e-6
    )
    assert {r["reason"] for r in out["refusals"]} == {"max_open_positions"}
    rows = list(csv.DictReader(trades.open()))
    assert len(rows) == out["trades"] and {r["symbol"] for r in rows} <= set(FOUR.split(","))


def test_files_named_one_by_one_are_the_same_portfolio(capsys) -> None:
    folder = run_json(capsys, "--data", str(DATA), "--symbols", "AVAXUSDT,NEARUSDT", "--end", "2025-02-05")
    files = run_json(
        capsys, "--data", str(BINANCE_MONTH["AVAXUSDT"]), "--data", str(BINANCE_MONTH["NEARUSDT"]),
        "--end", "2025-02-05",
    )  # fmt: skip
    assert files == folder


def test_a_universe_trades_only_what_it_picked_when_it_picked_it(capsys) -> None:
    out = run_json(
        capsys, "--data", str(DATA), "--universe", "top=2,lookback=3d,refresh=1d", "--end", "2025-02-12"
    )
    picks = {u["time"]: u["symbols"] for u in out["universe"]}
    assert picks["2025-02-01T00:00:00Z"] == []  # nothing had closed yet: nothing may be entered
    assert picks["2025-02-02T00:00:00Z"] == ["AVAXUSDT", "FILUSDT"]
    assert picks["2025-02-11T00:00:00Z"] == ["AVAXUSDT", "NEARUSDT"]
    traded = {r["symbol"] for r in out["symbols"] if r["fills"]}
    assert traded <= {"AVAXUSDT", "FILUSDT", "NEARUSDT"} and "FILUSDT" in traded
    assert out["refusals"] == []  # a pair not picked sleeps: it never decides, so nothing is refused


@pytest.mark.parametrize(
    ("argv", "needles"),
    [
        (["--symbols", "AVAXUSDT,DOGEUSDT"], ["no candle file for DOGEUSDT", "found: ALGOUSDT"]),
        (["--portfolio", "stake=2"], ["bad stake fraction 2: expected a fraction in (0, 1]"]),
        (
            ["--portfolio", "maxOpenPositions=two"],
            ["bad maxOpenPositions 'two': expected a whole number >= 1"],
        ),
        (["--portfolio", "maxGrossExposure=all"], ["bad maxGrossExposure 'all': expected a number"]),
        (["--portfolio", "maxOpen=2"], ["unknown portfolio field 'maxOpen'"]),
        (["--portfolio", "maxOpenPositions"], ["bad --portfolio 'maxOpenPositions': expected NAME=VALUE"]),
        (["--universe", "top=3,lookback=7x"], ["bad universe lookback '7x'"]),
        (["--universe", "lookback=7d"], ["top=N"]),
        (["--symbols", ","], ["bad --symbols ','"]),
        # options a portfolio does not honour are refused, never silently dropped
        (
            ["--market", "usdm-perp", "--funding-rate", "0", "--mark", "marks.csv"],
            ["--mark (one file for many pairs): not with a portfolio"],
        ),
        (["--walk-forward", "1000,100"], ["--walk-forward: not with a portfolio"]),
        (["--plot", "chart.html"], ["--plot: not with a portfolio"]),
        (["--symbol", "AVAXUSDT"], ["--symbol: not with a portfolio"]),
    ],
)
def test_bad_portfolio_input_is_one_line_and_exit_code_2(capsys, argv: list[str], needles: list[str]) -> None:
    assert main(["backtest", "--data", str(DATA), *argv]) == 2
    one_error_line(capsys, *needles)


def test_a_file_without_a_symbol_in_its_name_is_named(capsys, tmp_path: Path) -> None:
    odd = tmp_path / "candles.csv"
    odd.write_text("open_time,open,high,low,close,volume\n")
    assert main(["backtest", "--data", str(odd), "--data", str(BINANCE_MONTH["AVAXUSDT"])]) == 2
    one_error_line(capsys, "candles.csv: no symbol in its name")


def test_a_portfolio_from_the_database_equals_the_same_files(sqlite_url: str, capsys) -> None:
    from botrader.core.candles import make_key
    from botrader.core.data.files import frame_to_candles, read_candles_frame
    from botrader.core.db import connect, upgrade
    from botrader.core.db.candles import CandleStore

    engine = connect(sqlite_url)
    upgrade(engine)
    for symbol in ("AVAXUSDT", "NEARUSDT"):
        frame = read_candles_frame(BINANCE_MONTH[symbol], end=1_738_540_800_000)  # to 2025-02-03
        CandleStore(engine).upsert(make_key("binance", symbol, "1m"), frame_to_candles(frame))
    every = run_json(capsys, "--db", sqlite_url, "--portfolio", "maxOpenPositions=1")  # every stored symbol
    named = run_json(
        capsys, "--db", sqlite_url, "--symbols", "AVAXUSDT,NEARUSDT", "--portfolio", "maxOpenPositions=1"
    )
    files = run_json(
        capsys, "--data", str(DATA), "--symbols", "AVAXUSDT,NEARUSDT", "--end", "2025-02-03",
        "--portfolio", "maxOpenPositions=1",
    )  # fmt: skip
    assert every == named == files and files["trades"] > 0
    assert main(["backtest", "--db", sqlite_url, "--exchange", "replay", "--universe", "top=1"]) == 2
    one_error_line(capsys, "no stored replay 1m candles")


def test_a_portfolio_manifest_backtests_with_its_own_caps_and_breakers(capsys, tmp_path: Path) -> None:
    import yaml

    from tests.support.paths import REPO

    example = REPO / "examples" / "tradingbot-portfolio.yaml"
    out = run_json(capsys, "--bot", str(example), "--data", str(DATA), "--end", "2025-02-10")
    assert [r["symbol"] for r in out["symbols"]] == FOUR.split(",")
    assert any(r["reason"] == "max_open_positions" for r in out["refusals"])
    # the bot's drawdown limit watches the whole wallet (and is mirrored into every symbol)
    assert {"portfolio_drawdown", "daily_loss"} <= {b["breaker"] for b in out["breakers"]}
    doc = yaml.safe_load(example.read_text())
    del doc["spec"]["symbols"]
    doc["spec"]["universe"] = {"topByQuoteVolume": 2, "lookback": "3d", "refresh": "1d"}
    (tmp_path / "bot.yaml").write_text(yaml.safe_dump(doc))
    picked = run_json(capsys, "--bot", str(tmp_path / "bot.yaml"), "--data", str(DATA), "--end", "2025-02-12")
    assert {u["time"]: u["symbols"] for u in picked["universe"]}["2025-02-11T00:00:00Z"] == [
        "AVAXUSDT",
        "NEARUSDT",
    ]
    assert main(["backtest", "--bot", str(example), "--data", str(DATA), "--symbols", "AVAXUSDT"]) == 2
    one_error_line(capsys, "a portfolio bot names its symbols, universe and caps itself")
