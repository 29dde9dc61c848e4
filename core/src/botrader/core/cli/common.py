"""Helpers shared by the CLI commands of every distribution."""

from __future__ import annotations

import logging
import sys
from typing import Any


def setup_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level.upper(), stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


def console() -> Any:
    """A rich console; off a terminal (logs, CI) wide enough for every table column."""
    from rich.console import Console

    out = Console()
    return out if out.is_terminal else Console(width=140)
