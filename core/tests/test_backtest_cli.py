"""`botrader backtest`: the --json contract, charts, manifests, walk-forward, bad input."""

import json
from pathlib import Path

import pytest

from botrader.core.cli.main import main
from tests.support.paths import REPO, SAMPLE

CONTRACT_KEYS = {
    "strategy",
    "candles",
    "trades",
    "final_equity",
    "total_return",
    "sharpe",
    "sortino",
    "max_drawdown",
    "win_rate",
    "profit_factor",
    "buy_and_hold_return",
}


def run_json(capsys, *argv: str) -> dict:
    assert main(["backtest", "--data", str(SAMPLE), *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_json_has_the_contract_fields(capsys) -> None:
    out = run_json(capsys)
    assert CONTRACT_KEYS <= set(out)
    assert out["strategy"] == "simple_rsi" and out["candles"] == 2880 and out["trades"] > 0
    assert out["breakers"] == []  # breakers are off without --bot
    assert out["final_equity"] == pytest.approx(10_000 * (1 + out["total_return"]))
    assert 0 <= out["max_drawdown"] < 1 and -1 < out["buy_and_hold_return"] < 1


def test_fee_budget_and_params_change_the_result(capsys) -> None:
    base = run_json(capsys)
    free = run_json(capsys, "--fee", "0")
    assert free["final_equity"] > base["final_equity"] and free["trades"] == base["trades"]
    small = run_json(capsys, "--budget", "1000")
    assert small["final_equity"] == pytest.approx(base["final_equity"] / 10, rel=1e-3)
    strict = run_json(capsys, "--param", "oversold=20", "--param", "overbought=80")
    assert strict["trades"] < base["trades"]
    twap = run_json(capsys, "--algo", "twap", "--slices", "3")
    assert twap["trades"] > base["trades"]  # children are fills


def test_bot_manifest_and_plot(capsys, tmp_path: Path) -> None:
    chart = tmp_path / "equity.html"
    rc = main(
        [
            "backtest",
            "--data",
            str(SAMPLE),
            "--bot",
            str(REPO / "examples" / "tradingbot-replay.yaml"),
            "--plot",
            str(chart),
        ]
    )
    assert rc == 0
    assert "total return" in capsys.readouterr().out
    page = chart.read_text()
    assert page.startswith("<!doctype html>") and page.count("<polyline") == 2 and "<title>buy" in page


def test_walk_forward_json(capsys) -> None:
    assert main(["backtest", "--data", str(SAMPLE), "--walk-forward", "1000,500", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["windows"]) == 3
    assert all({"params", "train_return", "total_return", "trades"} <= set(w) for w in out["windows"])
    assert out["windows"][1]["test_start"] == out["windows"][0]["test_end"] + 60_000


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--strategy", "macd"], "unknown strategy 'macd'"),
        (["--budget", "-5"], "bad budget -5"),
        (["--fee", "0.5"], "bad fee rate 0.5"),
        (["--algo", "iceberg"], "unknown execution algo 'iceberg'"),
        (
            ["--param", "oversold=90"],
            "bad parameters for simple_rsi: oversold 90 must be below overbought 70",
        ),
        (["--param", "period=1"], "bad simple_rsi parameter period=1: must be >= 2"),
        (["--param", "period=2.5"], "bad simple_rsi parameter period=2.5: expected a whole number"),
        (["--param", "window=3"], "unknown parameter(s) for simple_rsi: window"),
        (["--param", "junk"], "bad --param 'junk'"),
        (["--walk-forward", "10"], "bad --walk-forward '10'"),
        (["--plot", "chart.png"], "bad --plot 'chart.png'"),
        (["--strategy", "ppo"], "strategy ppo needs a model"),
        (["--strategy", "ppo", "--model", "/nonexistent"], "model not found: '/nonexistent'"),
    ],
)
def test_bad_input(argv: list[str], needle: str, capsys) -> None:
    assert main(["backtest", "--data", str(SAMPLE), *argv]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err


def test_backtest_from_the_database(sqlite_url: str, capsys) -> None:
    from botrader.core.candles import make_key
    from botrader.core.data.files import frame_to_candles, read_candles_frame
    from botrader.core.db import connect, upgrade
    from botrader.core.db.candles import CandleStore

    engine = connect(sqlite_url)
    upgrade(engine)
    CandleStore(engine).upsert(
        make_key("replay", "BTCUSDT", "1m"), frame_to_candles(read_candles_frame(SAMPLE))
    )
    assert main(["backtest", "--db", sqlite_url, "--exchange", "replay", "--json"]) == 0
    from_db = json.loads(capsys.readouterr().out)
    assert from_db == run_json(capsys)
    assert main(["backtest", "--db", sqlite_url, "--symbol", "ETHUSDT"]) == 2
    assert "no binance:ETHUSDT:1m candles" in capsys.readouterr().err


def test_bot_manifest_with_param_model_and_exit_overrides(capsys, tmp_path: Path) -> None:
    """--param, --model and exit options apply on top of --bot's manifest (they were ignored)."""
    bot = str(REPO / "examples" / "tradingbot-replay.yaml")
    base = run_json(capsys, "--bot", bot)
    strict = run_json(capsys, "--bot", bot, "--param", "oversold=20", "--param", "overbought=80")
    assert strict["trades"] < base["trades"]
    stopped = run_json(capsys, "--bot", bot, "--stop-loss", "0.001", "--take-profit", "0.001")
    assert {"stop_loss", "take_profit"} & set(stopped["exits"]) and stopped["trades"] != base["trades"]
    assert main(["backtest", "--data", str(SAMPLE), "--bot", bot, "--model", "/nonexistent"]) == 2
    assert "unknown parameter(s) for simple_rsi: model" in capsys.readouterr().err


def test_exits_fill_model_and_sharpe_days_in_the_json(capsys) -> None:
    out = run_json(capsys, "--fill", "next_open", "--trailing-stop", "0.002", "--time-stop", "30")
    assert out["days"] == 2 and out["sharpe"] is None and out["sortino"] is None  # too few days
    assert set(out["exits"]) <= {"signal", "trailing_stop", "time_stop"} and out["exits"]
    assert main(["backtest", "--data", str(SAMPLE), "--fill", "midpoint"]) == 2
    assert "unknown fill model 'midpoint'" in capsys.readouterr().err


def test_no_data_and_no_database_is_one_line_and_creates_nothing(tmp_path, monkeypatch, capsys) -> None:
    """A new user's first `backtest --bot` without --data: one line, exit 2, and no empty
    botrader.db left behind by a read (it was a 60-line traceback and an empty file)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BOTRADER_DB_URL", raising=False)
    assert main(["backtest", "--bot", str(REPO / "examples" / "tradingbot-rsi.yaml")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        "error: no BTCUSDT 1m candles in sqlite:///botrader.db (no such file): pass --data FILE or --db URL"
    )
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "other.db").write_bytes(b"")  # a database without the candles table
    assert main(["backtest", "--db", f"sqlite:///{tmp_path / 'other.db'}"]) == 2
    assert "(it has no candles table): pass --data FILE" in capsys.readouterr().err


def test_a_file_without_a_symbol_is_not_priced_with_btcusdt_silently(tmp_path, capsys) -> None:
    """ALGOUSDT candles (≈0.38) in a file whose name says nothing: BTCUSDT's 0.01 tick would round
    every price by up to 2.6%. Refused in one line asking for --symbol; with it, they trade."""
    from tests.support.paths import BINANCE_MONTH

    renamed = tmp_path / "d.csv.gz"
    renamed.write_bytes(BINANCE_MONTH["ALGOUSDT"].read_bytes())
    assert main(["backtest", "--data", str(renamed), "--end", "2025-02-02"]) == 2
    err = capsys.readouterr().err
    assert "not on BTCUSDT's tick 0.01" in err and "pass --symbol" in err and "Traceback" not in err
    out = run_json_on(capsys, renamed, "--symbol", "ALGOUSDT", "--end", "2025-02-02")
    assert out["trades"] > 0
    named = run_json_on(capsys, BINANCE_MONTH["ALGOUSDT"], "--end", "2025-02-02")  # the dump's name says it
    assert named["final_equity"] == out["final_equity"]


def run_json_on(capsys, data, *argv: str) -> dict:
    assert main(["backtest", "--data", str(data), *argv, "--json"]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def test_fills_export_to_csv_parquet_and_json(tmp_path, capsys) -> None:
    """Every fill leaves the backtest (the user had scraped the chart's SVG to check the
    engine): exact decimals, the reason and the strategy's explanation, the same in all three."""
    import pandas as pd

    out = run_json(capsys, "--fills", "--trades", str(tmp_path / "f.csv"))
    fills = out["fills"]
    assert len(fills) == out["trades"] > 0 and fills[0]["side"] == "buy" and fills[0]["reason"] == "signal"
    assert json.loads(fills[0]["explanation"])["rsi"] < 30  # the RSI that made it buy
    csv = pd.read_csv(tmp_path / "f.csv", dtype=str)
    assert csv["price"].tolist() == [f["price"] for f in fills] and csv["pnl"].iloc[0] == "0.0000000"
    run_json(capsys, "--trades", str(tmp_path / "f.parquet"))
    parquet = pd.read_parquet(tmp_path / "f.parquet")
    assert parquet["price"].tolist() == [float(f["price"]) for f in fills]
    assert main(["backtest", "--data", str(SAMPLE), "--trades", "f.xlsx"]) == 2
    assert "bad --trades 'f.xlsx'" in capsys.readouterr().err
