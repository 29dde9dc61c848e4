"""The shared market-data collectors: one Deployment per source, symbol and interval in a
namespace, for every bot that trades it, owned by none of them. (An ownerReference per bot made
each new bot re-patch a growing object — 200 owners on one Deployment at 200 bots, quadratic in
bytes — and cost two requests per bot.)

So the operator keeps them itself. It applies a collector when a bot needs it and the watch
cache does not hold it as built (one request per collector, not per bot: concurrent bots on
one market share the one in flight), and deletes one that no bot needs any more: when a bot is
deleted or moves to another market, and whenever the watch shows it a collector nobody needs —
which, at start, covers bots deleted while the operator was down (Kopf fills its indices
before any handler runs, so "nobody" is never just "not read yet"). A collector deleted while
a bot needs it (by hand, or by a sweep racing a new bot) is applied again from its DELETED
event."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from botrader.operator import builders
from botrader.operator.apply import Applier
from botrader.operator.settings import OperatorSettings
from botrader.operator.spec import Bot, collector_name

log = logging.getLogger(__name__)
Key = tuple[str, str]  # (namespace, name)
_IN_FLIGHT: dict[Key, asyncio.Task[Any]] = {}


def is_collector(name: str) -> bool:
    return name.startswith("collector-")


async def ensure(child: dict[str, Any], known: Mapping[str, Any] | None, applier: Applier) -> None:
    """Apply `child` unless the cache holds it as built (`known`: the cached Deployment)."""
    meta = child["metadata"]
    wanted = meta["annotations"][builders.COLLECTOR_HASH]
    if known is not None and known.get("hash") == wanted:
        return
    key = (meta["namespace"], meta["name"])
    task = _IN_FLIGHT.get(key)
    if task is None:
        task = _IN_FLIGHT[key] = asyncio.create_task(applier.apply(child))
        task.add_done_callback(lambda _t: _IN_FLIGHT.pop(key, None))
    await asyncio.shield(task)


def needed(bots: Iterable[Mapping[str, Any]], namespace: str) -> set[str]:
    """The collectors the bots of `namespace` trade on (`bots`: the bots index's values)."""
    return {
        name
        for bot in bots
        if bot["namespace"] == namespace and bot["bot"] is not None
        for name in bot["bot"].collectors
    }


def needing(bots: Iterable[Mapping[str, Any]], namespace: str, name: str) -> tuple[Bot, str] | None:
    """A bot of `namespace` that trades on the collector `name`, and the pair it collects."""
    for entry in bots:
        bot = entry["bot"]
        if entry["namespace"] == namespace and bot is not None and name in bot.collectors:
            return bot, bot.collectors[name]
    return None


async def remove_unneeded(
    namespace: str, collectors: Iterable[str], bots: Iterable[Mapping[str, Any]], applier: Applier
) -> list[str]:
    """Delete the `collectors` of `namespace` no bot there needs; the names deleted."""
    wanted = needed(bots, namespace)
    gone = [name for name in collectors if is_collector(name) and name not in wanted]
    for name in gone:
        if await applier.delete("Deployment", namespace, name):
            log.info("collector %s/%s deleted: no bot trades on it", namespace, name)
    return gone


async def follow(
    before: Bot,
    after: Bot,
    bots: Iterable[Mapping[str, Any]],
    settings: OperatorSettings,
    known: Callable[[str, str], Any],
    applier: Applier,
) -> None:
    """A universe following its picks (`TradingBotSpec.follows_picks`), at each status refresh:
    the collectors it needs that the watch cache lacks are applied (a new pick's, or one a sweep
    racing it deleted), and its candidates' collectors it no longer needs are deleted unless
    another bot needs them. `before`: the bot as the watch holds it — what every other handler
    reads — so a pair it just dropped goes at the next refresh, once the watch agrees, not
    while the others still think it needed (they would apply it again); `after`: with the
    pairs its trader needs now."""
    namespace = after.namespace
    missing = [s for name, s in after.collectors.items() if known(namespace, name) is None]
    await asyncio.gather(
        *(
            ensure(builders.collector_deployment(namespace, after.spec, settings, s), None, applier)
            for s in missing
        )
    )
    names = {collector_name(before.spec, s) for s in before.spec.traded_symbols}
    dropped = sorted(n for n in names - set(before.collectors) - set(after.collectors) if known(namespace, n))
    if dropped:
        await remove_unneeded(namespace, dropped, bots, applier)
