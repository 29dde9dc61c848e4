"""Pure builders: a resource's spec in, the child manifests it needs out. No API calls here —
the handlers apply what these return, and the tests check them without a cluster.

Every pod runs as non-root with a read-only root filesystem (writable /tmp only), drops all
capabilities, and gets its database URL and API keys from Secrets, never from the spec.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import yaml

from botrader.operator.settings import OperatorSettings
from botrader.operator.strategy_source import MOUNT, configured, mounted

PART_OF, MANAGED_BY = "botrader", "botrader-operator"
TRADER_PORT, COLLECTOR_PORT = 9102, 9101


def labels(instance: str, component: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "botrader",
        "app.kubernetes.io/instance": instance,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }


def config_hash(spec: dict[str, Any]) -> str:
    """Changes exactly when the trader must restart: any spec field except `paused`
    (pausing scales the trader to zero instead)."""
    relevant = {k: v for k, v in spec.items() if k != "paused"}
    return hashlib.sha256(json.dumps(relevant, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[
        :16
    ]


def collector_name(spec: dict[str, Any]) -> str:
    return f"collector-{spec.get('source', 'binance')}-{spec['symbol'].lower()}-{spec.get('interval', '1m')}"


def _security() -> tuple[dict[str, Any], dict[str, Any]]:
    pod = {
        "runAsNonRoot": True,
        "runAsUser": 10001,
        "runAsGroup": 10001,
        "fsGroup": 10001,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    container = {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }
    return pod, container


def _probes(port: int) -> dict[str, Any]:
    return {
        "livenessProbe": {
            "httpGet": {"path": "/healthz", "port": port},
            "periodSeconds": 10,
            "failureThreshold": 3,
        },
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": port}, "periodSeconds": 5},
    }


def _env(settings: OperatorSettings, with_keys: bool) -> list[dict[str, Any]]:
    env = [
        {"name": "BOTRADER_DB_URL", "valueFrom": {"secretKeyRef": {"name": settings.db_secret, "key": "url"}}}
    ]
    if with_keys:
        env += [
            {
                "name": name,
                "valueFrom": {
                    "secretKeyRef": {"name": settings.binance_secret, "key": key, "optional": True}
                },
            }
            for name, key in (("BINANCE_API_KEY", "api-key"), ("BINANCE_API_SECRET", "api-secret"))
        ]
    if settings.mlflow_uri:
        env.append({"name": "MLFLOW_TRACKING_URI", "value": settings.mlflow_uri})
    return env


def _pod(
    name: str,
    component: str,
    instance: str,
    image: str,
    args: list[str],
    port: int | None,
    env: list[dict[str, Any]],
    volumes: list[dict[str, Any]] | None = None,
    mounts: list[dict[str, Any]] | None = None,
    restart: str = "Always",
) -> dict[str, Any]:
    pod_security, container_security = _security()
    container: dict[str, Any] = {
        "name": component,
        "image": image,
        "args": args,
        "env": env,
        "securityContext": container_security,
        "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
        "terminationMessagePolicy": "FallbackToLogsOnError",  # why it stopped, in kubectl describe
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}, *(mounts or [])],
    }
    if port is not None:
        container["ports"] = [{"name": "metrics", "containerPort": port}]
        container.update(_probes(port))
    return {
        "metadata": {"labels": labels(instance, component)},
        "spec": {
            "securityContext": pod_security,
            "restartPolicy": restart,
            "automountServiceAccountToken": False,
            "containers": [container],
            "volumes": [{"name": "tmp", "emptyDir": {}}, *(volumes or [])],
        },
    }


def bot_config_map(name: str, namespace: str, spec: dict[str, Any]) -> dict[str, Any]:
    """The bot's manifest as the trader reads it (`botrader trade --bot /config/bot.yaml`); a
    strategy from a ConfigMap is referenced at its mount path."""
    doc = {
        "apiVersion": "botrader.io/v1alpha1",
        "kind": "TradingBot",
        "metadata": {"name": name, "namespace": namespace},
        "spec": mounted(spec),
    }
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": f"{name}-config",
            "namespace": namespace,
            "labels": labels(name, "config"),
            "annotations": {"botrader.io/config-hash": config_hash(spec)},
        },
        "data": {"bot.yaml": yaml.safe_dump(doc, sort_keys=True)},
    }


def trader_image(spec: dict[str, Any], settings: OperatorSettings) -> str:
    """The bot's own image (a user's package installed), else the jobs image for ppo (torch
    lives there), else the services image."""
    if spec.get("image"):
        return str(spec["image"])
    return (
        settings.jobs_image if (spec.get("strategy") or {}).get("type") == "ppo" else settings.services_image
    )


def _strategy_volume(spec: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    source = configured(spec)
    if not source:
        return [], []
    volume = {
        "name": "strategy",
        "configMap": {"name": source["configMap"], "items": [{"key": source["key"], "path": source["key"]}]},
    }
    return [volume], [{"name": "strategy", "mountPath": MOUNT, "readOnly": True}]


VENUE_KEYS_DIR = "/var/run/secrets/botrader.io/venue"


def _venue_credentials(
    spec: dict[str, Any], settings: OperatorSettings
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """A venue bot's keys: its Secret mounted read-only as files (never environment variables,
    which `kubectl describe` and crash dumps show), and the directory's path — not the keys —
    in the environment. (volumes, mounts, env)."""
    venue = spec.get("venue") or {}
    secret = (venue.get("credentials") or {}).get("secret")
    if venue.get("type", "paper") == "paper" or not secret:
        return [], [], []
    volume = {"name": "venue-credentials", "secret": {"secretName": secret, "defaultMode": 0o440}}
    mount = {"name": "venue-credentials", "mountPath": VENUE_KEYS_DIR, "readOnly": True}
    env = [{"name": "BOTRADER_VENUE_CREDENTIALS_DIR", "value": VENUE_KEYS_DIR}]
    for name, value in (
        ("BOTRADER_VENUE_REST_URL", settings.venue_rest_url),
        ("BOTRADER_VENUE_WS_API_URL", settings.venue_ws_api_url),
    ):
        if value:
            env.append({"name": name, "value": value})
    return [volume], [mount], env


def trader_deployment(
    name: str,
    namespace: str,
    spec: dict[str, Any],
    settings: OperatorSettings,
    hold: bool = False,
    strategy_hash: str | None = None,
) -> dict[str, Any]:
    """`hold`: the trader waits at zero replicas (a PPO bot whose model is not trained yet, a
    strategy that cannot run). `strategy_hash`: the mounted strategy file's, so an edit rolls it."""
    volumes, mounts = _strategy_volume(spec)
    venue_volumes, venue_mounts, venue_env = _venue_credentials(spec, settings)
    template = _pod(
        f"{name}-trader",
        "trader",
        name,
        trader_image(spec, settings),
        ["trade", "--bot", "/config/bot.yaml", "--port", str(TRADER_PORT)],
        TRADER_PORT,
        _env(settings, with_keys=spec.get("source", "binance") != "replay") + venue_env,
        volumes=[{"name": "config", "configMap": {"name": f"{name}-config"}}, *volumes, *venue_volumes],
        mounts=[{"name": "config", "mountPath": "/config", "readOnly": True}, *mounts, *venue_mounts],
    )
    template["metadata"]["annotations"] = {"botrader.io/config-hash": config_hash(spec)}
    if strategy_hash:
        template["metadata"]["annotations"]["botrader.io/strategy-hash"] = strategy_hash
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": f"{name}-trader", "namespace": namespace, "labels": labels(name, "trader")},
        "spec": {
            "replicas": 0 if spec.get("paused") or hold else 1,
            "progressDeadlineSeconds": 300,  # then Progressing=False: the bot's phase becomes Failed
            "strategy": {"type": "Recreate"},  # never two traders for one bot
            "selector": {
                "matchLabels": {"app.kubernetes.io/instance": name, "app.kubernetes.io/component": "trader"}
            },
            "template": template,
        },
    }


COLLECTOR_HASH = "botrader.io/collector-hash"


def collector_deployment(namespace: str, spec: dict[str, Any], settings: OperatorSettings) -> dict[str, Any]:
    """Shared by every bot on the same source/symbol/interval, owned by none of them
    (`botrader.operator.collectors` keeps it); its annotation changes exactly when it must be
    applied again."""
    name = collector_name(spec)
    args = [
        "collect",
        "--symbol",
        spec["symbol"],
        "--interval",
        spec.get("interval", "1m"),
        "--source",
        spec.get("source", "binance"),
        "--port",
        str(COLLECTOR_PORT),
    ]
    replay = spec.get("replay")
    if spec.get("source") == "replay" and replay:
        args += ["--replay-file", replay["path"], "--speed", str(replay.get("speed", 60))]
    found = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": labels(name, "collector")},
        "spec": {
            "replicas": 1,
            "strategy": {"type": "Recreate"},
            "selector": {
                "matchLabels": {
                    "app.kubernetes.io/instance": name,
                    "app.kubernetes.io/component": "collector",
                }
            },
            "template": _pod(
                name,
                "collector",
                name,
                settings.services_image,
                args,
                COLLECTOR_PORT,
                _env(settings, with_keys=False),
            ),
        },
    }
    found["metadata"]["annotations"] = {COLLECTOR_HASH: config_hash(found["spec"])}
    return found


def metrics_service(name: str, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": f"{name}-metrics", "namespace": namespace, "labels": labels(name, "trader")},
        "spec": {
            "selector": {"app.kubernetes.io/instance": name, "app.kubernetes.io/component": "trader"},
            "ports": [{"name": "metrics", "port": TRADER_PORT, "targetPort": "metrics"}],
        },
    }


def backfill_job(
    name: str, namespace: str, spec: dict[str, Any], settings: OperatorSettings
) -> dict[str, Any] | None:
    start = (spec.get("backfill") or {}).get("start")
    if not start or spec.get("source") == "replay":
        return None
    args = [
        "backfill",
        "--symbol",
        spec["symbol"],
        "--interval",
        spec.get("interval", "1m"),
        "--start",
        start,
        "--source",
        spec.get("source", "binance"),
    ]
    template = _pod(
        f"{name}-backfill",
        "backfill",
        name,
        settings.services_image,
        args,
        None,
        _env(settings, with_keys=False),
        restart="OnFailure",
    )
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": f"{name}-backfill", "namespace": namespace, "labels": labels(name, "backfill")},
        "spec": {"backoffLimit": 6, "ttlSecondsAfterFinished": 86400, "template": template},
    }


def bot_children(
    name: str,
    namespace: str,
    spec: dict[str, Any],
    settings: OperatorSettings,
    hold: bool = False,
    strategy_hash: str | None = None,
) -> list[dict[str, Any]]:
    children = [
        bot_config_map(name, namespace, spec),
        collector_deployment(namespace, spec, settings),
        trader_deployment(name, namespace, spec, settings, hold, strategy_hash),
        metrics_service(name, namespace),
    ]
    job = backfill_job(name, namespace, spec, settings)
    return [*children, job] if job else children
