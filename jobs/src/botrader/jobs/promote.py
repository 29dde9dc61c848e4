"""Promotion through MLflow aliases: every trained version is registered as @challenger with its
honesty card on it (tags); `botrader promote` moves @champion to a version only when that card
passes the gate, or when forced with a reason — and every promotion is an audit row."""

from __future__ import annotations

import getpass
import json
from dataclasses import dataclass
from typing import Any

from botrader.core.errors import UserError
from botrader.core.mlflow_names import PREFIX
from botrader.core.research.card import Gate

CHALLENGER, CHAMPION = "challenger", "champion"
TAG = PREFIX  # version tags: botrader.pbo, botrader.dsr, botrader.passes, botrader.verdict


def tag_card(client: Any, name: str, version: str, card: dict[str, Any]) -> None:
    for key in ("pbo", "dsr", "psr", "verdict", "passes", "trials"):
        value = card.get(key)
        client.set_model_version_tag(
            name, version, TAG + key, json.dumps(value) if key != "verdict" else value
        )


@dataclass(frozen=True, slots=True)
class Promotion:
    model: str
    version: str
    previous: str | None
    verdict: str
    passes: bool
    forced: bool
    reason: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "version": self.version,
            "previous": self.previous,
            "alias": CHAMPION,
            "uri": f"models:/{self.model}@{CHAMPION}",
            "verdict": self.verdict,
            "passes": self.passes,
            "forced": self.forced,
            "reason": self.reason,
        }


class Refused(Exception):
    """The card does not pass the gate and the promotion was not forced."""


def _version(client: Any, model: str, version: str | None) -> Any:
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(model)
    except MlflowException:
        known = ", ".join(sorted(m.name for m in client.search_registered_models())) or "none"
        raise UserError(f"no registered model {model!r} (registered: {known})") from None
    try:
        return (
            client.get_model_version_by_alias(model, CHALLENGER)
            if version is None
            else client.get_model_version(model, version)
        )
    except MlflowException:
        what = f"@{CHALLENGER}" if version is None else f"version {version}"
        raise UserError(f"{model} has no {what}") from None


def _passes(tags: dict[str, str], gate: Gate) -> bool:
    pbo, dsr = (json.loads(tags.get(TAG + k, "null")) for k in ("pbo", "dsr"))
    return pbo is not None and dsr is not None and pbo <= gate.max_pbo and dsr >= gate.min_dsr


def promote(
    uri: str, model: str, version: str | None, gate: Gate, force: bool, reason: str | None, db_url: str | None
) -> Promotion:
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    if force and not (reason or "").strip():
        raise UserError("--force needs --reason TEXT: a forced promotion is audited with why")
    client = MlflowClient(tracking_uri=uri)
    found = _version(client, model, version)
    tags = dict(found.tags or {})
    verdict = tags.get(TAG + "verdict", "no card: this version was registered without one")
    passes = _passes(tags, gate)
    if not passes and not force:
        raise Refused(
            f"refused: {model} version {found.version}: {verdict} (--force --reason TEXT to promote anyway)"
        )
    try:
        previous = str(client.get_model_version_by_alias(model, CHAMPION).version)
    except MlflowException:
        previous = None
    client.set_registered_model_alias(model, CHAMPION, found.version)
    if force and not passes:
        client.set_model_version_tag(model, found.version, TAG + "forced_reason", reason)
    done = Promotion(model, str(found.version), previous, verdict, passes, force and not passes, reason)
    _audit(db_url, done)
    return done


def _audit(db_url: str | None, done: Promotion) -> None:
    from botrader.core import settings
    from botrader.core.db import connect, upgrade
    from botrader.core.db.trading import TradingStore

    engine = connect(settings.db_url(db_url))
    upgrade(engine)
    after = {"champion": done.version, "forced": done.forced, "reason": done.reason, "verdict": done.verdict}
    TradingStore(engine).audit(
        f"cli:{getpass.getuser()}", done.model, "promote", {"champion": done.previous}, after
    )
