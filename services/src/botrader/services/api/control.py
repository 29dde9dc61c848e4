"""Control of bots from the API. The API never flips state itself: it asks a controller to
do what editing the resource would do. In embedded mode (`botrader up`) that is the local
trader; in a cluster it patches the TradingBot's spec and the operator reconciles, exactly as
after `kubectl patch`. Without one, control endpoints answer 409."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any, Protocol

import httpx

from botrader.core.phases import bot_phase
from botrader.services.api.settings import ApiSettings


class ControlError(RuntimeError):
    """The controller could not do it (e.g. the TradingBot is not in the cluster)."""


class Controller(Protocol):
    def bots(self) -> set[str] | None:
        """Names this controller drives; None: any bot (the cluster decides)."""
        ...

    def apply(
        self, bot: str, *, paused: bool, emergency_stop: bool, actor: str, namespace: str = "default"
    ) -> dict[str, Any]: ...


class LocalController:
    """Drives PaperTrader objects running in this process (embedded mode)."""

    def __init__(self) -> None:
        self.traders: dict[str, Any] = {}

    def register(self, trader: Any) -> None:
        self.traders[trader.bot.name] = trader

    def bots(self) -> set[str]:
        return set(self.traders)

    def apply(
        self, bot: str, *, paused: bool, emergency_stop: bool, actor: str, namespace: str = "default"
    ) -> dict[str, Any]:
        trader = self.traders[bot]
        trader.set_controls(paused, emergency_stop, actor=actor)
        trader.checkpoint([], [], [])  # the new phase is visible at once
        return {"phase": trader.phase}


SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")
FIELD_MANAGER = "botrader-api"  # what managedFields (and the operator's audit row) name as the writer


class KubernetesController:
    """Patches TradingBots through the Kubernetes API (in a pod: its service account; for
    development, `kubectl proxy`'s URL). Each action is one merge patch of spec.paused and
    spec.emergencyStop, audited here with the caller and by the operator as a spec change."""

    def __init__(
        self, base_url: str, token: str | None = None, ca: str | None = None, store: Any = None
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca) if ca else True
        self.http = httpx.Client(base_url=base_url, headers=headers, verify=verify, timeout=10)
        self.store = store  # TradingStore: the audit log

    @classmethod
    def from_settings(cls, settings: ApiSettings, store: Any = None) -> KubernetesController:
        """`BOTRADER_KUBE_API` (e.g. `kubectl proxy` at http://127.0.0.1:8001), else in-cluster
        (the pod's service account; Kubernetes sets KUBERNETES_SERVICE_HOST/PORT)."""
        if settings.kube_api:
            return cls(settings.kube_api, store=store)
        if not settings.kubernetes_service_host:
            raise ControlError("not in a cluster: set BOTRADER_KUBE_API (e.g. the URL of `kubectl proxy`)")
        token = (SERVICE_ACCOUNT / "token").read_text().strip()
        url = f"https://{settings.kubernetes_service_host}:{settings.kubernetes_service_port}"
        return cls(url, token, str(SERVICE_ACCOUNT / "ca.crt"), store)

    def bots(self) -> set[str] | None:
        return None

    def apply(
        self, bot: str, *, paused: bool, emergency_stop: bool, actor: str, namespace: str = "default"
    ) -> dict[str, Any]:
        path = f"/apis/botrader.io/v1alpha1/namespaces/{namespace}/tradingbots/{bot}"
        current = self.http.get(path)
        if current.status_code == 404:
            raise ControlError(f"TradingBot {namespace}/{bot} is not in the cluster")
        current.raise_for_status()
        spec = current.json().get("spec") or {}
        before = {"paused": bool(spec.get("paused")), "emergencyStop": bool(spec.get("emergencyStop"))}
        after = {"paused": paused, "emergencyStop": emergency_stop}
        response = self.http.patch(
            path,
            params={"fieldManager": FIELD_MANAGER},
            json={"spec": after},
            headers={"Content-Type": "application/merge-patch+json"},
        )
        response.raise_for_status()
        if self.store is not None:
            self.store.audit(actor, bot, "controls", before, after)
        phase = bot_phase(paused=paused, halted=emergency_stop)
        return {"phase": phase}  # what the operator will reconcile the bot to
