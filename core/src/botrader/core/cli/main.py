"""Entry point of the `botrader` command.

Each distribution registers its own subcommands in the entry-point group
`botrader.commands` (a Typer command function or a Typer group), so an image lists exactly
the commands it can run: the operator image has `operator`, the services image `up`,
`collect`, `backfill`, `trade`, `api`, the jobs image adds `dataset` and `train`. Core
collects what is installed and keeps the one policy every command shares — exit codes: 0
success, 2 bad input (one line naming the bad value, never a traceback), 130 interrupted —
and, for a command that is not installed, which distribution brings it.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Iterable
from importlib.metadata import EntryPoint, entry_points

import typer

from botrader.core.errors import UserError

COMMAND_GROUP = "botrader.commands"
# Every command Botrader ships and the distribution that carries it, in --help order.
DISTRIBUTION = {
    "up": "botrader-services",
    "collect": "botrader-services",
    "backfill": "botrader-services",
    "trade": "botrader-services",
    "api": "botrader-services",
    "backtest": "botrader-core",
    "strategy": "botrader-core",
    "symbols": "botrader-core",
    "dataset": "botrader-jobs",
    "train": "botrader-jobs[rl]",
    "optimize": "botrader-jobs[research]",
    "promote": "botrader-jobs[rl]",
    "operator": "botrader-operator",
    "db": "botrader-core",
}
HELP = "Botrader: AI-driven crypto paper-trading bots, on Kubernetes or on a laptop."


def installed_commands() -> list[EntryPoint]:
    """The `botrader` subcommands of the installed distributions (one per name)."""
    found = {ep.name: ep for ep in entry_points(group=COMMAND_GROUP)}
    order = list(DISTRIBUTION)
    return sorted(found.values(), key=lambda ep: (order.index(ep.name) if ep.name in order else 99, ep.name))


def has_command(name: str) -> bool:
    return any(ep.name == name for ep in installed_commands())


def install_hint(command: str) -> str:
    dist = DISTRIBUTION.get(command, "botrader-core")
    return f"`botrader {command}` comes with {dist}, which is not installed here: pip install '{dist}'"


HELP_WIDTH = 120  # columns --help is drawn in at least: rich cuts long option names below ~100


def widen_help() -> None:
    """Draw --help at the terminal's width but never under HELP_WIDTH: at 80 columns (or piped,
    where rich assumes 80) Typer's option table cut names short (`--exit-after-re…`); a narrow
    terminal now wraps the lines instead. $TERMINAL_WIDTH still wins, as Typer documents."""
    import shutil

    from typer import rich_utils

    if not os.environ.get("TERMINAL_WIDTH"):
        rich_utils.MAX_WIDTH = max(shutil.get_terminal_size().columns, HELP_WIDTH)


def build_app(commands: Iterable[EntryPoint]) -> typer.Typer:
    commands = list(commands)
    names = {ep.name for ep in commands}
    missing = [name for name in DISTRIBUTION if name not in names]
    epilog = None
    if missing:
        by_dist: dict[str, list[str]] = {}
        for name in missing:
            by_dist.setdefault(DISTRIBUTION[name], []).append(name)
        epilog = "Not installed here: " + "; ".join(
            f"{', '.join(cmds)} (pip install '{dist}')" for dist, cmds in by_dist.items()
        )
    widen_help()
    app = typer.Typer(
        name="botrader",
        help=HELP,
        epilog=epilog,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    for ep in commands:
        target = ep.load()
        if isinstance(target, typer.Typer):
            app.add_typer(target, name=ep.name)
        else:
            app.command(name=ep.name)(target)
    return app


@functools.cache
def default_app() -> typer.Typer:
    return build_app(installed_commands())


def main(argv: list[str] | None = None, app: typer.Typer | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        app = app or default_app()
        registered = {c.name for c in app.registered_commands} | {g.name for g in app.registered_groups}
        if args and args[0] in DISTRIBUTION and args[0] not in registered:
            raise UserError(install_hint(args[0]))
        app(args=args, prog_name="botrader")  # standalone: usage errors exit 2 with a message
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except UserError as exc:
        typer.echo(f"error: {exc}", err=True)
        return 2
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        return 130
    return 0


def run() -> None:
    sys.exit(main())
