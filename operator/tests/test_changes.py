"""Spec changes → Event reasons, messages and audit before/after (pure functions)."""

from botrader.operator import changes


def test_changed_leaves_with_defaults_for_the_flags() -> None:
    old = {"symbol": "BTCUSDT", "risk": {"maxDrawdownFraction": 0.2, "staleDataSeconds": 180}}
    new = {
        "symbol": "BTCUSDT",
        "risk": {"maxDrawdownFraction": 0.1, "staleDataSeconds": 180},
        "paused": False,
    }
    assert changes.spec_changes(old, new) == {"risk.maxDrawdownFraction": (0.2, 0.1)}
    found = changes.spec_changes(new, {**new, "paused": True, "budget": 500})
    assert found == {"budget": (None, 500), "paused": (False, True)}
    assert changes.reason(found) == "Paused"
    assert changes.describe(found) == "budget: null → 500; paused: false → true"
    assert changes.reason({"emergencyStop": (True, False), "paused": (False, True)}) == "EmergencyStopCleared"
    assert changes.reason({"budget": (1, 2)}) == "SpecChanged"


def test_the_newest_spec_writer_is_the_actor() -> None:
    body = {
        "metadata": {
            "managedFields": [
                {
                    "manager": "kubectl-client-side-apply",
                    "operation": "Update",
                    "time": "2026-01-01T00:00:00Z",
                },
                {"manager": "botrader-api", "operation": "Update", "time": "2026-01-02T00:00:00Z"},
                {
                    "manager": "kopf",
                    "operation": "Update",
                    "subresource": "status",
                    "time": "2026-01-03T00:00:00Z",
                },
            ]
        }
    }
    assert changes.last_manager(body) == "botrader-api"
    assert changes.last_manager({"metadata": {}}) == "kubernetes"
