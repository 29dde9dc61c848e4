"""Answers as bytes: encoded once (and then cached) instead of re-validated per request."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response
from pydantic import TypeAdapter

from botrader.services.api.cache import key_of


def adapter(kind: Any) -> TypeAdapter[Any]:
    return TypeAdapter(kind)


def encode(model: TypeAdapter[Any], data: Any) -> bytes:
    """Validated against the response model and encoded by pydantic-core in one go: what
    FastAPI would answer for `data`, without its per-request jsonable_encoder pass."""
    return model.dump_json(model.validate_python(data))


def json_response(body: bytes) -> Response:
    return Response(body, media_type="application/json")


def cache_key(request: Request) -> str:
    return key_of(request.scope)
