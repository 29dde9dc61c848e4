"""The API's change feed on both databases: cached answers equal fresh ones and follow every
commit; `/ws` sends a snapshot, then the candles and fills a real trader commits."""

from __future__ import annotations

import base64
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient
from websockets.sync.client import connect as ws_connect

from botrader.core.candles import make_key
from botrader.core.data.files import frame_to_candles, read_candles_frame
from botrader.core.db import connect, upgrade
from botrader.core.db.candles import CandleStore
from botrader.core.db.trading import TradingStore
from botrader.core.engine.units import MarketRules
from botrader.core.manifests import parse_trading_bot
from botrader.services.api.main import create_app
from botrader.services.api.stream import Client
from botrader.services.trader.trader import PaperTrader
from services.tests.test_api import BOT
from tests.support.paths import SAMPLE
from tests.support.servers import free_port, wait_for_port

KEY = make_key("replay", "BTCUSDT", "1m")
PATHS = [
    "/bots",
    "/bots/btc-api",
    "/bots/btc-api/trades?limit=100",
    "/bots/btc-api/trades?limit=5&offset=2",
    "/bots/btc-api/equity?limit=50",
    "/bots/btc-api/performance",
    "/candles?symbol=BTCUSDT&exchange=replay&limit=500",
    "/candles?symbol=BTCUSDT&exchange=replay&interval=15m&limit=50",
    "/audit?bot=btc-api",
]


class World:
    """A trader that has seen the first `first` candles of the sample; `more()` feeds it the rest."""

    def __init__(self, url: str, first: int = 1500) -> None:
        self.engine = connect(url)
        upgrade(self.engine)
        self.frame = read_candles_frame(SAMPLE)
        self.candles = CandleStore(self.engine)
        self.candles.upsert(KEY, frame_to_candles(self.frame.iloc[:first]))
        self.trader = PaperTrader(
            parse_trading_bot(BOT), self.candles, TradingStore(self.engine), MarketRules(), batch=100
        )
        self.trader.start(actor="test")
        while self.trader.step():
            pass

    def more(self, until: int | None = None) -> None:
        self.candles.upsert(KEY, frame_to_candles(self.frame.iloc[:until]))
        while self.trader.step():
            pass


@pytest.fixture
def world(db_url: str) -> Iterator[World]:
    made = World(db_url)
    yield made
    made.engine.dispose()


def eventually(check: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the cached answers did not follow the commit"
        time.sleep(0.05)


def answers(client: TestClient) -> dict[str, Any]:
    return {path: client.get(path).json() for path in PATHS}


def test_cached_answers_equal_fresh_ones_and_follow_commits(world: World) -> None:
    fresh = TestClient(create_app(world.engine))  # no lifespan: no feed, nothing cached
    app = create_app(world.engine, in_process=True)
    with TestClient(app) as cached:
        eventually(lambda: app.state.feed.authoritative)
        before = answers(fresh)
        assert answers(cached) == before and answers(cached) == before
        assert app.state.cache.hits >= len(PATHS)  # the second round came from the cache
        world.more()
        after = answers(fresh)
        assert after["/bots/btc-api"]["trades"] > before["/bots/btc-api"]["trades"]
        assert after["/candles?symbol=BTCUSDT&exchange=replay&limit=500"][-1]["time"] == int(
            world.frame["open_time"].iloc[-1]
        )
        eventually(lambda: answers(cached) == after)


def test_standalone_sqlite_is_never_cached(sqlite_url: str) -> None:
    """Writers in other processes cannot tell this API about their commits: no cache."""
    world = World(sqlite_url)
    app = create_app(world.engine)
    with TestClient(app) as client:
        first = client.get("/bots/btc-api").json()
        world.more()
        assert client.get("/bots/btc-api").json()["trades"] > first["trades"]
        assert app.state.cache.hits == 0 and not app.state.feed.authoritative
    world.engine.dispose()


class Server:
    def __init__(self, app: Any) -> None:
        self.port = free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        wait_for_port(self.port, 20)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


class Messages:
    """What the socket sent, kept in order: a test looks for the next one of a kind."""

    def __init__(self, ws: Any) -> None:
        self.ws, self.seen = ws, []

    def next(self, kind: str, timeout: float = 30, **match: str) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            for i, found in enumerate(self.seen):
                if found["type"] == kind and all(found.get(k) == v for k, v in match.items()):
                    return self.seen.pop(i)
            found = json.loads(self.ws.recv(timeout=max(0.01, deadline - time.monotonic())))
            self.seen.extend(found if isinstance(found, list) else [found])


def test_ws_snapshot_then_the_commits(world: World) -> None:
    app = create_app(world.engine, in_process=True)
    with Server(app) as server:
        eventually(lambda: app.state.feed.authoritative)
        url = f"ws://127.0.0.1:{server.port}/ws?bot=btc-api&series=replay:BTCUSDT:1m&bot=nope&series=bad"
        with ws_connect(url) as ws:
            receive = Messages(ws).next
            errors = {receive("error")["message"] for _ in range(2)}
            assert any("bad series 'bad'" in e for e in errors) and "no bot named 'nope'" in errors
            snapshot = receive("snapshot", bot="btc-api")
            known = snapshot["detail"]["trades"]
            assert snapshot["trades"]["items"][0]["seq"] == known - 1
            candles = receive("snapshot", series="replay:BTCUSDT:1m")["candles"]
            assert len(candles) == 500 and candles[-1]["time"] == int(world.frame["open_time"].iloc[1499])
            world.more(2000)
            pushed = receive("candles", series="replay:BTCUSDT:1m")
            assert pushed["items"][0]["time"] == candles[-1]["time"]  # the last one again, then the new
            fills: list[dict[str, Any]] = []
            last_mark = ""
            while not last_mark.startswith(_iso(world.frame["open_time"].iloc[1999])):
                update = receive("bot", bot="btc-api")
                fills += update["fills"]
                # a summary is never older than the fills already sent (it may be newer: the
                # next delta brings the fills a commit between the reads added)
                assert update["summary"]["trades"] >= known + len(fills)
                last_mark = update["equity"][-1]["time"] if update["equity"] else last_mark
            while update["summary"]["trades"] > known + len(fills):
                update = receive("bot", bot="btc-api")
                fills += update["fills"]
            assert [f["seq"] for f in fills] == list(range(known, known + len(fills)))
            assert update["summary"]["trades"] == known + len(fills) > known
            ws.send(json.dumps({"unsubscribe": {"series": ["replay:BTCUSDT:1m"]}}))
            ws.send(json.dumps({"subscribe": {"series": ["replay:BTCUSDT:1m"]}}))
            again = receive("snapshot", series="replay:BTCUSDT:1m")["candles"]
            assert again[-1]["time"] == int(world.frame["open_time"].iloc[1999])


def _iso(ms: int) -> str:
    from botrader.core.timeutil import ms_to_datetime

    return ms_to_datetime(int(ms)).strftime("%Y-%m-%dT%H:%M")


def test_a_client_that_falls_behind_is_dropped_with_the_reason() -> None:
    client = Client(size=3)
    for i in range(3):
        client.offer(str(i))
    assert not client.dropped.is_set()
    client.offer("one too many")
    assert client.dropped.is_set() and client.reason == "slow consumer: 3 messages queued"
    assert client.queue.qsize() == 3


def _frame(text: str) -> bytes:
    """One masked text frame, as a client must send it (RFC 6455 §5.2)."""
    payload, mask = text.encode(), os.urandom(4)
    head = bytes([0x81]) + (
        bytes([0x80 | len(payload)])
        if len(payload) < 126
        else bytes([0x80 | 126]) + len(payload).to_bytes(2, "big")
    )
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def test_a_stalled_client_is_disconnected_and_others_keep_receiving(sqlite_url: str) -> None:
    """A client that stops reading: its snapshots pile up in the kernel's buffers, then in its
    queue, then it is closed — while a client that reads still gets each commit at once."""
    world = World(sqlite_url)
    app = create_app(world.engine, in_process=True)
    with Server(app) as server:
        stalled = socket.create_connection(("127.0.0.1", server.port))
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        key = base64.b64encode(os.urandom(16)).decode()
        stalled.sendall(
            f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        assert b" 101 " in stalled.recv(4096).split(b"\r\n")[0]
        subscribe = _frame(json.dumps({"subscribe": {"series": ["replay:BTCUSDT:1m"]}}))
        stalled.sendall(subscribe * 800)  # 800 snapshots of 500 candles: ~40 MB it never reads
        with ws_connect(f"ws://127.0.0.1:{server.port}/ws?series=replay:BTCUSDT:1m") as ws:
            receive = Messages(ws).next
            receive("snapshot", series="replay:BTCUSDT:1m")
            eventually(lambda: app.state.broadcaster.dropped > 0, timeout=60)
            began = time.monotonic()
            world.more(1600)
            assert receive("candles", series="replay:BTCUSDT:1m")["items"][-1]["time"] == int(
                world.frame["open_time"].iloc[1599]
            )
            assert time.monotonic() - began < 5
        stalled.close()
    world.engine.dispose()


def test_ws_follows_training_runs_as_they_log(sqlite_url: str, tmp_path, monkeypatch) -> None:
    """An experiment's runs over /ws: a snapshot, then each run that logs, starts or finishes —
    read from a real MLflow store, once per poll however many watch."""
    from mlflow import MlflowClient

    from botrader.services.api import run_updates

    engine = connect(sqlite_url)
    upgrade(engine)
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow = MlflowClient(tracking_uri=store)
    experiment = mlflow.create_experiment("botrader-train", artifact_location=str(tmp_path / "art"))
    first = mlflow.create_run(experiment, run_name="ppo-1", tags={"botrader.training_run": "ppo"})
    mlflow.log_metric(first.info.run_id, "val_sharpe", 0.1, step=1)
    monkeypatch.setattr(run_updates, "POLL", 0.2)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    app = create_app(engine, in_process=True)
    with Server(app) as server:
        base = f"ws://127.0.0.1:{server.port}/ws"
        with ws_connect(f"{base}?experiment=botrader-train") as ws:
            receive = Messages(ws).next
            (run,) = receive("snapshot", experiment="botrader-train")["runs"]
            assert run["name"] == "ppo-1" and run["status"] == "RUNNING" and run["resource"] == "ppo"
            assert run["metrics"] == {"val_sharpe": 0.1}
            mlflow.log_metric(first.info.run_id, "val_sharpe", 0.4, step=2)
            (run,) = receive("runs", experiment="botrader-train")["runs"]
            assert run["metrics"] == {"val_sharpe": 0.4}
            second = mlflow.create_run(experiment, run_name="ppo-2")
            mlflow.set_terminated(first.info.run_id)
            updated = {r["name"]: r for r in receive("runs", experiment="botrader-train")["runs"]}
            while set(updated) != {"ppo-1", "ppo-2"}:  # a poll may fall between the two writes
                updated.update({r["name"]: r for r in receive("runs")["runs"]})
            assert updated["ppo-1"]["status"] == "FINISHED" and updated["ppo-1"]["ended"]
            assert updated["ppo-2"]["run_id"] == second.info.run_id
            ws.send(json.dumps({"subscribe": {"experiments": ["bad$name", "not-yet"]}}))
            assert "bad experiment 'bad$name'" in receive("error")["message"]
            assert receive("snapshot", experiment="not-yet")["runs"] == []
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    with Server(create_app(engine, in_process=True)) as server:  # an API with no store configured
        with ws_connect(f"ws://127.0.0.1:{server.port}/ws?experiment=botrader-train") as ws:
            assert "MLFLOW_TRACKING_URI is not set" in Messages(ws).next("error")["message"]
    engine.dispose()
