"""A bot's `strategy.paramsFrom: {optimizationRun: NAME}`: which parameters it trades with, or
why it waits. The search must have succeeded and its honesty card passed its gate; until then
the trader holds at zero replicas with ParamsReady=False and the reason. The manifest's own
`strategy.params` still win over the searched ones (a deliberate override stays visible)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ParamsResolution:
    ready: bool
    reason: str
    message: str
    params: dict[str, Any] = field(default_factory=dict)


def optimization_run_ref(spec: dict[str, Any]) -> str | None:
    found = ((spec.get("strategy") or {}).get("paramsFrom") or {}).get("optimizationRun")
    return str(found) if found else None


def resolve(run_name: str, run: dict[str, Any] | None, namespace: str) -> ParamsResolution:
    if run is None:
        return ParamsResolution(
            False, "OptimizationRunNotFound", f"OptimizationRun {run_name} not found in namespace {namespace}"
        )
    status = run.get("status") or {}
    phase = status.get("phase", "Pending")
    if phase == "Failed":
        return ParamsResolution(False, "OptimizationRunFailed", f"OptimizationRun {run_name} failed")
    if phase != "Succeeded" or "verdict" not in status:
        done = status.get("progress", "0 trials")
        return ParamsResolution(False, "WaitingForSearch", f"OptimizationRun {run_name} is {phase} ({done})")
    if not status.get("passes"):
        return ParamsResolution(False, "VerdictFailed", f"OptimizationRun {run_name}: {status['verdict']}")
    params = dict(status.get("bestParams") or {})
    shown = ", ".join(f"{k}={v}" for k, v in sorted(params.items()))
    return ParamsResolution(True, "Resolved", f"OptimizationRun {run_name}: {shown}", params)


def with_params(spec: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """The spec the trader runs: the searched parameters under the manifest's own, and no
    reference left for the trader to resolve."""
    strategy = {k: v for k, v in (spec.get("strategy") or {}).items() if k != "paramsFrom"}
    strategy["params"] = {**params, **(strategy.get("params") or {})}
    return {**spec, "strategy": strategy}
