"""Time query parameters: epoch milliseconds or ISO-8601 (UTC); bad ones are 422s."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from fastapi.exceptions import RequestValidationError

from botrader.core.errors import UserError
from botrader.core.timeutil import parse_instant

PATTERN = r"^(\d{1,15}|\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?)?)$"
TimeParam = Annotated[
    str | None, Query(max_length=40, pattern=PATTERN, description="epoch ms or ISO-8601 UTC")
]


def _reject(name: str, value: str, message: str) -> RequestValidationError:
    """A 422 shaped like FastAPI's own, naming the parameter."""
    return RequestValidationError(
        [{"loc": ("query", name), "msg": message, "type": "value_error", "input": value}]
    )


def parse_time(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    try:
        ms = parse_instant(value, option=name)
    except UserError as exc:
        raise _reject(name, value, str(exc)) from None
    if not -62_135_596_800_000 < ms < 253_402_300_800_000:  # years 1 to 9999
        raise _reject(name, value, f"bad {name} {value!r}: out of range")
    return ms
