"""The operator's metrics (DESIGN.md names), plus each resource's phase so that alerts can
say "bot halted/failed" or "training failed" without reading the Kubernetes API."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from botrader.core.phases import PHASES as BOT_PHASES

RECONCILES = Counter("botrader_reconcile", "Reconciliations by resource kind and result", ["kind", "result"])
RECONCILE_SECONDS = Histogram(
    "botrader_reconcile_duration_seconds", "Time to reconcile one resource", ["kind"]
)
THROTTLED = Counter(
    "botrader_kube_throttled", "Kubernetes API requests refused with 429 (too many requests) and retried"
)
PHASE = Gauge(
    "botrader_resource_phase",
    "1 for the phase a TradingBot, TrainingRun or OptimizationRun is in, 0 for its other phases",
    ["kind", "namespace", "name", "phase"],
)
PHASES = {
    "TradingBot": BOT_PHASES,
    "TrainingRun": ("Pending", "Running", "Succeeded", "Failed"),
    "OptimizationRun": ("Pending", "Running", "Succeeded", "Failed"),
}


def declare() -> None:
    """Reconcile counters exist at zero from the start (rates and alerts need a baseline)."""
    for kind in PHASES:
        RECONCILE_SECONDS.labels(kind)
        for result in ("ok", "error"):
            RECONCILES.labels(kind, result)


def set_phase(kind: str, namespace: str, name: str, phase: str) -> None:
    for candidate in PHASES[kind]:
        PHASE.labels(kind, namespace, name, candidate).set(1 if candidate == phase else 0)


def forget(kind: str, namespace: str, name: str) -> None:
    """A deleted resource's series go too (no stale alerts for bots that no longer exist)."""
    for candidate in PHASES[kind]:
        try:
            PHASE.remove(kind, namespace, name, candidate)
        except KeyError:
            pass
