"""Helpers shared by the CLI commands of every distribution."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from typing import Any

from botrader.core.errors import UserError


def setup_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level.upper(), stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


def console() -> Any:
    """A rich console; off a terminal (logs, CI) wide enough for every table column."""
    from rich.console import Console

    out = Console()
    return out if out.is_terminal else Console(width=140)


def assignments(items: Iterable[str], option: str) -> dict[str, object]:
    """NAME=VALUE items (`--param`, `--portfolio`, `--universe`): values as JSON when they
    parse (14, 0.5, true), else text; a malformed item is one line naming it."""
    out: dict[str, object] = {}
    for item in items:
        key, sep, raw = item.strip().partition("=")
        if not sep or not key:
            raise UserError(f"bad {option} {item!r}: expected NAME=VALUE")
        try:
            out[key] = json.loads(raw)
        except json.JSONDecodeError:
            out[key] = raw
    return out
