"""A TradingBot as the operator reads it: parsed once, at the handler's edge, into the same
typed model `botrader up` uses (`botrader.core.manifests.TradingBotSpec`, defaults applied),
so the builders and the status read fields, not `.get` chains with their own defaults.

The manifest (the spec as written, with the model and parameters its references resolved to)
travels beside the typed reading: it is what the trader's ConfigMap holds and what its config
hash is computed from, so a bot whose spec did not change never rolls because the operator
reads it differently."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import kopf
from pydantic import ValidationError

from botrader.core.manifests import TradingBotSpec


class SpecInvalid(ValueError):
    """The spec passed the CRD's schema but not the model (a CRD older than the operator)."""


def parse_spec(spec: Mapping[str, Any]) -> TradingBotSpec:
    try:
        parsed = TradingBotSpec.model_validate(dict(spec))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise SpecInvalid(f"spec.{where}: {first['msg']} (got {first.get('input')!r})") from None
    if parsed.not_on_paper:
        raise SpecInvalid(parsed.not_on_paper)
    return parsed


@dataclass(frozen=True)
class Bot:
    name: str
    namespace: str
    manifest: dict[str, Any]  # as written (+ resolved references): the ConfigMap and its hash
    spec: TradingBotSpec
    # following its picks (`TradingBotSpec.follows_picks`): the pairs its trader last said it
    # needs collected, as the refresh copied them to `status.collect`
    collect: tuple[str, ...] = ()

    @classmethod
    def of(cls, name: str, namespace: str, manifest: Mapping[str, Any], collect: Iterable[str] = ()) -> Bot:
        return cls(name, namespace, dict(manifest), parse_spec(manifest), tuple(collect))

    @classmethod
    def from_body(cls, body: Any) -> Bot:
        """From a Kopf body; a spec the model refuses is a permanent error (retrying cannot
        fix it), said in one line naming the field."""
        meta = body["metadata"]
        try:
            return cls.of(meta["name"], meta["namespace"], body.get("spec") or {}, collected(body))
        except SpecInvalid as exc:
            raise kopf.PermanentError(str(exc)) from None

    def resolved(self, manifest: dict[str, Any]) -> Bot:
        """The same bot with its references resolved (the model URI, the searched parameters)."""
        return (
            self if manifest == self.manifest else Bot.of(self.name, self.namespace, manifest, self.collect)
        )

    def collecting(self, pairs: Iterable[str]) -> Bot:
        """The same bot once its trader needs `pairs` collected."""
        return replace(self, collect=tuple(pairs))

    @property
    def collectors(self) -> dict[str, str]:
        """The collectors it trades on (name → pair): one, or one per pair of a portfolio — of
        a universe following its picks, only those its trader needs (never a pair outside its
        candidates, whatever the status says)."""
        pairs = self.spec.traded_symbols
        if self.spec.follows_picks:
            pairs = [s for s in pairs if s in self.collect]
        return {collector_name(self.spec, s): s for s in pairs}

    @property
    def trader(self) -> str:
        return f"{self.name}-trader"


def collected(body: Any) -> list[str]:
    """`status.collect` of a TradingBot's body: what its trader last said it needs."""
    return list((body.get("status") or {}).get("collect") or [])


def collector_name(spec: TradingBotSpec, symbol: str) -> str:
    """One collector per source, symbol and interval in a namespace, shared by its bots."""
    return f"collector-{spec.source}-{symbol.lower()}-{spec.interval}"
