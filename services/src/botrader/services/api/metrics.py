"""The API's own metrics: request latency per route template (bounded labels)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import Request, Response
from prometheus_client import Histogram

LATENCY = Histogram(
    "botrader_api_request_duration_seconds",
    "API request latency",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)


async def observe_latency(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    began = time.perf_counter()
    response = await call_next(request)
    route = request.scope.get("route")
    template = getattr(route, "path", "unmatched")
    LATENCY.labels(request.method, template, str(response.status_code)).observe(time.perf_counter() - began)
    return response
