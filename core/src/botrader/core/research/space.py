"""A search space: the strategy's own (each `Param(search=…)`), or a YAML file that narrows,
widens or adds to it. Checked against the strategy before anything runs, so a typo or a range
outside a parameter's bounds is one line and exit 2, not a failed search an hour in.

    # space.yaml: a range (low/high, optional log) or a list of choices per parameter
    period: {low: 7, high: 28}
    oversold: {low: 15, high: 35}
    overbought: [65, 70, 75, 80]
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from botrader.core.errors import UserError
from botrader.core.strategy.base import Strategy
from botrader.core.strategy.params import Param, Scalar


@dataclass(frozen=True, slots=True)
class Dimension:
    """One searched parameter: a range of its type (int or float), or choices."""

    name: str
    kind: str  # "int", "float" or "choice"
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple[Scalar, ...] = ()

    def describe(self) -> str:
        if self.kind == "choice":
            return "{" + ", ".join(map(str, self.choices)) + "}"
        return f"[{self.low:g}, {self.high:g}]{' log' if self.log else ''}"


def _from_param(param: Param) -> Dimension:
    if isinstance(param.search, list):
        return Dimension(param.name, "choice", choices=tuple(param.search))
    low, high = param.search  # type: ignore[misc]
    kind = "int" if param.kind is int else "float"
    return Dimension(param.name, kind, float(low), float(high), param.log)


def declared(cls: type[Strategy], fixed: dict[str, Any] | None = None) -> dict[str, Dimension]:
    """The strategy's declared space, minus the parameters the caller fixed."""
    return {
        name: _from_param(p)
        for name, p in cls.params.items()
        if p.search is not None and name not in (fixed or {})
    }


def _dimension(cls: type[Strategy], name: str, spec: Any, where: str) -> Dimension:
    if name not in cls.params:
        known = ", ".join(sorted(cls.params)) or "none"
        raise UserError(f"{where}: {cls.name} has no parameter {name!r} (its parameters: {known})")
    try:
        return _checked(cls.name, cls.params[name], spec, where)
    except UserError as exc:
        message = str(exc)
        raise UserError(message if message.startswith(where) else f"{where}: {message}") from None


def _checked(owner: str, param: Param, spec: Any, where: str) -> Dimension:
    name = param.name
    if isinstance(spec, list):
        if not spec:
            raise UserError(f"{where}: {name} lists no choices")
        return Dimension(name, "choice", choices=tuple(param.coerce(owner, v) for v in spec))
    if not isinstance(spec, dict) or not {"low", "high"} <= set(spec) or set(spec) - {"low", "high", "log"}:
        raise UserError(f"{where}: {name} must be {{low: A, high: B[, log: true]}} or a list of choices")
    if param.kind not in (int, float):
        raise UserError(f"{where}: {name} is {param.kind.__name__}: give a list of choices, not a range")
    low, high = (param.coerce(owner, spec[k]) for k in ("low", "high"))
    if low >= high:
        raise UserError(f"{where}: {name} low {low} must be below high {high}")
    if spec.get("log") and low <= 0:
        raise UserError(f"{where}: {name} with log: true needs low > 0")
    kind = "int" if param.kind is int else "float"
    return Dimension(name, kind, float(low), float(high), bool(spec.get("log", False)))


def from_option(cls: type[Strategy], value: str, fixed: dict[str, Any] | None = None) -> dict[str, Dimension]:
    """`--space`: a YAML file, or an inline YAML mapping (`{period: {low: 7, high: 28}}`, how
    an OptimizationRun's spec.space reaches the command)."""
    inline = value.lstrip().startswith("{")
    where = "bad --space" if inline else f"bad --space {value}"
    try:
        doc = yaml.safe_load(value if inline else Path(value).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise UserError(f"{where}: {str(exc).splitlines()[0]}") from None
    return _over_declared(cls, doc, fixed, where)


def from_file(cls: type[Strategy], path: Path, fixed: dict[str, Any] | None = None) -> dict[str, Dimension]:
    """The declared space with the file's dimensions over it (each checked against the
    strategy's parameters: name, type, bounds)."""
    return from_option(cls, str(path), fixed)


def _over_declared(
    cls: type[Strategy], doc: Any, fixed: dict[str, Any] | None, where: str
) -> dict[str, Dimension]:
    if not isinstance(doc, dict) or not doc:
        raise UserError(f"{where}: expected a mapping of parameter names to ranges or choices")
    space = declared(cls, fixed)
    for name, spec in doc.items():
        space[str(name)] = _dimension(cls, str(name), spec, where)
    return space


def check(cls: type[Strategy], space: dict[str, Dimension]) -> None:
    if not space:
        raise UserError(f"{cls.name} declares nothing to search (no Param(search=…)): give --space FILE.yaml")
