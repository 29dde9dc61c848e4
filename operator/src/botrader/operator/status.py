"""Status of TradingBots and TrainingRuns: phases and Kubernetes-style conditions (keyed by
type; lastTransitionTime moves only when a condition's status changes)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botrader.core import phases


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def condition(type_: str, status: bool | None, reason: str, message: str = "") -> dict[str, Any]:
    value = "Unknown" if status is None else ("True" if status else "False")
    return {"type": type_, "status": value, "reason": reason, "message": message}


def merge_conditions(
    old: list[dict[str, Any]] | None, new: list[dict[str, Any]], at: str
) -> list[dict[str, Any]]:
    previous = {c["type"]: c for c in old or []}
    merged = []
    for c in new:
        before = previous.get(c["type"])
        moved = before is None or before.get("status") != c["status"]
        merged.append({**c, "lastTransitionTime": at if moved else before.get("lastTransitionTime", at)})
    return merged


def model_condition(resolution: Any) -> dict[str, Any]:
    """ModelReady: True for bots that need no trained run; else the resolution's verdict."""
    if resolution is None:
        return condition("ModelReady", True, "NotRequired")
    return condition("ModelReady", resolution.ready, resolution.reason, resolution.message)


def params_condition(resolution: Any) -> dict[str, Any]:
    """ParamsReady: True for bots without paramsFrom; else whether the search's card passed."""
    if resolution is None:
        return condition("ParamsReady", True, "NotRequired")
    return condition("ParamsReady", resolution.ready, resolution.reason, resolution.message)


def trader_condition(trader_ready: bool, paused: bool) -> dict[str, Any]:
    reason = "Paused" if paused else ("ReplicasReady" if trader_ready else "ReplicasNotReady")
    return condition("TraderReady", trader_ready, reason)


def replace_condition(old: list[dict[str, Any]] | None, new: dict[str, Any], at: str) -> list[dict[str, Any]]:
    """All of `old` with `new` in its type's place (added when missing)."""
    kept = [new if c.get("type") == new["type"] else c for c in old or []]
    if not any(c.get("type") == new["type"] for c in old or []):
        kept.append(new)
    return merge_conditions(old, kept, at)


@dataclass(frozen=True)
class BotInputs:
    """Everything a TradingBot's phase and conditions depend on. The create handler, the
    status refresh and following the trader learn them differently (the trader's row or the
    bot's own conditions for breakers; a resolution or the condition already there for the
    model), but the decision is `bot_status`'s alone."""

    paused: bool = False
    emergency: bool = False
    trader: dict[str, Any] | None = None  # the trader Deployment as the watch cache holds it
    collector_ready: bool = False
    breakers: dict[str, str] = field(default_factory=dict)
    model: dict[str, Any] = field(default_factory=lambda: model_condition(None))
    params: dict[str, Any] = field(default_factory=lambda: params_condition(None))
    strategy: dict[str, Any] = field(default_factory=lambda: condition("StrategyReady", None, "NotStarted"))
    summary: dict[str, Any] = field(default_factory=lambda: summary_condition(None))
    warmed: dict[str, Any] = field(default_factory=lambda: warmed_condition(True, None))


@dataclass(frozen=True)
class BotStatus:
    phase: str
    conditions: list[dict[str, Any]]

    def same_as(self, known: dict[str, Any]) -> bool:
        """Whether `known` (a bot's status) already says this: phase, and each condition's
        status and reason (a message or a timestamp alone is no reason to write)."""
        before = {c.get("type"): c for c in known.get("conditions") or []}

        def kept(c: dict[str, Any]) -> bool:
            old = before.get(c["type"], {})
            return (old.get("status"), old.get("reason")) == (c["status"], c["reason"])

        return self.phase == known.get("phase") and all(kept(c) for c in self.conditions)


def bot_status(inputs: BotInputs) -> BotStatus:
    """The phase (`botrader.core.phases` decides which input wins) and every condition."""
    running = ready(inputs.trader)
    phase = phases.phase_of(
        inputs.breakers,
        paused=inputs.paused,
        emergency=inputs.emergency,
        failed=failed(inputs.trader) or inputs.strategy["status"] == "False",
        running=running,
    )
    halting, degrading = phases.split_breakers(inputs.breakers)
    conditions = [
        inputs.model,
        inputs.params,
        condition("CollectorReady", inputs.collector_ready, collector_reason(inputs.collector_ready)),
        trader_condition(running, inputs.paused),
        condition(
            "CircuitBreakerOpen",
            bool(halting),
            ",".join(sorted(halting)) or "Closed",
            "; ".join(halting.values()),
        ),
        degraded_condition(inputs.collector_ready, inputs.paused, degrading),
        inputs.strategy,
        inputs.summary,
        inputs.warmed,
    ]
    return BotStatus(phase, conditions)


def warmed_condition(
    live: bool, row: dict[str, Any] | None, before: dict[str, Any] | None = None
) -> dict[str, Any]:
    """WarmedUp: whether the trader trades live candles yet. A new live bot waits until its
    series have caught up with the exchange (a backfill lands oldest first) and warms then; until
    that, its row has no candle time and its message names the pairs it waits for — shown here,
    or the bot reads as Running while it trades nothing. A replay needs no warming; without the
    row (no database, or unreadable) the condition keeps what it said."""
    if not live:
        return condition("WarmedUp", True, "NotRequired")
    if row is None:
        return before or condition("WarmedUp", None, "NotStarted")
    if row.get("last_candle_time") is None:
        return condition("WarmedUp", False, "WaitingForCandles", str(row.get("message") or ""))
    return condition("WarmedUp", True, "Trading")


def summary_condition(stale: str | None) -> dict[str, Any]:
    """TradingSummaryStale: True (with why) when the trader's row could not be read."""
    return condition(
        "TradingSummaryStale", stale is not None, "DatabaseUnreadable" if stale else "Fresh", stale or ""
    )


def collector_reason(ready: bool) -> str:
    return "ReplicasReady" if ready else "ReplicasNotReady"


def degraded_condition(collector_ready: bool, paused: bool, venue: dict[str, str]) -> dict[str, Any]:
    """Degraded: the venue stopped taking the bot's orders (VenueReset, VenueBanned: its
    breaker's message says until when or why), or the collector is down."""
    if venue:
        breaker = sorted(venue)[0]
        return condition("Degraded", True, phases.VENUE_BREAKERS[breaker], venue[breaker])
    down = not collector_ready and not paused
    return condition("Degraded", down, "CollectorDown" if not collector_ready else "AsExpected")


def by_type(conditions: list[dict[str, Any]] | None) -> dict[str, dict[str, Any]]:
    return {c.get("type"): c for c in conditions or []}


def breakers_from(conditions: dict[str, dict[str, Any]]) -> dict[str, str]:
    """The open breakers as far as the bot's conditions tell (its refresh keeps them)."""
    found = _halting_from(conditions.get("CircuitBreakerOpen", {}))
    degraded = conditions.get("Degraded", {})
    venue = {reason: breaker for breaker, reason in phases.VENUE_BREAKERS.items()}
    if degraded.get("status") == "True" and degraded.get("reason") in venue:
        found[venue[degraded["reason"]]] = degraded.get("message", "")
    return found


def _halting_from(open_: dict[str, Any]) -> dict[str, str]:
    """The halting breakers back from CircuitBreakerOpen (reason: their names joined by ",",
    message: their messages by "; ", as `bot_status` writes them)."""
    if open_.get("status") != "True":
        return {}
    names = [n for n in str(open_.get("reason") or "open").split(",") if n]
    messages = str(open_.get("message") or "").split("; ")
    if len(messages) != len(names):  # a message holding "; " itself: the names still tell
        messages = [""] * len(names)
    return dict(zip(names, messages, strict=True))


def trading_summary(row: dict[str, Any] | None) -> dict[str, Any]:
    """The trader's persisted state (`bots` table row) → status fields; breakers separately."""
    if not row:
        return {}
    out: dict[str, Any] = {"trades": int(row.get("trades") or 0)}
    for key, name in (
        ("equity", "equity"),
        ("cash", "cash"),
        ("position", "position"),
        ("pnl_percent", "pnlPercent"),
    ):
        if row.get(key) is not None:
            out[name] = round(float(row[key]), 8)
    if row.get("last_candle_time") is not None:
        stamp = row["last_candle_time"]
        stamp = stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
        out["lastCandleTime"] = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    return out


def job_phase(job: dict[str, Any] | None) -> str:
    """batch/v1 Job or RayJob → TrainingRun phase."""
    if not job:
        return "Pending"
    status = job.get("status") or {}
    if job.get("kind") == "RayJob":
        state = status.get("jobDeploymentStatus", "")
        return {"Complete": "Succeeded", "Failed": "Failed"}.get(state, "Running" if state else "Pending")
    for c in status.get("conditions") or []:
        if c.get("type") == "Complete" and c.get("status") == "True":
            return "Succeeded"
        if c.get("type") == "Failed" and c.get("status") == "True":
            return "Failed"
    return "Running" if status.get("active") or status.get("startTime") else "Pending"


def ready(deployment: dict[str, Any] | None) -> bool:
    if not deployment:
        return False
    want = (deployment.get("spec") or {}).get("replicas", 1)
    return want > 0 and (deployment.get("status") or {}).get("readyReplicas", 0) >= want


def failed(deployment: dict[str, Any] | None) -> bool:
    """The Deployment controller gave up rolling it out (pods crash or cannot start)."""
    for c in ((deployment or {}).get("status") or {}).get("conditions") or []:
        if c.get("type") == "Progressing" and c.get("status") == "False":
            return c.get("reason") == "ProgressDeadlineExceeded"
    return False


def job_failure(job: dict[str, Any] | None) -> tuple[str, str]:
    """Why a Job or RayJob failed (reason, message), as its own status says."""
    status = (job or {}).get("status") or {}
    for c in status.get("conditions") or []:
        if c.get("type") == "Failed" and c.get("status") == "True":
            return c.get("reason") or "JobFailed", c.get("message") or ""
    if (job or {}).get("kind") == "RayJob":
        return status.get("reason") or "RayJobFailed", status.get("message") or ""
    return "JobFailed", ""


def run_conditions(job: dict[str, Any] | None, phase: str) -> list[dict[str, Any]]:
    """JobComplete mirrors the job (with its failure reason); set from the first visit."""
    if phase == "Succeeded":
        return [condition("JobComplete", True, "Succeeded")]
    if phase == "Failed":
        reason, message = job_failure(job)
        return [condition("JobComplete", False, reason, message)]
    return [condition("JobComplete", False if job else None, phase)]
