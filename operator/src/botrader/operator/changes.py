"""What changed in a TradingBot's spec, and who changed it — for the Events and audit rows every
spec change gets (pure functions; the handler posts and writes them)."""

from __future__ import annotations

import json
from typing import Any

CONTROL_REASONS = {
    ("paused", True): "Paused",
    ("paused", False): "Resumed",
    ("emergencyStop", True): "EmergencyStop",
    ("emergencyStop", False): "EmergencyStopCleared",
}


def flatten(spec: dict[str, Any] | None, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in (spec or {}).items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flatten(value, path + "."))
        else:
            out[path] = value
    return out


def spec_changes(old: dict[str, Any] | None, new: dict[str, Any] | None) -> dict[str, tuple[Any, Any]]:
    """Changed leaf fields, `{"risk.maxDrawdownFraction": (0.2, 0.1)}`; missing flags count as
    False (the CRD defaults them)."""
    before, after = flatten(old), flatten(new)
    changed = {}
    for path in sorted(set(before) | set(after)):
        a, b = before.get(path), after.get(path)
        if path in ("paused", "emergencyStop"):
            a, b = bool(a), bool(b)
        if a != b:
            changed[path] = (a, b)
    return changed


def reason(changes: dict[str, tuple[Any, Any]]) -> str:
    """The Event reason: the control flag flipped, if one did, else SpecChanged."""
    for field in ("emergencyStop", "paused"):
        if field in changes:
            return CONTROL_REASONS[(field, changes[field][1])]
    return "SpecChanged"


def describe(changes: dict[str, tuple[Any, Any]]) -> str:
    return "; ".join(f"{path}: {json.dumps(a)} → {json.dumps(b)}" for path, (a, b) in changes.items())


def last_manager(body: dict[str, Any]) -> str:
    """Who last wrote the spec, as the API server records it (managedFields' newest Update
    entry: e.g. kubectl-patch, botrader-api); the operator is not told the user."""
    entries = [
        m
        for m in (body.get("metadata") or {}).get("managedFields") or []
        if m.get("operation") in ("Update", "Apply") and not m.get("subresource")
    ]
    if not entries:
        return "kubernetes"
    newest = max(entries, key=lambda m: m.get("time") or "")
    return str(newest.get("manager") or "kubernetes")
