"""The CLI contract across every installed distribution: each command has --help; bad input
→ one line naming the value, exit code 2, no traceback, nothing written."""

import pytest
import typer

from botrader.core.cli.main import default_app, main
from tests.support.cli import one_error_line


def _commands(group: object, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [prefix]
    for name, cmd in getattr(group, "commands", {}).items():
        found += _commands(cmd, (*prefix, name))
    return found


ALL_COMMANDS = _commands(typer.main.get_command(default_app()))


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
