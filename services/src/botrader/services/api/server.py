"""Serving the API: standalone (`botrader api`) or inside another process's event loop
(`botrader up`), where the host process owns the signals."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

import uvicorn

WS_MAX_SIZE = 1 << 20  # bytes in one WebSocket frame; /ws refuses messages far smaller anyway


class EmbeddedServer(uvicorn.Server):
    """uvicorn without its own signal handling: the embedding process stops it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve_embedded(app: Any, host: str, port: int) -> tuple[EmbeddedServer, asyncio.Task[None]]:
    server = EmbeddedServer(
        uvicorn.Config(
            app, host=host, port=port, log_level="warning", access_log=False, ws_max_size=WS_MAX_SIZE
        )
    )
    task = asyncio.create_task(server.serve(), name="api")
    while not server.started and not task.done():
        await asyncio.sleep(0.02)
    if task.done():
        task.result()  # raise why it could not start (e.g. the port is taken)
    return server, task


def bound_port(server: uvicorn.Server) -> int:
    return int(server.servers[0].sockets[0].getsockname()[1])
