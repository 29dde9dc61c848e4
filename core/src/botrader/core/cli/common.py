"""Helpers shared by the CLI commands."""

from __future__ import annotations

import importlib
import logging
import sys
from types import ModuleType
from typing import Any

from botrader.core.errors import UserError

DISTRIBUTION_OF = {
    "botrader.services": "botrader-services",
    "botrader.jobs": "botrader-jobs",
    "botrader.operator": "botrader-operator",
}


def require(module: str) -> ModuleType:
    """Import a module from another distribution, or say which one to install."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if not (exc.name or "").startswith("botrader."):
            raise
        top = ".".join(module.split(".")[:2])
        dist = DISTRIBUTION_OF.get(top, top)
        raise UserError(f"this command needs the {dist} distribution: pip install {dist}") from None


def setup_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level.upper(), stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


def console() -> Any:
    """A rich console; off a terminal (logs, CI) wide enough for every table column."""
    from rich.console import Console

    out = Console()
    return out if out.is_terminal else Console(width=140)


def split_symbols(values: list[str]) -> list[str]:
    """`--symbol BTCUSDT --symbol ETHUSDT` and `--symbol BTCUSDT,ETHUSDT` both work."""
    return [s for v in values for s in v.split(",") if s.strip()]
