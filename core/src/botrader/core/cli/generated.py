"""Typer options generated from a dataclass that declares a command's options once (field
metadata: `help`, `flag`, `option`): the command's signature is its own few parameters plus one
keyword option per field, so the declaration is the only list."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Mapping
from dataclasses import MISSING, fields
from typing import Annotated, Any

import typer


def options_of(cls: type, shared: Mapping[str, Any]) -> list[inspect.Parameter]:
    """One keyword parameter per field; `shared` names ready-made option types (`option`)."""
    hints = typing.get_type_hints(cls)
    out = []
    for f in fields(cls):  # type: ignore[arg-type]
        meta = f.metadata
        if "option" in meta:
            annotation = shared[meta["option"]]
        else:
            flag = str(meta.get("flag") or "--" + f.name.replace("_", "-"))
            kind = hints[f.name]
            names = [f"{flag}/--no-{flag[2:]}"] if kind is bool and "flag" not in meta else [flag]
            panel = {"rich_help_panel": meta["panel"]} if "panel" in meta else {}
            annotation = Annotated[kind, typer.Option(*names, help=meta.get("help", ""), **panel)]
        default = f.default if f.default is not MISSING else None
        out.append(
            inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)
        )
    return out


def with_options(func: Callable[..., Any], cls: type, shared: Mapping[str, Any]) -> Callable[..., Any]:
    """`func(**kwargs)` whose signature Typer reads: the dataclass's options, then `func`'s own
    keyword parameters (its `**options` receives the dataclass's)."""
    signature = inspect.signature(func, eval_str=True)
    own = [
        p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
        for p in signature.parameters.values()
        if p.kind is not inspect.Parameter.VAR_KEYWORD
    ]

    def command(**kwargs: Any) -> Any:
        return func(**kwargs)

    command.__doc__, command.__name__ = func.__doc__, func.__name__.lstrip("_")
    command.__signature__ = signature.replace(parameters=[*options_of(cls, shared), *own])  # type: ignore[attr-defined]
    return command
