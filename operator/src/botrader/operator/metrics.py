"""The operator's metrics (DESIGN.md names)."""

from prometheus_client import Counter, Histogram

RECONCILES = Counter("botrader_reconcile", "Reconciliations by resource kind and result", ["kind", "result"])
RECONCILE_SECONDS = Histogram(
    "botrader_reconcile_duration_seconds", "Time to reconcile one resource", ["kind"]
)
