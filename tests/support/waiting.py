"""Waiting for a condition in async tests without blocking the event loop (the Kubernetes
stand-in serves from it)."""

from __future__ import annotations

import asyncio
import time
from typing import Any


async def eventually(check, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            if result:
                return result
        except (KeyError, TypeError):
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met in {timeout} s: {check.__doc__ or check}")
        await asyncio.sleep(0.1)
