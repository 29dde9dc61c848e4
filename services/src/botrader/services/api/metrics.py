"""The API's own metrics: request latency per route template (bounded labels)."""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LATENCY = Histogram(
    "botrader_api_request_duration_seconds",
    "API request latency",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)


class LatencyMiddleware:
    """Plain ASGI, not `@app.middleware("http")`: that one wraps every response in a stream
    and a task, which cost more than a cached answer itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began, status = time.perf_counter(), 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route: Any = scope.get("route")
            template = getattr(route, "path", "unmatched")
            LATENCY.labels(scope["method"], template, str(status)).observe(time.perf_counter() - began)
