"""One precedence for a bot's phase, wherever it is computed (trader, API, operator)."""

from botrader.core.phases import BREAKERS, PHASES, bot_phase


def test_precedence_failed_halted_paused_running_pending() -> None:
    assert bot_phase(paused=True, halted=True) == "Halted"  # paused and emergency-stopped
    assert bot_phase(paused=True, halted=True, failed=True) == "Failed"
    assert bot_phase(paused=True, halted=False) == "Paused"
    assert bot_phase(paused=False, halted=False) == "Running"
    assert bot_phase(paused=False, halted=False, running=False) == "Pending"
    assert (
        set(PHASES) == {"Pending", "Running", "Paused", "Halted", "Failed"} and "emergency_stop" in BREAKERS
    )
