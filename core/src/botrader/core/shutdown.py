"""Graceful shutdown: SIGTERM (Kubernetes) and SIGINT (Ctrl-C) set an asyncio event."""

from __future__ import annotations

import asyncio
import signal
import threading


def stop_on_signals(stop: asyncio.Event) -> None:
    """Route SIGTERM/SIGINT to `stop`. Only the main thread can own signals; elsewhere
    (tests driving a command from a worker thread) the caller's own stop event rules."""
    if threading.current_thread() is not threading.main_thread():
        return
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
