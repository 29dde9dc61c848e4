"""Core's commands and the collector of every distribution's commands: a command that is not
installed names the distribution that brings it; bad input is one line and exit code 2."""

import re
from importlib.metadata import EntryPoint
from pathlib import Path

from botrader.core.cli.main import build_app, installed_commands, main
from tests.support.cli import one_error_line
from tests.support.servers import free_port


def core_only() -> list[EntryPoint]:
    return [ep for ep in installed_commands() if ep.value.startswith("botrader.core.")]


def test_a_missing_command_names_its_distribution(capsys) -> None:
    app = build_app(core_only())
    assert main(["train", "--data", "x.parquet"], app=app) == 2
    one_error_line(capsys, "`botrader train` comes with botrader-jobs[rl]", "pip install 'botrader-jobs[rl]'")
    assert main(["up", "-f", "bot.yaml"], app=app) == 2
    one_error_line(capsys, "`botrader up` comes with botrader-services")
    assert main(["--help"], app=app) == 0
    out = capsys.readouterr().out
    assert "backtest" in out and "Not installed here" in out and "botrader-operator" in out


def test_an_unknown_command_is_a_usage_error(capsys) -> None:
    assert main(["frobnicate"]) == 2
    assert "No such command 'frobnicate'" in capsys.readouterr().err


def test_unconnectable_database(capsys, tmp_path: Path) -> None:
    url = f"postgresql://bot:hunter2@127.0.0.1:{free_port()}/botrader"
    assert main(["db", "upgrade", "--db", url]) == 2
    err = one_error_line(capsys, "cannot connect to database postgresql://bot:***@127.0.0.1")
    assert "hunter2" not in err and len(err.splitlines()) == 1
    assert main(["db", "upgrade", "--db", f"sqlite:///{tmp_path}/no/such/dir/x.db"]) == 2
    one_error_line(capsys, "cannot connect to database sqlite:///")


def test_db_upgrade_on_both_databases(db_url: str, capsys) -> None:
    assert main(["db", "upgrade", "--db", db_url]) == 0
    assert "at revision 0007" in capsys.readouterr().out
    assert main(["db", "upgrade", "--db", db_url]) == 0


def test_help_shows_every_option_name_in_full_at_80_columns(monkeypatch, capsys) -> None:
    """`botrader up --help` at 80 columns showed `--exit-after-re…`: every option of every
    installed command must appear whole."""
    import typer.main

    from botrader.core.cli.main import default_app
    from botrader.core.cli.main import main as cli

    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.delenv("TERMINAL_WIDTH", raising=False)
    group = typer.main.get_command(default_app())
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        subcommands = getattr(command, "commands", {name: command})
        for sub, target in subcommands.items():
            argv = [name, "--help"] if sub == name else [name, sub, "--help"]
            cli(argv)
            shown = capsys.readouterr().out
            names = [o for p in target.params for o in [*p.opts, *p.secondary_opts] if o.startswith("--")]
            assert not re.search(r"-[\w-]*…", shown) and all(n in shown for n in names), (argv, shown[-400:])
