"""`/ws`: the dashboard's live channel (see `botrader.services.api.stream` for what is sent).

    /ws?bot=NAME&series=EXCHANGE:SYMBOL:1m&experiment=NAME   subscribe at connect (each may repeat)
    {"subscribe": {"bots": [...], "series": [...], "experiments": [...]}}   later, as text
    {"unsubscribe": {"bots": [...], "series": [...], "experiments": [...]}}

A bot subscription covers its row, fills, equity marks and audit rows; an experiment one the
progress of its MLflow runs (trainings, searches). A frame is one message
(a JSON object), or a JSON array of them when the client had fallen behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect

from botrader.core.db.changes import audit_topic, bot_topic, candles_topic
from botrader.services.api.deps import BroadcasterDep
from botrader.services.api.run_updates import runs_topic
from botrader.services.api.security import WS_PROTOCOL
from botrader.services.api.stream import Broadcaster, Client, message

router = APIRouter(tags=["live"])
BOT = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
BATCH = 64  # messages in one frame at most
SERIES = re.compile(r"^(binance|binance-testnet|replay):[A-Z0-9]{2,20}:1m$")
EXPERIMENT = re.compile(r"^[\w][\w .:/-]{0,199}$")
MAX_MESSAGE = 64 * 1024  # characters in one client message; uvicorn refuses frames over 1 MiB
MAX_TOPICS = 256  # subscriptions one connection may hold (a bot is two: its row and its audit)
CLOSE_TOO_BIG = 1009


def topics(
    bots: list[str],
    series: list[str],
    experiments: Sequence[str] = (),
) -> tuple[list[str], list[str]]:
    """Topics for the request, and one line per bad name (the rest are still served)."""
    found, bad = [], []
    for name in bots:
        if BOT.match(name) and len(name) <= 128:
            found += [bot_topic(name), audit_topic(name)]
        else:
            bad.append(f"bad bot name {name!r}")
    for key in series:
        if SERIES.match(key):
            found.append(candles_topic(key))
        else:
            bad.append(f"bad series {key!r}: expected EXCHANGE:SYMBOL:1m, e.g. binance:BTCUSDT:1m")
    for name in experiments:
        if EXPERIMENT.match(name):
            found.append(runs_topic(name))
        else:
            bad.append(f"bad experiment {name!r}: an MLflow experiment name, e.g. botrader-train")
    return found, bad


async def subscribe(
    broadcaster: Broadcaster,
    client: Client,
    bots: list[str],
    series: list[str],
    experiments: Sequence[str] = (),
) -> None:
    found, bad = topics(bots, series, experiments)
    for line in bad[:20]:
        client.offer(message("error", message=line))
    if len(client.topics | set(found)) > MAX_TOPICS:
        client.drop(f"too many subscriptions: at most {MAX_TOPICS} topics per connection")
        return
    missing: set[str] = set()
    for topic in found:
        if topic.partition(":")[2] in missing:
            continue  # an unknown bot's audit rows: its error said so already
        try:
            await broadcaster.subscribe(client, topic)
            client.topics.add(topic)
        except LookupError as exc:
            missing.add(topic.partition(":")[2])
            client.offer(message("error", message=str(exc.args[0])))


async def _pump(websocket: WebSocket, client: Client) -> None:
    """One message per frame while the client keeps up; when several are waiting, one frame
    holds them all as a JSON array — a client that is behind costs one send, not dozens."""
    while True:
        first = await client.queue.get()
        if client.queue.empty():
            await websocket.send_text(first)
            continue
        waiting = [first]
        while not client.queue.empty() and len(waiting) < BATCH:
            waiting.append(client.queue.get_nowait())
        await websocket.send_text("[" + ",".join(waiting) + "]")


async def _read(websocket: WebSocket, broadcaster: Broadcaster, client: Client) -> None:
    while True:
        try:
            text = await websocket.receive_text()
            if len(text) > MAX_MESSAGE:
                client.drop(f"message too big: at most {MAX_MESSAGE} characters", CLOSE_TOO_BIG)
                return
            request: Any = json.loads(text)
        except (ValueError, KeyError):  # KeyError: a binary frame
            client.offer(message("error", message='messages are JSON text: {"subscribe": {"bots": [...]}}'))
            continue
        for verb in ("subscribe", "unsubscribe"):
            wanted = request.get(verb) if isinstance(request, dict) else None
            if not isinstance(wanted, dict):
                continue
            names = [[str(n) for n in wanted.get(k) or []] for k in ("bots", "series", "experiments")]
            if verb == "subscribe":
                await subscribe(broadcaster, client, *names)
            else:
                for topic in topics(*names)[0]:
                    broadcaster.unsubscribe(client, topic)
                    client.topics.discard(topic)


@router.websocket("/ws")
async def live(
    websocket: WebSocket,
    broadcaster: BroadcasterDep,
    bot: Annotated[list[str], Query(max_length=20)] = [],  # noqa: B006 (FastAPI copies defaults)
    series: Annotated[list[str], Query(max_length=20)] = [],  # noqa: B006
    experiment: Annotated[list[str], Query(max_length=20)] = [],  # noqa: B006
) -> None:
    offered = websocket.scope.get("subprotocols", [])  # the dashboard's token rides as one
    await websocket.accept(subprotocol=WS_PROTOCOL if WS_PROTOCOL in offered else None)
    client = Client()
    tasks = [asyncio.create_task(_pump(websocket, client)), asyncio.create_task(client.dropped.wait())]
    try:
        await subscribe(broadcaster, client, bot, series, experiment)
        tasks.append(asyncio.create_task(_read(websocket, broadcaster, client)))
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    except WebSocketDisconnect:
        pass
    finally:
        broadcaster.unsubscribe(client)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError, OSError):
                await task
    if client.dropped.is_set():
        broadcaster.dropped += 1
        with contextlib.suppress(Exception):
            await asyncio.wait_for(websocket.close(client.code, client.reason), 1)
