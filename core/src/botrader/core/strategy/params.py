"""Strategy parameters: declared once on the class, with a type, a default, bounds, help and
an optional search space; checked when the strategy is built, so a bad value is one line that
names it before any candle is read.

    class SmaCross(Strategy):
        fast = Param(10, ge=2, search=(5, 20), help="SMA window of the fast average")

The type is the default's (int, float, bool or str); an int parameter takes only whole
numbers, a float one any number. `search` is what optimisers and walk-forward grids explore:
`(low, high)` a range of the parameter's type (`log=True` samples it on a log scale), or a
list of candidate values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botrader.core.errors import UserError

Scalar = int | float | bool | str


@dataclass(frozen=True, slots=True)
class Param:
    default: Scalar
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    choices: tuple[Scalar, ...] | None = None
    search: tuple[float, float] | list[Scalar] | None = None
    log: bool = False
    help: str = ""
    name: str = field(default="", compare=False)  # set by the owning class

    @property
    def kind(self) -> type:
        return type(self.default)

    def coerce(self, owner: str, value: Any) -> Scalar:
        """The value as this parameter's type, or a UserError naming it."""
        kind, where = self.kind, f"{owner} parameter {self.name}={value!r}"
        if kind is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("true", "false"):
                return value.lower() == "true"
            raise UserError(f"bad {where}: expected true or false")
        if kind is int:
            if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
                raise UserError(f"bad {where}: expected a whole number")
            value = int(value)
        elif kind is float:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise UserError(f"bad {where}: expected a number")
            value = float(value)
        elif not isinstance(value, str):
            raise UserError(f"bad {where}: expected text")
        self.check(owner, value)
        return value

    def check(self, owner: str, value: Scalar) -> None:
        where = f"{owner} parameter {self.name}={value!r}"
        for bound, ok, symbol in (
            (self.ge, lambda v, b: v >= b, ">="),
            (self.gt, lambda v, b: v > b, ">"),
            (self.le, lambda v, b: v <= b, "<="),
            (self.lt, lambda v, b: v < b, "<"),
        ):
            if bound is not None and not ok(value, bound):
                raise UserError(f"bad {where}: must be {symbol} {bound:g}")
        if self.choices is not None and value not in self.choices:
            raise UserError(f"bad {where}: expected one of {', '.join(map(str, self.choices))}")

    def grid(self, points: int = 3) -> list[Scalar]:
        """Candidate values for a grid search: the listed ones, or `points` across the range."""
        if self.search is None:
            return [self.default]
        if isinstance(self.search, list):
            return list(self.search)
        low, high = self.search
        if points < 2 or low == high:
            return [self.kind(low)]
        step = (high - low) / (points - 1)
        values = [low + i * step for i in range(points)]
        if self.kind is int:
            return sorted({round(v) for v in values})
        return [round(v, 10) for v in values]

    def describe(self) -> dict[str, Any]:
        """JSON-able, for `/strategies` and `botrader strategy list`."""
        out: dict[str, Any] = {"type": self.kind.__name__, "default": self.default}
        for key in ("ge", "gt", "le", "lt"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.choices is not None:
            out["choices"] = list(self.choices)
        if self.search is not None:
            out["search"] = list(self.search)
            if self.log:
                out["log"] = True
        if self.help:
            out["help"] = self.help
        return out
