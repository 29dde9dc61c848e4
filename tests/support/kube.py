"""A Kubernetes API stand-in for operator tests: kmock's KubernetesEmulator on loopback,
made to behave like a real API server where the operator relies on it (uids, creation
timestamps, generation and resourceVersion, namespaces on create), with Botrader's CRDs
and the built-in kinds in its discovery."""

from __future__ import annotations

import datetime
import uuid
from pathlib import Path
from typing import Any

import yaml
from kmock import KubernetesEmulator, ResourceInfo
from kmock._internal import enums

from botrader.core.crds import crd


class Emulator(KubernetesEmulator):
    """Fills the metadata a real API server sets on create (kmock leaves it out)."""

    async def _handle(self, request: Any) -> Any:
        if (
            request.resource is not None
            and request.action == enums.action.CREATE
            and isinstance(request.data, dict)
        ):
            meta = request.data.setdefault("metadata", {})
            meta.setdefault("uid", str(uuid.uuid4()))
            meta.setdefault(
                "creationTimestamp", datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            )
            meta.setdefault("generation", 1)
            meta.setdefault("resourceVersion", "1")
            if request.namespace and "namespace" not in meta:
                meta["namespace"] = request.namespace
            if "generateName" in meta and "name" not in meta:
                meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
        return await super()._handle(request)


def register_crds(emulator: KubernetesEmulator) -> None:
    emulator.resources.load_bundled()
    for kind in ("TradingBot", "TrainingRun"):
        names = crd(kind)["spec"]["names"]
        emulator.resources[f"botrader.io/v1alpha1/{names['plural']}"] = ResourceInfo(
            kind=kind,
            namespaced=True,
            singular=names["singular"],
            shortnames=set(names["shortNames"]),
            categories=set(names["categories"]),
            subresources={"status"},
            verbs={"create", "delete", "get", "list", "patch", "update", "watch"},
        )


def write_kubeconfig(path: Path, url: str) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "test",
                "clusters": [{"name": "emulator", "cluster": {"server": url}}],
                "users": [{"name": "tester", "user": {"token": "test-token"}}],
                "contexts": [{"name": "test", "context": {"cluster": "emulator", "user": "tester"}}],
            }
        )
    )
    return path


def objects(emulator: KubernetesEmulator) -> dict[tuple[str, str], dict[str, Any]]:
    """Live stored objects by (kind, name)."""
    out = {}
    for version in emulator.objects.values():
        if getattr(version, "deleted", False):
            continue
        raw = version.raw
        out[(raw.get("kind"), (raw.get("metadata") or {}).get("name"))] = raw
    return out


async def collect_garbage(emulator: KubernetesEmulator, api: Any) -> int:
    """One pass of Kubernetes' garbage collector, which kmock lacks: owner references to
    objects that no longer exist are dropped, and an object whose owners are all gone is
    deleted. Returns how many objects it deleted."""
    from botrader.operator.apply import PATHS

    live = objects(emulator)
    uids = {o["metadata"].get("uid") for o in live.values()}
    deleted = 0
    for (kind, name), obj in live.items():
        refs = obj["metadata"].get("ownerReferences") or []
        if kind not in PATHS or not refs:
            continue
        remaining = [r for r in refs if r.get("uid") in uids]
        if len(remaining) == len(refs):
            continue
        prefix, plural = PATHS[kind]
        path = f"{prefix}/namespaces/{obj['metadata']['namespace']}/{plural}/{name}"
        if remaining:
            patch = {"metadata": {"ownerReferences": remaining}}
            await api.patch(path, json=patch, headers={"Content-Type": "application/merge-patch+json"})
        else:
            await api.delete(path)
            deleted += 1
    return deleted
