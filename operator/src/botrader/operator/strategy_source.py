"""A custom strategy in the cluster: its file comes from a ConfigMap key (`spec.strategy.source`)
that the trader pod mounts read-only at MOUNT, or from a user image (`spec.image`) that has the
package installed.

The operator never imports user code (it would run with the operator's rights); the trader
does, and when the strategy does not import or rejects its parameters it writes why to its row
in the `bots` table (phase Failed, "StrategyInvalid: …") and exits. The operator turns that into
`StrategyReady=False` with the trader's one-line message and an Event, and holds the trader at
zero replicas — no crash loop — until the spec or the file changes (the file's hash is in the
pod template, so an edited ConfigMap rolls the trader).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botrader.core.manifests import TradingBotSpec

MOUNT = "/strategies"
FAILURE = "StrategyInvalid:"


@dataclass(frozen=True)
class Source:
    """The strategy file's hash (None without a ConfigMap source), or what is wrong with it."""

    hash: str | None = None
    problem: str | None = None


def mounted(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec as the trader reads it: `KEY:Class` becomes the mounted file's path (and the
    source, the cluster's business, is left out)."""
    if not (spec.get("strategy") or {}).get("source"):  # the manifest as written: a dict
        return spec
    strategy = {k: v for k, v in spec["strategy"].items() if k != "source"}
    strategy["ref"] = f"{MOUNT}/{strategy['ref']}"
    return {**spec, "strategy": strategy}


async def inspect(spec: TradingBotSpec, namespace: str, applier: Any) -> Source:
    source = spec.strategy.source
    if source is None:
        return Source()
    found = await applier.get("ConfigMap", namespace, source.config_map)
    if found is None:
        return Source(problem=f"ConfigMap {source.config_map!r} (spec.strategy.source) not found")
    code = (found.get("data") or {}).get(source.key)
    if code is None:
        return Source(problem=f"ConfigMap {source.config_map!r} has no key {source.key!r}")
    return Source(hash=hashlib.sha256(code.encode()).hexdigest()[:16])


def now() -> str:
    return datetime.now(UTC).isoformat()


def trader_failure(row: dict[str, Any] | None, rolled_out: str | None) -> str | None:
    """The trader's own account of a strategy that cannot run, if it is about the rollout now
    in place (an older failure was fixed by the spec change or file edit since)."""
    if not row or row.get("phase") != "Failed" or not str(row.get("message", "")).startswith(FAILURE):
        return None
    updated = row.get("updated_at")
    if updated is None:
        return None
    updated = updated if updated.tzinfo else updated.replace(tzinfo=UTC)
    if rolled_out and updated < datetime.fromisoformat(rolled_out):
        return None
    return str(row["message"])[len(FAILURE) :].strip()
