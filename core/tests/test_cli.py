"""The CLI contract: --help everywhere; bad input → one line naming the value, exit code 2,
no traceback, nothing written."""

import asyncio
from pathlib import Path

import pytest
import typer

from botrader.core.cli.main import app, main
from tests.support.servers import free_port


def _commands(group: object, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [prefix]
    for name, cmd in getattr(group, "commands", {}).items():
        found += _commands(cmd, (*prefix, name))
    return found


ALL_COMMANDS = _commands(typer.main.get_command(app))


def test_every_command_is_listed() -> None:
    assert {" ".join(c) for c in ALL_COMMANDS} >= {
        "",
        "up",
        "collect",
        "backfill",
        "dataset",
        "dataset build",
        "db",
        "db upgrade",
        "backtest",
        "trade",
        "train",
        "api",
        "operator",
    }


@pytest.mark.parametrize("command", ALL_COMMANDS, ids=lambda c: " ".join(c) or "botrader")
def test_help_for_every_command(command: tuple[str, ...], capsys) -> None:
    assert main([*command, "--help"]) == 0
    out = capsys.readouterr().out
    assert "Usage: botrader" in out and len(out.splitlines()) > 3


def one_error_line(capsys, *needles: str) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, err
    return err


@pytest.mark.parametrize(
    ("argv", "needles"),
    [
        (
            ["backfill", "--symbol", "BTCUSDT", "--interval", "7m", "--start", "2024-01-01"],
            ["unknown interval '7m'"],
        ),
        (["backfill", "--symbol", "BTC-USDT", "--start", "2024-01-01"], ["bad symbol 'BTC-USDT'"]),
        (["backfill", "--symbol", "BTCUSDT", "--start", "2024-02-30"], ["bad --start '2024-02-30'"]),
        (["backfill", "--symbol", "BTCUSDT", "--start", "2024-01-01", "--end", "soon"], ["bad --end 'soon'"]),
        (
            ["backfill", "--symbol", "BTCUSDT", "--start", "2024-01-01", "--source", "kraken"],
            ["unknown source 'kraken'"],
        ),
        (
            [
                "collect",
                "--symbol",
                "BTCUSDT",
                "--source",
                "replay",
                "--db",
                "sqlite:///:memory:",
                "--port",
                "0",
            ],
            ["--source replay needs --replay-file"],
        ),
        (["collect", "--symbol", "BTCUSDT", "--speed", "-1"], ["bad --speed -1"]),
        (
            ["dataset", "build", "--data", "/nonexistent.csv", "--out", "x.parquet"],
            ["candle file not found: '/nonexistent.csv'"],
        ),
        (["backfill", "--symbol", "BTCUSDT"], ["Missing option '--start'"]),
        (["up", "-f", "/nonexistent.yaml"], ["manifest not found"]),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv: list[str], needles: list[str], capsys) -> None:
    assert main(argv) == 2
    one_error_line(capsys, *needles)


def test_unconnectable_database(capsys, tmp_path: Path) -> None:
    url = f"postgresql://bot:hunter2@127.0.0.1:{free_port()}/botrader"
    assert main(["db", "upgrade", "--db", url]) == 2
    err = one_error_line(capsys, "cannot connect to database postgresql://bot:***@127.0.0.1")
    assert "hunter2" not in err and len(err.splitlines()) == 1
    assert main(["db", "upgrade", "--db", f"sqlite:///{tmp_path}/no/such/dir/x.db"]) == 2
    one_error_line(capsys, "cannot connect to database sqlite:///")


def test_db_upgrade_on_both_databases(db_url: str, capsys) -> None:
    assert main(["db", "upgrade", "--db", db_url]) == 0
    assert "at revision 0002" in capsys.readouterr().out
    assert main(["db", "upgrade", "--db", db_url]) == 0


async def test_unreachable_and_unknown_symbol_write_nothing(
    sqlite_url, candles_slice, fake_binance_factory, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("BOTRADER_BINANCE_REST_URL", f"http://127.0.0.1:{free_port()}")
    rc = await asyncio.to_thread(
        main, ["backfill", "--symbol", "BTCUSDT", "--start", "2025-06-01", "--db", sqlite_url]
    )
    assert rc == 2
    one_error_line(capsys, "cannot reach Binance REST at http://127.0.0.1:")

    server = await fake_binance_factory({("BTCUSDT", "1m"): candles_slice(0, 10)})
    monkeypatch.setenv("BOTRADER_BINANCE_REST_URL", server.rest_url)
    monkeypatch.setenv("BOTRADER_BINANCE_WS_URL", server.ws_url)
    rc = await asyncio.to_thread(
        main, ["backfill", "--symbol", "ETHBTC", "--start", "2025-06-01", "--db", sqlite_url]
    )
    assert rc == 2
    one_error_line(capsys, "unknown symbol 'ETHBTC'")
    rc = await asyncio.to_thread(main, ["collect", "--symbol", "ETHBTC", "--db", sqlite_url, "--port", "0"])
    assert rc == 2
    one_error_line(capsys, "unknown symbol 'ETHBTC'")
    from sqlalchemy import create_engine, text

    with create_engine(sqlite_url).connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM candles")).scalar() == 0


def test_manifest_errors_name_the_field(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bot.yaml"
    head = (
        "apiVersion: botrader.io/v1alpha1\nkind: TradingBot\nmetadata: {name: b}\nspec:\n  symbol: BTCUSDT\n"
    )
    bad.write_text(head + "  budget: -5\n")
    assert main(["up", "-f", str(bad)]) == 2
    one_error_line(capsys, "spec.budget", "-5")
    bad.write_text(head + "  risk: {maxPositionFraction: 1.5}\n")
    assert main(["up", "-f", str(bad)]) == 2
    one_error_line(capsys, "spec.risk.maxPositionFraction", "1.5")
    bad.write_text("kind: Deployment\n")
    assert main(["up", "-f", str(bad)]) == 2
    one_error_line(capsys, "kind 'Deployment': botrader up runs TradingBot and TrainingRun")
    bad.write_text("")
    assert main(["up", "-f", str(bad)]) == 2
    one_error_line(capsys, "botrader up runs exactly one TradingBot; the manifests hold 0 (none)")


def test_collect_replay_with_duration_stops_on_time(sqlite_url: str, capsys) -> None:
    import time

    from tests.support.paths import SAMPLE

    began = time.monotonic()
    rc = main(
        [
            "collect",
            "--symbol",
            "BTCUSDT",
            "--source",
            "replay",
            "--replay-file",
            str(SAMPLE),
            "--speed",
            "600",
            "--duration",
            "1.5",
            "--db",
            sqlite_url,
            "--port",
            "0",
            "--log-level",
            "WARNING",
        ]
    )
    elapsed = time.monotonic() - began
    assert rc == 0 and 1.4 < elapsed < 5
    written = int(capsys.readouterr().out.split("collector stopped: ")[1].split()[0])
    assert 10 <= written <= 20  # 600x real time: ten 1m candles a second
