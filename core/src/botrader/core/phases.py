"""One vocabulary for a TradingBot's state, imported by the engine, the trader, the API and
the operator: its phases, its circuit breakers, and which phase wins when several apply.

Precedence, decided once: Failed (the trader cannot run) > Halted (an emergency stop or an
open breaker: no orders, and an emergency stop has flattened) > Paused (no new orders by
choice) > Running > Pending. A bot both paused and emergency-stopped is Halted.
"""

from __future__ import annotations

PHASES = ("Pending", "Running", "Paused", "Halted", "Failed")
BREAKERS = ("daily_loss", "max_drawdown", "consecutive_losses", "stale_data", "emergency_stop")


def bot_phase(*, paused: bool, halted: bool, failed: bool = False, running: bool = True) -> str:
    """`halted`: an emergency stop requested or any breaker open; `running`: the trader is up
    (the operator knows it from its Deployment; the trader is, by definition)."""
    if failed:
        return "Failed"
    if halted:
        return "Halted"
    if paused:
        return "Paused"
    return "Running" if running else "Pending"
