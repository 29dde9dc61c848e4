"""One precedence for a bot's phase, wherever it is computed (trader, API, operator)."""

from botrader.core.phases import BREAKERS, PHASES, bot_phase, phase_of


def test_precedence_failed_halted_degraded_paused_running_pending() -> None:
    assert bot_phase(paused=True, halted=True) == "Halted"  # paused and emergency-stopped
    assert bot_phase(paused=True, halted=True, failed=True) == "Failed"
    assert bot_phase(paused=True, halted=True, degraded=True) == "Halted"
    assert bot_phase(paused=True, halted=False, degraded=True) == "Degraded"
    assert bot_phase(paused=True, halted=False) == "Paused"
    assert bot_phase(paused=False, halted=False) == "Running"
    assert bot_phase(paused=False, halted=False, running=False) == "Pending"
    assert set(PHASES) == {"Pending", "Running", "Paused", "Degraded", "Halted", "Failed"}
    assert "emergency_stop" in BREAKERS and "venue_reset" in BREAKERS


def test_the_venues_breakers_degrade_the_others_halt() -> None:
    assert phase_of({"venue_reset": "gone"}, paused=False, emergency=False) == "Degraded"
    assert phase_of({"venue_banned": "418"}, paused=True, emergency=False) == "Degraded"
    assert phase_of({"venue_reset": "", "daily_loss": ""}, paused=False, emergency=False) == "Halted"
    assert phase_of({}, paused=False, emergency=True) == "Halted"
    assert phase_of({}, paused=False, emergency=False) == "Running"
