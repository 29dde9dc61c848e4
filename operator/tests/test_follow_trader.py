"""Following the trader Deployment (tradingbot.follow_trader): which phase a watch event leads to,
when nothing is written, and that a phase computed from an older bot is not written. The
Kubernetes API is a recording stand-in here; the real server's side (409 on a stale
resourceVersion, the phase in time) is in test_tradingbot_on_a_real_cluster.py."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from botrader.operator import status, tradingbot
from botrader.operator.apply import ApiError


@pytest.fixture(autouse=True)
def no_refusals_remembered() -> None:
    """Each test starts with no version remembered as refused (the operator's memory)."""
    tradingbot.forget("default", "btc")


class Recorder:
    """Records status patches; answers 409 when told the bot has moved on."""

    def __init__(self, current_version: str = "7") -> None:
        self.current_version = current_version
        self.patches: list[tuple[str, dict[str, Any], str | None]] = []
        self.requests = 0

    async def patch_status(
        self, kind: str, namespace: str, name: str, status: dict, version: str | None
    ) -> None:
        self.requests += 1
        if version is not None and version != self.current_version:
            raise ApiError(409, "the object has been modified")
        self.patches.append((name, status, version))


def bot(phase: str | None, *, paused: bool = False, breaker: bool = False, version: str = "7") -> dict:
    """A bot as the create handler leaves it: every condition, the trader not ready yet."""
    created = status.bot_status(status.BotInputs(paused=paused, trader=trader(1, 0), collector_ready=True))
    conditions = status.merge_conditions(None, created.conditions, "t0")
    if breaker:  # as the refresh writes an open breaker
        conditions = status.replace_condition(
            conditions, status.condition("CircuitBreakerOpen", True, "max_drawdown"), "t1"
        )
    body = {
        "metadata": {"name": "btc", "namespace": "default", "resourceVersion": version},
        "spec": {"symbol": "BTCUSDT", "paused": paused},
        "status": {"phase": phase, "conditions": conditions} if phase else {},
    }
    return tradingbot.followed(body)


def trader(replicas: int, ready: int) -> dict:
    return {"spec": {"replicas": replicas}, "status": {"readyReplicas": ready}}


def follow(found: dict, deployment: dict, api: Recorder) -> str | None:
    return asyncio.run(tradingbot.follow_trader(found, deployment, api))


def test_a_ready_trader_makes_a_pending_bot_running_at_its_resource_version() -> None:
    api = Recorder()
    assert follow(bot("Pending"), trader(1, 1), api) == "Running"
    ((name, written, version),) = api.patches
    assert (name, written["phase"], version) == ("btc", "Running", "7")
    (ready,) = [c for c in written["conditions"] if c["type"] == "TraderReady"]
    assert (ready["status"], ready["reason"]) == ("True", "ReplicasReady")
    (loaded,) = [c for c in written["conditions"] if c["type"] == "StrategyReady"]
    assert (loaded["status"], loaded["reason"]) == ("True", "Loaded")  # a running trader loaded it


def test_nothing_is_written_when_nothing_changes_or_before_the_first_phase() -> None:
    api = Recorder()
    assert follow(bot("Pending"), trader(1, 0), api) is None  # still not ready: same phase, same condition
    assert follow(bot(None), trader(1, 1), api) is None  # the create handler sets the first phase
    assert api.patches == []


def test_an_open_breaker_keeps_a_ready_bot_halted_and_a_pause_says_paused() -> None:
    api = Recorder()
    assert follow(bot("Pending", breaker=True), trader(1, 1), api) == "Halted"
    assert follow(bot("Running", paused=True), trader(0, 0), api) == "Paused"
    found = status.by_type(api.patches[-1][1]["conditions"])
    assert found["TraderReady"]["reason"] == "Paused"
    assert found["CircuitBreakerOpen"]["status"] == "False"  # the first bot's breaker was its own


def test_a_phase_from_an_older_bot_is_refused_and_not_reported() -> None:
    api = Recorder(current_version="8")  # the bot was paused since the index read version 7
    assert follow(bot("Running", version="7"), trader(0, 0), api) is None
    assert api.patches == []


def test_a_version_refused_once_is_not_tried_again() -> None:
    """While the watch lags the operator's own writes, every trader event would patch at the
    same stale version and be refused: one request per version, not one per event."""
    api = Recorder(current_version="8")
    stale = bot("Pending", version="7")
    assert follow(stale, trader(1, 1), api) is None
    assert follow(stale, trader(1, 1), api) is None
    assert api.requests == 1
    api.current_version = "9"
    assert follow(bot("Pending", version="9"), trader(1, 1), api) == "Running"  # the newer version
    assert api.requests == 2
