"""The TradingBot's status, decided by one function (`status.bot_status`) whichever path learned
the inputs: the venue's breakers make it Degraded with their reason, the others open
CircuitBreakerOpen and halt it — and following the trader later reads the same phase back
from the conditions alone."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from botrader.operator import status, tradingbot

READY = {"spec": {"replicas": 1}, "status": {"readyReplicas": 1}}
STUCK = {
    "spec": {"replicas": 1},
    "status": {
        "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]
    },
}


LOADED = status.condition("StrategyReady", True, "Loaded")  # a ready trader has loaded its strategy


def decide(breakers: dict[str, str], **inputs: Any) -> status.BotStatus:
    """As the refresh decides for a bot whose trader and collector are ready."""
    inputs = {"strategy": LOADED, **inputs}
    return status.bot_status(
        status.BotInputs(trader=READY, collector_ready=True, breakers=breakers, **inputs)
    )


def test_a_reset_venue_degrades_the_bot_and_says_why() -> None:
    breakers = {"venue_reset": "order bt1-7 (venue id 9) is gone from the venue"}
    found = decide(breakers)
    by_type = status.by_type(found.conditions)
    assert by_type["Degraded"]["status"] == "True" and by_type["Degraded"]["reason"] == "VenueReset"
    assert "gone from the venue" in by_type["Degraded"]["message"]
    assert by_type["CircuitBreakerOpen"]["status"] == "False"
    assert found.phase == "Degraded"
    assert status.breakers_from(by_type) == {"venue_reset": breakers["venue_reset"]}  # read back


def test_a_ban_degrades_and_a_market_breaker_still_halts() -> None:
    breakers = {"venue_banned": "until 2026-12-02T21:00:00+00:00", "daily_loss": "lost 5% today"}
    found = decide(breakers)
    by_type = status.by_type(found.conditions)
    assert by_type["Degraded"]["reason"] == "VenueBanned"
    assert by_type["CircuitBreakerOpen"]["reason"] == "daily_loss"
    assert found.phase == "Halted"
    assert decide(status.breakers_from(by_type)).phase == "Halted"


def test_without_venue_breakers_degraded_still_means_the_collector() -> None:
    found = status.bot_status(status.BotInputs(trader=READY, collector_ready=False))
    by_type = status.by_type(found.conditions)
    assert (by_type["Degraded"]["status"], by_type["Degraded"]["reason"]) == ("True", "CollectorDown")
    assert status.breakers_from(by_type) == {}
    assert found.phase == "Running"


def test_a_failed_strategy_or_rollout_fails_the_bot_on_every_path() -> None:
    invalid = status.condition("StrategyReady", False, "StrategyInvalid", "no class Foo")
    assert decide({}, strategy=invalid).phase == "Failed"
    assert status.bot_status(status.BotInputs(trader=STUCK)).phase == "Failed"
    assert decide({}, paused=True, emergency=True).phase == "Halted"


def test_every_condition_is_decided_and_written_once() -> None:
    types = [c["type"] for c in decide({}).conditions]
    assert len(types) == len(set(types)) == 9
    assert set(types) == {
        "WarmedUp",
        "ModelReady",
        "ParamsReady",
        "CollectorReady",
        "TraderReady",
        "CircuitBreakerOpen",
        "Degraded",
        "StrategyReady",
        "TradingSummaryStale",
    }


def test_warmed_up_says_what_a_new_live_bot_waits_for_and_keeps_its_word_without_the_row() -> None:
    """A new live bot trades nothing until its candles reach the present; its row has no candle
    time meanwhile and its message names the pairs. A replay needs no warming; an unreadable
    row changes nothing."""
    waiting = {
        "last_candle_time": None,
        "message": "warming up: waiting for NEARUSDT candles to reach the present",
    }
    found = status.warmed_condition(True, waiting)
    assert (found["status"], found["reason"]) == ("False", "WaitingForCandles")
    assert found["message"] == waiting["message"]
    trading = status.warmed_condition(True, {"last_candle_time": "2026-12-03T17:00:00Z", "message": ""})
    assert (trading["status"], trading["reason"]) == ("True", "Trading")
    assert status.warmed_condition(True, None, found) == found  # the database unreadable: kept
    assert status.warmed_condition(True, None)["status"] == "Unknown"  # no trader row yet
    assert (
        status.warmed_condition(False, waiting)["status"],
        status.warmed_condition(False, None)["reason"],
    ) == (
        "True",
        "NotRequired",
    )
    by_type = status.by_type(decide({}, warmed=found).conditions)
    assert by_type["WarmedUp"] == found and decide({}, warmed=found).phase == "Running"


class Recorder:
    def __init__(self) -> None:
        self.patches: list[dict[str, Any]] = []

    async def patch_status(self, kind: str, namespace: str, name: str, fields: dict, version: Any) -> None:
        self.patches.append(fields)


@pytest.mark.parametrize(
    "breakers",
    [{}, {"max_drawdown": "down 21%"}, {"venue_banned": "until 21:00"}, {"venue_reset": "gone"}],
)
def test_following_the_trader_keeps_what_the_refresh_decided(breakers: dict[str, str]) -> None:
    """The refresh learns breakers from the trader's row; following the trader learns them from
    the conditions the refresh wrote. Both reach the same phase, so a trader event never
    flips a halted or degraded bot back to Running (it did: breakers were rebuilt as {"open": ""}
    there and ignored at creation)."""
    refreshed = decide(breakers)
    written = {
        "phase": refreshed.phase,
        "conditions": status.merge_conditions(None, refreshed.conditions, "t"),
    }
    body = {"metadata": {"name": "b", "namespace": "n"}, "spec": {"symbol": "BTCUSDT"}, "status": written}
    api = Recorder()
    collector = {"spec": {"replicas": 1}, "status": {"readyReplicas": 1}}
    assert (
        asyncio.run(tradingbot.follow_trader(tradingbot.followed(body), READY, api, [collector])) is None
    )  # nothing new
    entry = tradingbot.followed(body)
    assert (
        status.bot_status(tradingbot.followed_inputs(entry["bot"], written, READY, [])).phase
        == refreshed.phase
    )
    assert api.patches == []
