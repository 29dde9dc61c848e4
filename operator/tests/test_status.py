"""The TradingBot's status from the trader's breakers: the venue's make it Degraded with their
reason, the others open CircuitBreakerOpen and halt it — and following the trader later reads
the same phase back from the conditions alone."""

from __future__ import annotations

from botrader.operator import status


def by_type(conditions: list[dict]) -> dict[str, dict]:
    return {c["type"]: c for c in conditions}


def test_a_reset_venue_degrades_the_bot_and_says_why() -> None:
    breakers = {"venue_reset": "order bt1-7 (venue id 9) is gone from the venue"}
    found = by_type(status.bot_conditions(True, True, False, breakers))
    assert found["Degraded"]["status"] == "True" and found["Degraded"]["reason"] == "VenueReset"
    assert "gone from the venue" in found["Degraded"]["message"]
    assert found["CircuitBreakerOpen"]["status"] == "False"
    assert status.bot_phase({}, True, breakers) == "Degraded"
    assert status.breakers_from(found) == {"venue_reset": breakers["venue_reset"]}  # read back


def test_a_ban_degrades_and_a_market_breaker_still_halts() -> None:
    breakers = {"venue_banned": "until 2026-12-02T21:00:00+00:00", "daily_loss": "lost 5% today"}
    found = by_type(status.bot_conditions(True, True, False, breakers))
    assert found["Degraded"]["reason"] == "VenueBanned"
    assert found["CircuitBreakerOpen"]["reason"] == "daily_loss"
    assert status.bot_phase({}, True, breakers) == "Halted"
    assert status.bot_phase({}, True, status.breakers_from(found)) == "Halted"


def test_without_venue_breakers_degraded_still_means_the_collector() -> None:
    found = by_type(status.bot_conditions(False, True, False, {}))
    assert (found["Degraded"]["status"], found["Degraded"]["reason"]) == ("True", "CollectorDown")
    assert status.breakers_from(found) == {}
    assert status.bot_phase({}, True, {}) == "Running"
