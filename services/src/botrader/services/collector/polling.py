"""What a USD-M source's pollers share: fetch what is new since the last stored row on start,
then again every `every` seconds, until cancelled (the collector gathers them beside its
stream)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from botrader.core.binance.rest import BinanceRestClient
from botrader.core.timeutil import now_ms


@dataclass
class Poller:
    exchange: str  # the source, as the tables key it
    symbols: list[str]
    rest: BinanceRestClient
    start_ms: int  # where an empty table starts
    every: float = 60.0
    clock: Callable[[], int] = now_ms
    stored: int = field(default=0, init=False)  # rows this poller added

    async def run(self) -> None:
        while True:
            self.stored += await self.catch_up()
            await asyncio.sleep(self.every)

    async def catch_up(self) -> int:
        """Store what is new since the last stored row; how many rows were new."""
        raise NotImplementedError
