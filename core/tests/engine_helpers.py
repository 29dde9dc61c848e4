"""Scripted strategies and synthetic candles for engine tests."""

from __future__ import annotations

from typing import Any, ClassVar

from botrader.core.engine.engine import Engine

MINUTE = 60_000
T0 = 1_748_736_000_000  # 2025-06-01T00:00Z


class Scripted:
    """Returns the scripted action for each candle index (None elsewhere)."""

    name: ClassVar[str] = "scripted"

    def __init__(self, actions: dict[int, float] | None = None) -> None:
        self.actions = actions or {}
        self.i = -1

    def decide(self, bar: Any, account: Any) -> float | None:
        self.i += 1
        return self.actions.get(self.i)

    def explain(self) -> dict[str, Any]:
        return {"i": self.i}

    def state(self) -> dict[str, Any]:
        return {"i": self.i}

    def load(self, state: dict[str, Any]) -> None:
        self.i = state["i"]


def feed(engine: Engine, closes: list[float], volumes: list[float] | None = None, start: int = 0) -> None:
    for i, close in enumerate(closes):
        volume = volumes[i] if volumes else 100.0
        engine.on_bar(T0 + (start + i) * MINUTE, close, close, close, close, volume)
