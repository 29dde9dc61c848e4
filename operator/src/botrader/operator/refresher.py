"""The TradingBots' status refresh: one loop for the whole operator, every `status_interval`
seconds over the bots the watch holds, instead of a Kopf timer per bot — a timer makes Kopf put
a finalizer on every bot, so deleting one would wait for the operator (and hang while it is
down) and each new bot cost a request to add it.

The loop is started from the first TradingBot event the operator handles, so it inherits
Kopf's context (its Events go through Kopf's queue). Bots are refreshed a bounded number at a
time; one bot's failure is logged and the others go on."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

from botrader.operator import collectors, tradingbot
from botrader.operator.apply import Applier
from botrader.operator.settings import OperatorSettings

log = logging.getLogger(__name__)
AT_ONCE = 16  # bots refreshed concurrently (each reads the trader's row off the event loop)
_LOOPS: dict[int, asyncio.Task[None]] = {}


def ensure_running(
    settings: OperatorSettings, bots_index: Mapping[Any, Any], deployments: Callable[[], tradingbot.Lookup]
) -> None:
    """Start the loop once per event loop (`deployments`: the current cached lookup)."""
    key = id(asyncio.get_running_loop())
    if key not in _LOOPS or _LOOPS[key].done():
        _LOOPS[key] = asyncio.create_task(_run(settings, bots_index, deployments), name="bot-status")


async def stop() -> None:
    task = _LOOPS.pop(id(asyncio.get_running_loop()), None)
    if task is not None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _run(
    settings: OperatorSettings, bots_index: Mapping[Any, Any], deployments: Callable[[], tradingbot.Lookup]
) -> None:
    limit = asyncio.Semaphore(AT_ONCE)

    async def one(bot: dict[str, Any]) -> None:
        async with limit:
            try:
                await refresh(bot, settings, deployments(), bots_index)
            except Exception:  # one bot's trouble is not the others'
                log.exception("status refresh of %s/%s failed", bot["namespace"], bot["name"])

    while True:
        await asyncio.sleep(settings.status_interval)
        await asyncio.gather(*(one(bot) for store in list(bots_index.values()) for bot in list(store)))


async def refresh(
    bot: dict[str, Any],
    settings: OperatorSettings,
    deployments: tradingbot.Lookup,
    bots_index: Mapping[Any, Any] | None = None,
) -> None:
    """One bot's status from its children and its trader's row; a patch only when it changed,
    refused (409) if the bot changed since the watch showed it — the next round sees the new one.
    A universe following its picks then gets the collectors its trader now needs
    (`collectors.follow`; `bots_index`: every bot, which the ones it leaves may still serve)."""
    from botrader.operator.apply import ApiError

    if bot["bot"] is None:  # a spec the model refuses: its handler reported it
        return
    changed: dict[str, Any] = {}
    await tradingbot.refresh_status(bot["body"], bot["bot"], _Patch(changed), settings, deployments)
    if changed:
        try:
            await Applier().patch_status(
                "TradingBot", bot["namespace"], bot["name"], changed, bot.get("resourceVersion")
            )
        except ApiError as exc:
            if exc.status not in (404, 409):
                raise
            return
    if bot["bot"].spec.follows_picks:
        after = bot["bot"].collecting(changed["collect"]) if "collect" in changed else bot["bot"]
        everyone = [b for store in (bots_index or {}).values() for b in store]
        await collectors.follow(bot["bot"], after, everyone, settings, deployments, Applier())


class _Patch:
    """What `refresh_status` writes to, as on Kopf's patch: `.status`."""

    def __init__(self, status: dict[str, Any]) -> None:
        self.status = status
