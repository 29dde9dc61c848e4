"""A TradingBot as the operator reads it: parsed once, at the handler's edge, into the same
typed model `botrader up` uses (`botrader.core.manifests.TradingBotSpec`, defaults applied),
so the builders and the status read fields, not `.get` chains with their own defaults.

The manifest (the spec as written, with the model and parameters its references resolved to)
travels beside the typed reading: it is what the trader's ConfigMap holds and what its config
hash is computed from, so a bot whose spec did not change never rolls because the operator
reads it differently."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
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

    @classmethod
    def of(cls, name: str, namespace: str, manifest: Mapping[str, Any]) -> Bot:
        return cls(name, namespace, dict(manifest), parse_spec(manifest))

    @classmethod
    def from_body(cls, body: Any) -> Bot:
        """From a Kopf body; a spec the model refuses is a permanent error (retrying cannot
        fix it), said in one line naming the field."""
        meta = body["metadata"]
        try:
            return cls.of(meta["name"], meta["namespace"], body.get("spec") or {})
        except SpecInvalid as exc:
            raise kopf.PermanentError(str(exc)) from None

    def resolved(self, manifest: dict[str, Any]) -> Bot:
        """The same bot with its references resolved (the model URI, the searched parameters)."""
        return self if manifest == self.manifest else Bot.of(self.name, self.namespace, manifest)

    @property
    def collectors(self) -> dict[str, str]:
        """The collectors it trades on (name → pair): one, or one per pair of a portfolio."""
        return {collector_name(self.spec, s): s for s in self.spec.traded_symbols}

    @property
    def trader(self) -> str:
        return f"{self.name}-trader"


def collector_name(spec: TradingBotSpec, symbol: str) -> str:
    """One collector per source, symbol and interval in a namespace, shared by its bots."""
    return f"collector-{spec.source}-{symbol.lower()}-{spec.interval}"
