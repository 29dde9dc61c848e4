"""One vocabulary for a TradingBot's state, imported by the engine, the trader, the API and
the operator: its phases, its circuit breakers, and which phase wins when several apply.

Precedence, decided once: Failed (the trader cannot run) > Halted (an emergency stop or an
open breaker: no orders, and an emergency stop has flattened) > Degraded (the venue stopped
taking the bot's orders: its account was reset, or it banned the IP for a while) > Paused (no
new orders by choice) > Running > Pending. A bot both paused and emergency-stopped is Halted.

The venue's breakers are breakers like the others — the engine sends nothing while one is
open — but they say the exchange, not the market or the user, stopped the bot: the phase is
Degraded and the condition `Degraded` carries their reason (`VENUE_BREAKERS`).
"""

from __future__ import annotations

from collections.abc import Mapping

PHASES = ("Pending", "Running", "Paused", "Degraded", "Halted", "Failed")
# the breaker a venue opens → the reason of the bot's Degraded condition
VENUE_BREAKERS = {"venue_reset": "VenueReset", "venue_banned": "VenueBanned"}
BREAKERS = (
    "daily_loss",
    "max_drawdown",
    "consecutive_losses",
    "stale_data",
    "emergency_stop",
    "portfolio_drawdown",
    *VENUE_BREAKERS,
)


def split_breakers(breakers: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(the breakers that halt the bot, the venue's that degrade it)."""
    halting = {k: v for k, v in breakers.items() if k not in VENUE_BREAKERS}
    return halting, {k: v for k, v in breakers.items() if k in VENUE_BREAKERS}


def bot_phase(
    *, paused: bool, halted: bool, failed: bool = False, running: bool = True, degraded: bool = False
) -> str:
    """`halted`: an emergency stop requested or a breaker open; `degraded`: a venue breaker
    open; `running`: the trader is up (the operator knows it from its Deployment; the trader
    is, by definition)."""
    if failed:
        return "Failed"
    if halted:
        return "Halted"
    if degraded:
        return "Degraded"
    if paused:
        return "Paused"
    return "Running" if running else "Pending"


def phase_of(
    breakers: Mapping[str, str], *, paused: bool, emergency: bool, failed: bool = False, running: bool = True
) -> str:
    """The phase from a bot's open breakers (the venue's degrade, the others halt)."""
    halting, degrading = split_breakers(breakers)
    return bot_phase(
        paused=paused,
        halted=emergency or bool(halting),
        failed=failed,
        running=running,
        degraded=bool(degrading),
    )
