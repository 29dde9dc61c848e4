"""Scripted strategies and synthetic candles for engine tests."""

from __future__ import annotations

from typing import Any

from botrader.core.engine.engine import Engine
from botrader.core.engine.exits import Exits
from botrader.core.strategy import Strategy

MINUTE = 60_000
T0 = 1_748_736_000_000  # 2025-06-01T00:00Z


class Scripted(Strategy):
    """Returns the scripted action for each candle index (None elsewhere)."""

    def __init__(self, actions: dict[int, float] | None = None, exits: Exits | None = None) -> None:
        super().__init__()
        self.script = actions or {}  # int keys: not a plain attribute, so not in the state
        if exits is not None:
            self.exits = exits

    def setup(self) -> None:
        self.i = -1

    def on_candle(self, bar: Any, ind: Any, account: Any) -> float | None:
        self.i += 1
        return self.script.get(self.i)

    def explain(self) -> dict[str, Any]:
        return {"i": self.i}


def feed(engine: Engine, closes: list[float], volumes: list[float] | None = None, start: int = 0) -> None:
    for i, close in enumerate(closes):
        volume = volumes[i] if volumes else 100.0
        engine.on_bar(T0 + (start + i) * MINUTE, close, close, close, close, volume)
