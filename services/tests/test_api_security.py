"""What every response tells the browser, who may read, and what a hostile client can cost:
security headers on every answer (cached ones too), the optional read token over HTTP and
/ws, the bad-token limit, and /ws's bounds on message size and subscriptions."""

from __future__ import annotations

import base64
import json
import logging
import os
import resource
import time

import pytest
from fastapi.testclient import TestClient
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect as ws_connect

from botrader.services.api.main import create_app
from botrader.services.api.security import CSP, DOCS_CSP
from botrader.services.api.settings import ApiSettings
from services.tests.test_api_live import Server, World, eventually

READ, CONTROL = "r3ad-t0ken", "c0ntrol-t0ken"
PATHS = ["/", "/static/app.js", "/bots", "/bots/btc-api", "/healthz", "/metrics", "/nope", "/openapi.json"]


@pytest.fixture
def world(sqlite_url: str):
    made = World(sqlite_url, first=300)
    yield made
    made.engine.dispose()


def protected(world: World, **extra: object):
    settings = ApiSettings(read_token=READ, control_token=CONTROL, **extra)
    return create_app(world.engine, settings=settings, in_process=True)


def test_every_answer_carries_the_security_headers_cached_ones_too(world: World) -> None:
    app = create_app(world.engine, in_process=True)
    with TestClient(app) as client:
        eventually(lambda: app.state.feed.authoritative)
        client.get("/bots")
        hits = app.state.cache.hits
        for path in [*PATHS, "/bots"]:
            headers = client.get(path).headers
            assert headers["content-security-policy"] == CSP, path
            assert "script-src 'self';" in CSP and "frame-ancestors 'none'" in CSP
            assert headers["x-content-type-options"] == "nosniff", path
            assert headers["referrer-policy"] == "no-referrer", path
        assert app.state.cache.hits > hits  # the last /bots came from the cache, before routing
        assert client.get("/docs").headers["content-security-policy"] == DOCS_CSP
        assert client.post("/bots/btc-api/stop").headers["x-content-type-options"] == "nosniff"


def test_reads_need_a_token_when_one_is_set(world: World) -> None:
    with TestClient(protected(world)) as client:
        for path in (
            "/bots",
            "/bots/btc-api/trades",
            "/candles?symbol=BTCUSDT&exchange=replay",
            "/audit",
            "/openapi.json",
        ):
            refused = client.get(path)
            assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer", path
            assert "btc-api" not in refused.text
        for token in (READ, CONTROL):
            assert (
                client.get("/bots", headers={"Authorization": f"Bearer {token}"}).json()[0]["name"]
                == "btc-api"
            )
        for path in ("/healthz", "/metrics", "/", "/static/app.js"):  # probes, Prometheus, the page
            assert client.get(path).status_code == 200, path
        # the read token reads; only the control token controls
        read = {"Authorization": f"Bearer {READ}"}
        assert client.post("/bots/btc-api/stop", headers=read).status_code == 401


def test_ws_takes_the_token_as_a_header_or_a_subprotocol(world: World) -> None:
    with Server(protected(world)) as server:
        url = f"ws://127.0.0.1:{server.port}/ws?bot=btc-api"
        with pytest.raises(InvalidStatus) as refused:
            ws_connect(url, open_timeout=10)
        assert refused.value.response.status_code == 403
        with ws_connect(url, additional_headers={"Authorization": f"Bearer {READ}"}) as ws:
            assert '"snapshot"' in ws.recv(timeout=10)
        encoded = base64.urlsafe_b64encode(READ.encode()).decode().rstrip("=")
        protocols = ["botrader", f"base64url.bearer.botrader.{encoded}"]
        with ws_connect(url, subprotocols=protocols) as ws:  # what the dashboard sends
            assert ws.subprotocol == "botrader" and '"snapshot"' in ws.recv(timeout=10)


def test_bad_tokens_are_limited_per_client_and_never_logged(world: World, caplog) -> None:
    settings = {"auth_failures": 3, "auth_window_s": 1.5}
    with TestClient(protected(world, **settings)) as client, caplog.at_level(logging.WARNING):
        wrong = "wr0ng-guess-123"
        statuses = [
            client.get("/bots", headers={"Authorization": f"Bearer {wrong}"}).status_code for _ in range(3)
        ]
        assert statuses == [401, 401, 401]
        blocked = client.get("/bots", headers={"Authorization": f"Bearer {READ}"})
        assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) >= 1  # even the right one
        assert (
            client.post("/bots/btc-api/stop", headers={"Authorization": f"Bearer {CONTROL}"}).status_code
            == 429
        )
        time.sleep(1.6)
        assert client.get("/bots", headers={"Authorization": f"Bearer {READ}"}).status_code == 200
        logged = "\n".join(r.getMessage() for r in caplog.records)
        assert "wrong token" in logged and "testclient" in logged
        assert wrong not in logged and READ not in logged and CONTROL not in logged


def test_control_answers_401_without_saying_which_part_was_wrong(world: World) -> None:
    with TestClient(create_app(world.engine, token=CONTROL)) as client:
        answers = [
            client.post("/bots/btc-api/stop", headers=headers).json()
            for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": f"Basic {CONTROL}"})
        ]
        assert answers == [{"detail": "missing or wrong bearer token"}] * 3


def test_ws_refuses_huge_messages_and_too_many_topics(world: World) -> None:
    app = create_app(world.engine, in_process=True)
    with Server(app) as server:
        url = f"ws://127.0.0.1:{server.port}/ws"
        with ws_connect(url) as ws:
            ws.send("{" * 10)
            assert "messages are JSON text" in ws.recv(timeout=10)  # malformed: told, still open
            ws.send('{"subscribe": {"bots": "' + "x" * 100_000 + '"}}')
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=10)
            assert closed.value.rcvd.code == 1009 and "too big" in closed.value.rcvd.reason
        with ws_connect(url) as ws:
            names = [f"bot-{i}" for i in range(200)]  # 400 topics: a bot is its row and its audit
            ws.send(json.dumps({"subscribe": {"bots": names}}))
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    ws.recv(timeout=10)
            assert closed.value.rcvd.code == 1008 and "too many subscriptions" in closed.value.rcvd.reason
        assert app.state.broadcaster.channels == {}  # nothing kept for the dropped clients


@pytest.mark.slow
def test_ws_memory_stays_bounded_under_hostile_clients(world: World) -> None:
    """200 connections each asking for 100 topics that do not exist and sending junk: the
    server's peak memory grows by little (measured, printed, bounded loosely)."""
    app = create_app(world.engine, in_process=True)
    with Server(app) as server:
        url = f"ws://127.0.0.1:{server.port}/ws"
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        for i in range(200):
            with ws_connect(url) as ws:
                names = [f"n{i}-{j}" for j in range(100)]
                ws.send(json.dumps({"subscribe": {"bots": names, "series": ["x:y"]}}))
                ws.send("[" * 70_000)
                with pytest.raises(ConnectionClosed):
                    while True:
                        ws.recv(timeout=10)
        grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
        print(f"peak RSS grew {grown:.1f} MiB over 200 hostile connections")
        assert grown < 64 and app.state.broadcaster.channels == {}


def test_settings_come_from_the_environment_once(monkeypatch) -> None:
    monkeypatch.setenv("BOTRADER_API_CACHE", "off")
    monkeypatch.setenv("BOTRADER_API_READ_TOKEN", "s3cr3t-read")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "")
    settings = ApiSettings()
    assert (
        settings.cache is False and settings.read_token is not None and settings.mlflow_tracking_uri is None
    )
    assert "s3cr3t" not in repr(settings)  # secrets are SecretStr: never printed
    monkeypatch.setenv("BOTRADER_CONTROL", "docker")
    with pytest.raises(ValueError, match="BOTRADER_CONTROL"):
        ApiSettings()
    assert os.environ.get("BOTRADER_API_READ_TOKEN") == "s3cr3t-read"  # read, not changed


def test_readme_lists_every_api_setting() -> None:
    from botrader.services.api.settings import variables
    from tests.support.paths import REPO

    readme = (REPO / "README.md").read_text()
    table = readme[readme.index("### API settings") : readme.index("### Security")]
    for name, what in variables().items():
        assert f"| `{name}` | {what} |" in table, name
