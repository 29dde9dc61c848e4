"""Control of bots from the API. The API never flips state itself: it asks a controller to
do what editing the resource would do. In embedded mode (`botrader up`) that is the local
trader; in a cluster the operator's controller patches the TradingBot (it lands with the
operator). Without one, control endpoints answer 409."""

from __future__ import annotations

from typing import Any, Protocol


class Controller(Protocol):
    def bots(self) -> set[str]: ...

    def apply(self, bot: str, *, paused: bool, emergency_stop: bool, actor: str) -> dict[str, Any]: ...


class LocalController:
    """Drives PaperTrader objects running in this process (embedded mode)."""

    def __init__(self) -> None:
        self.traders: dict[str, Any] = {}

    def register(self, trader: Any) -> None:
        self.traders[trader.bot.name] = trader

    def bots(self) -> set[str]:
        return set(self.traders)

    def apply(self, bot: str, *, paused: bool, emergency_stop: bool, actor: str) -> dict[str, Any]:
        trader = self.traders[bot]
        trader.set_controls(paused, emergency_stop, actor=actor)
        trader.checkpoint([], [], [])  # the new phase is visible at once
        return {"phase": trader.phase}
