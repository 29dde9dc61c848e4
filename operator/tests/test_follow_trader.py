"""Following the trader Deployment (bots.follow_trader): which phase a watch event leads to,
when nothing is written, and that a phase computed from an older bot is not written. The
Kubernetes API is a recording stand-in here; the real server's side (409 on a stale
resourceVersion, the phase in time) is in test_operator_on_a_real_cluster.py."""

from __future__ import annotations

import asyncio
from typing import Any

from botrader.operator import bots
from botrader.operator.apply import ApiError


class Recorder:
    """Records status patches; answers 409 when told the bot has moved on."""

    def __init__(self, current_version: str = "7") -> None:
        self.current_version = current_version
        self.patches: list[tuple[str, dict[str, Any], str | None]] = []

    async def patch_status(
        self, kind: str, namespace: str, name: str, status: dict, version: str | None
    ) -> None:
        if version is not None and version != self.current_version:
            raise ApiError(409, "the object has been modified")
        self.patches.append((name, status, version))


def bot(phase: str | None, *, paused: bool = False, breaker: bool = False, version: str = "7") -> dict:
    conditions = [
        {"type": "TraderReady", "status": "False", "reason": "ReplicasNotReady"},
        {
            "type": "StrategyReady",
            "status": "Unknown",
            "reason": "NotStarted",
        },  # as the create handler left it
    ]
    if breaker:
        conditions.append({"type": "CircuitBreakerOpen", "status": "True", "reason": "max_drawdown"})
    body = {
        "metadata": {"name": "btc", "namespace": "default", "resourceVersion": version},
        "spec": {"symbol": "BTCUSDT", "paused": paused},
        "status": {"phase": phase, "conditions": conditions} if phase else {},
    }
    return bots.followed(body)


def trader(replicas: int, ready: int) -> dict:
    return {"spec": {"replicas": replicas}, "status": {"readyReplicas": ready}}


def follow(found: dict, deployment: dict, api: Recorder) -> str | None:
    return asyncio.run(bots.follow_trader(found, deployment, api))


def test_a_ready_trader_makes_a_pending_bot_running_at_its_resource_version() -> None:
    api = Recorder()
    assert follow(bot("Pending"), trader(1, 1), api) == "Running"
    ((name, status, version),) = api.patches
    assert (name, status["phase"], version) == ("btc", "Running", "7")
    (ready,) = [c for c in status["conditions"] if c["type"] == "TraderReady"]
    assert (ready["status"], ready["reason"]) == ("True", "ReplicasReady")
    (loaded,) = [c for c in status["conditions"] if c["type"] == "StrategyReady"]
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
    assert api.patches[-1][1]["conditions"][0]["reason"] == "Paused"


def test_a_phase_from_an_older_bot_is_refused_and_not_reported() -> None:
    api = Recorder(current_version="8")  # the bot was paused since the index read version 7
    assert follow(bot("Running", version="7"), trader(0, 0), api) is None
    assert api.patches == []
