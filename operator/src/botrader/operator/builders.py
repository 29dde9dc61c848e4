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

from botrader.core.manifests import TradingBotSpec
from botrader.operator.settings import OperatorSettings
from botrader.operator.spec import Bot, collector_name
from botrader.operator.strategy_source import MOUNT, mounted

PART_OF, MANAGED_BY = "botrader", "botrader-operator"
CONFIG_HASH = "botrader.io/config-hash"  # on the trader's pod template: a change rolls it
TRADER_PORT, COLLECTOR_PORT = 9102, 9101


def owner_ref(body: Any, controller: bool) -> dict[str, Any]:
    return {
        "apiVersion": body["apiVersion"],
        "kind": body["kind"],
        "name": body["metadata"]["name"],
        "uid": body["metadata"]["uid"],
        "controller": controller,
        "blockOwnerDeletion": True,
    }


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


def bot_config_map(bot: Bot) -> dict[str, Any]:
    """The bot's manifest as the trader reads it (`botrader trade --bot /config/bot.yaml`); a
    strategy from a ConfigMap is referenced at its mount path."""
    name, namespace = bot.name, bot.namespace
    doc = {
        "apiVersion": "botrader.io/v1alpha1",
        "kind": "TradingBot",
        "metadata": {"name": name, "namespace": namespace},
        "spec": mounted(bot.manifest),
    }
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": f"{name}-config",
            "namespace": namespace,
            "labels": labels(name, "config"),
            "annotations": {CONFIG_HASH: config_hash(bot.manifest)},
        },
        "data": {"bot.yaml": yaml.safe_dump(doc, sort_keys=True)},
    }


def trader_image(spec: TradingBotSpec, settings: OperatorSettings) -> str:
    """The bot's own image (a user's package installed), else the jobs image for ppo (torch
    lives there), else the services image."""
    if spec.image:
        return spec.image
    return settings.jobs_image if spec.strategy.type == "ppo" else settings.services_image


def _strategy_volume(spec: TradingBotSpec) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    source = spec.strategy.source
    if source is None:
        return [], []
    volume = {
        "name": "strategy",
        "configMap": {"name": source.config_map, "items": [{"key": source.key, "path": source.key}]},
    }
    return [volume], [{"name": "strategy", "mountPath": MOUNT, "readOnly": True}]


VENUE_KEYS_DIR = "/var/run/secrets/botrader.io/venue"


def _venue_credentials(
    spec: TradingBotSpec, settings: OperatorSettings
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """A venue bot's keys: its Secret mounted read-only as files (never environment variables,
    which `kubectl describe` and crash dumps show), and the directory's path — not the keys —
    in the environment. (volumes, mounts, env)."""
    venue = spec.venue
    if not venue.on_exchange or venue.credentials is None:
        return [], [], []
    secret = venue.credentials.secret
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
    bot: Bot, settings: OperatorSettings, hold: bool = False, strategy_hash: str | None = None
) -> dict[str, Any]:
    """`hold`: the trader waits at zero replicas (a PPO bot whose model is not trained yet, a
    strategy that cannot run). `strategy_hash`: the mounted strategy file's, so an edit rolls it."""
    name, namespace, spec = bot.name, bot.namespace, bot.spec
    volumes, mounts = _strategy_volume(spec)
    venue_volumes, venue_mounts, venue_env = _venue_credentials(spec, settings)
    template = _pod(
        f"{name}-trader",
        "trader",
        name,
        trader_image(spec, settings),
        ["trade", "--bot", "/config/bot.yaml", "--port", str(TRADER_PORT)],
        TRADER_PORT,
        _env(settings, with_keys=spec.live) + venue_env,
        volumes=[{"name": "config", "configMap": {"name": f"{name}-config"}}, *volumes, *venue_volumes],
        mounts=[{"name": "config", "mountPath": "/config", "readOnly": True}, *mounts, *venue_mounts],
    )
    template["metadata"]["annotations"] = {CONFIG_HASH: config_hash(bot.manifest)}
    if strategy_hash:
        template["metadata"]["annotations"]["botrader.io/strategy-hash"] = strategy_hash
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": f"{name}-trader", "namespace": namespace, "labels": labels(name, "trader")},
        "spec": {
            "replicas": 0 if spec.paused or hold else 1,
            "progressDeadlineSeconds": 300,  # then Progressing=False: the bot's phase becomes Failed
            "strategy": {"type": "Recreate"},  # never two traders for one bot
            "selector": {
                "matchLabels": {"app.kubernetes.io/instance": name, "app.kubernetes.io/component": "trader"}
            },
            "template": template,
        },
    }


COLLECTOR_HASH = "botrader.io/collector-hash"


def _number(value: float) -> str:
    """A float as the manifest would write it (60.0 → "60"), so the collector's arguments and
    its hash do not change with the operator's reading of the spec."""
    return f"{value:g}"


def collector_deployment(
    namespace: str, spec: TradingBotSpec, settings: OperatorSettings, symbol: str
) -> dict[str, Any]:
    """`symbol`'s collector, shared by every bot on the same source/symbol/interval, owned by
    none of them (`botrader.operator.collectors` keeps it); its annotation changes exactly when
    it must be applied again. A portfolio's replay path is a folder: each pair replays its file."""
    name = collector_name(spec, symbol)
    args = [
        "collect",
        "--symbol",
        symbol,
        "--interval",
        spec.interval,
        "--source",
        spec.source,
        "--port",
        str(COLLECTOR_PORT),
    ]
    replay = spec.replay
    if spec.source == "replay" and replay is not None:
        args += ["--replay-file", replay.path, "--speed", _number(replay.speed)]
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


def backfill_jobs(bot: Bot, settings: OperatorSettings) -> list[dict[str, Any]]:
    """One backfill Job per pair the bot trades (none on replay, or without backfill.start;
    none for a universe following its picks: its trader fetches a picked pair's warm-up)."""
    start = bot.spec.backfill.start if bot.spec.backfill is not None else None
    if not start or bot.spec.source == "replay" or bot.spec.follows_picks:
        return []
    many = bot.spec.is_portfolio
    return [
        backfill_job(bot, settings, s, start, f"-{s.lower()}" if many else "")
        for s in bot.spec.traded_symbols
    ]


def backfill_job(
    bot: Bot, settings: OperatorSettings, symbol: str, start: str, suffix: str
) -> dict[str, Any]:
    name, namespace, spec = bot.name, bot.namespace, bot.spec
    args = [
        "backfill",
        "--symbol",
        symbol,
        "--interval",
        spec.interval,
        "--start",
        start,
        "--source",
        spec.source,
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
        "metadata": {
            "name": f"{name}-backfill{suffix}",
            "namespace": namespace,
            "labels": labels(name, "backfill"),
        },
        "spec": {"backoffLimit": 6, "ttlSecondsAfterFinished": 86400, "template": template},
    }


def bot_children(
    bot: Bot, settings: OperatorSettings, hold: bool = False, strategy_hash: str | None = None
) -> list[dict[str, Any]]:
    children = [
        bot_config_map(bot),
        *(collector_deployment(bot.namespace, bot.spec, settings, s) for s in bot.collectors.values()),
        trader_deployment(bot, settings, hold, strategy_hash),
        metrics_service(bot.name, bot.namespace),
    ]
    return [*children, *backfill_jobs(bot, settings)]
