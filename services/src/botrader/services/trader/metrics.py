"""The trader's Prometheus metrics (names per DESIGN.md; label `bot` is bounded by the
number of bots)."""

from collections.abc import Collection, Sequence

from prometheus_client import Counter, Gauge, Histogram

from botrader.core.engine.exits import REASONS
from botrader.core.engine.orders import Fill
from botrader.core.phases import BREAKERS as BREAKERS  # re-exported: the labels of BREAKER
from botrader.core.phases import PHASES as PHASES_ALL

EQUITY = Gauge("botrader_bot_equity", "Bot equity in the quote asset", ["bot"])
POSITION = Gauge("botrader_bot_position", "Bot position in the base asset, per pair", ["bot", "symbol"])
RETURN = Gauge("botrader_bot_return_ratio", "Return since start as a fraction of the budget", ["bot"])
DRAWDOWN = Gauge("botrader_bot_drawdown_ratio", "Drawdown from the equity peak, as a fraction", ["bot"])
TRADES = Counter("botrader_trades", "Fills executed on paper", ["bot", "side"])
EXITS = Counter(
    "botrader_exits",
    "Closing fills by why (every sell; a short's exits too): signal or an exit",
    ["bot", "reason"],
)
FUNDING = Gauge(
    "botrader_bot_funding",
    "Perpetual funding received (> 0) or paid (< 0), quote asset (spot: 0)",
    ["bot"],
)
MARGIN_RATIO = Gauge(
    "botrader_bot_margin_ratio",
    "Perpetual maintenance margin / margin balance (1: liquidated; spot: 0)",
    ["bot"],
)
BREAKER = Gauge("botrader_circuit_breaker_open", "1 while a circuit breaker is open", ["bot", "breaker"])
PHASE = Gauge("botrader_bot_phase", "1 for the trader's current phase, 0 for the others", ["bot", "phase"])
PHASES = tuple(p for p in PHASES_ALL if p != "Pending")  # a trader runs, or is paused, halted, failed
SIDES = ("buy", "sell")
EXIT_REASONS = REASONS
DECISION_LATENCY = Histogram(
    "botrader_decision_latency_seconds",
    "Seconds from the trader learning of new candles to their decisions being persisted",
    ["bot"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)

# Orders on a venue (bots with spec.venue): the states orders reached, what the venue's prices
# cost against paper's, the request weight the venue counted, and reconciliation's work.
VENUE_ORDERS = Counter("botrader_venue_orders", "Venue orders by the state they reached", ["bot", "state"])
VENUE_SLIPPAGE = Histogram(
    "botrader_venue_slippage_bps",
    "Venue average price against paper's per decision, in bps (positive: worse for the bot)",
    ["bot"],
    buckets=(-50, -10, -5, -2, -1, 0, 1, 2, 5, 10, 50),
)
VENUE_WEIGHT = Gauge("botrader_venue_request_weight", "Request weight the venue counted this minute", ["bot"])
VENUE_RECONCILE_FILLS = Counter(
    "botrader_venue_reconcile_fills", "Fills stored by reconciliation (missed while away)", ["bot"]
)
VENUE_STREAM_EVENTS = Counter(
    "botrader_venue_stream_events", "User-data-stream events that changed an order or stored a fill", ["bot"]
)
VENUE_RECONCILE_SECONDS = Histogram(
    "botrader_venue_reconcile_seconds",
    "Seconds one reconciliation took",
    ["bot"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5),
)


def export_bot(
    name: str, equity: float, budget: float, peak: float, breakers: Collection[str], phase: str
) -> None:
    """What every trader exports the same way: equity, return, drawdown, breakers, phase, and
    the counters declared at 0 (so rate() works before the first fill)."""
    EQUITY.labels(name).set(equity)
    RETURN.labels(name).set(equity / budget - 1)
    DRAWDOWN.labels(name).set(1 - equity / peak if peak else 0.0)
    for breaker in BREAKERS:
        BREAKER.labels(name, breaker).set(1 if breaker in breakers else 0)
    for one in PHASES:
        PHASE.labels(name, one).set(1 if one == phase else 0)
    for side in SIDES:
        TRADES.labels(name, side)
    for reason in EXIT_REASONS:
        EXITS.labels(name, reason)


def count_fills(name: str, fills: Sequence[Fill]) -> None:
    """Fills by side, and closing fills by why (a short's exits are buys)."""
    for fill in fills:
        TRADES.labels(name, fill.side).inc()
        if fill.side == "sell" or fill.reason != "signal":
            EXITS.labels(name, fill.reason).inc()
