"""A Kubernetes API stand-in: kmock's KubernetesEmulator on loopback, made to behave like a
real API server where the operator relies on it (uids, creation timestamps, generation and
resourceVersion, namespaces on create), with Botrader's CRDs and the built-in kinds in its
discovery. The tests run on a real control plane (tests/support/testenv.py); this stays for
`bench/bench_operator.py --emulator`, which compares the two."""

from __future__ import annotations

import datetime
import uuid
from pathlib import Path
from typing import Any

import yaml
from kmock import KubernetesEmulator, RawHandler, ResourceInfo, action

from botrader.core.crds import crd


class _DispatchOnce(RawHandler):
    """kmock finds the reaction for a request by replaying its whole request log through each
    reaction's filter (`request in payload._source`), so every request costs O(requests served
    so far) — quadratic over a run, which swamps any benchmark. The emulator's own reactions
    depend only on the action; for Kubernetes resource requests, the reaction chosen for the
    first request of an action is reused for the next ones of that action."""

    async def _handle(self, request: Any) -> Any:
        if request.resource is None:
            return await super()._handle(request)
        chosen = self.__dict__.setdefault("_chosen_payloads", {})  # per emulator instance
        payload = chosen.get(request.action)
        if payload is None:
            payload = self._first_match(request)
            if payload is None:
                return await super()._handle(request)
            chosen[request.action] = payload
        return await payload(request)

    def _first_match(self, request: Any) -> Any:
        """kmock's order: highest priority first, shorter priorities padded with zeros."""
        width = max((len(p.priorities) for p in self._payloads), default=0)
        ordered = sorted(
            self._payloads, key=lambda p: tuple(-x for x in p.priorities) + (0,) * (width - len(p.priorities))
        )
        return next((p for p in ordered if request in p._source and not p._disabled.is_set()), None)


class Emulator(KubernetesEmulator, _DispatchOnce):
    """Fills the metadata a real API server sets on create (kmock leaves it out), and answers
    in time independent of how many requests it has served."""

    def _KubernetesEmulator__get_objs(self, request: Any, strict: bool) -> list[Any]:
        """A named object by its key (kmock scans every stored object for each request)."""
        if request.name is not None and (strict or request.namespace is not None):
            found = self._objects._objects.get((request.resource, request.namespace, request.name))
            return [found] if found is not None else []
        return super()._KubernetesEmulator__get_objs(request, strict)  # type: ignore[misc]

    async def _handle(self, request: Any) -> Any:
        if (
            request.resource is not None
            and request.action == action.CREATE
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
