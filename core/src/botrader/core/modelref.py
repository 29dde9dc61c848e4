"""A PPO bot's `modelRef` naming a TrainingRun: which model it trades with, or why it waits.

`modelRef` may be a TrainingRun name (a DNS label, as Kubernetes names are), a model path, or
an MLflow URI (runs:/…, models:/…). Only a name is resolved here; the bot waits — trader at
zero replicas, condition ModelReady=False with the reason — until the run has a model for the
bot's budget, then runs with that model's URI.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


@dataclass(frozen=True)
class Resolution:
    ready: bool
    reason: str
    message: str
    model_uri: str | None = None


def training_run_ref(spec: dict[str, Any]) -> str | None:
    """The TrainingRun a PPO bot's modelRef names, or None (a path or URI, or no PPO)."""
    strategy = spec.get("strategy") or {}
    ref = strategy.get("modelRef")
    if strategy.get("type") != "ppo" or not ref or not NAME.match(ref):
        return None
    return str(ref)


ALIAS = re.compile(r"^models:/([^/@]+)@([A-Za-z0-9_-]+)$")


def alias_ref(spec: dict[str, Any]) -> tuple[str, str] | None:
    """(model, alias) when a PPO bot's modelRef is an alias URI (models:/NAME@champion): the
    operator follows the alias, so a promotion rolls the trader."""
    strategy = spec.get("strategy") or {}
    found = ALIAS.match(str(strategy.get("modelRef") or "")) if strategy.get("type") == "ppo" else None
    return (found.group(1), found.group(2)) if found else None


def resolve_alias(name: str, alias: str, version: str | None) -> Resolution:
    if version is None:
        return Resolution(False, "AliasUnresolved", f"registered model {name} has no @{alias}")
    uri = f"models:/{name}/{version}"
    return Resolution(True, "Resolved", f"{name}@{alias}: version {version}", uri)


def resolve(spec: dict[str, Any], run_name: str, run: dict[str, Any] | None, namespace: str) -> Resolution:
    if run is None:
        return Resolution(
            False, "TrainingRunNotFound", f"TrainingRun {run_name} not found in namespace {namespace}"
        )
    status = run.get("status") or {}
    phase = status.get("phase", "Pending")
    budget = float(spec.get("budget", 0))
    for result in status.get("results") or []:
        if float(result.get("budget", -1)) == budget and result.get("modelUri"):
            return Resolution(
                True, "Resolved", f"TrainingRun {run_name}: {result['modelUri']}", result["modelUri"]
            )
    if phase == "Failed":
        return Resolution(
            False, "TrainingRunFailed", f"TrainingRun {run_name} failed; no model to trade with"
        )
    if phase == "Succeeded" and status.get("results"):
        budgets = ", ".join(f"{r.get('budget'):g}" for r in status["results"])
        return Resolution(
            False, "NoModelForBudget", f"TrainingRun {run_name} trained budgets {budgets}, not {budget:g}"
        )
    return Resolution(
        False, "WaitingForTraining", f"TrainingRun {run_name} is {phase}; no model for {budget:g} yet"
    )


def with_model(spec: dict[str, Any], model_uri: str) -> dict[str, Any]:
    """The spec the trader runs: the run's name replaced by the resolved model URI."""
    strategy = {**(spec.get("strategy") or {}), "modelRef": model_uri}
    return {**spec, "strategy": strategy}
