"""Builders, checked without a cluster: names, labels, owner-free manifests, probes,
security contexts, Secrets for credentials, the config hash and the training commands."""

import copy

import pytest
import yaml

from botrader.operator import builders, status, training
from botrader.operator.settings import OperatorSettings
from botrader.operator.spec import Bot, SpecInvalid
from tests.support.paths import REPO

S = OperatorSettings()
SPEC = yaml.safe_load((REPO / "examples" / "tradingbot-rsi.yaml").read_text())["spec"]


def bot(spec: dict, name: str = "btc-rsi", namespace: str = "bots") -> Bot:
    return Bot.of(name, namespace, spec)


def phase(spec: dict, trader_ready: bool, breakers: dict, trader_failed: bool = False) -> str:
    typed = bot({**SPEC, **spec}).spec
    trader = {
        "spec": {"replicas": 1},
        "status": {"readyReplicas": int(trader_ready)}
        | (
            {"conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]}
            if trader_failed
            else {}
        ),
    }
    inputs = status.BotInputs(
        paused=typed.paused, emergency=typed.emergency_stop, trader=trader, breakers=breakers
    )
    return status.bot_status(inputs).phase


def test_children_of_a_bot() -> None:
    kinds = [(c["kind"], c["metadata"]["name"]) for c in builders.bot_children(bot(SPEC), S)]
    assert kinds == [
        ("ConfigMap", "btc-rsi-config"),
        ("Deployment", "collector-binance-btcusdt-1m"),
        ("Deployment", "btc-rsi-trader"),
        ("Service", "btc-rsi-metrics"),
        ("Job", "btc-rsi-backfill"),
    ]
    for child in builders.bot_children(bot(SPEC), S):
        assert child["metadata"]["namespace"] == "bots"
        assert child["metadata"]["labels"]["app.kubernetes.io/part-of"] == "botrader"


def test_pods_are_locked_down_and_probed() -> None:
    trader = builders.trader_deployment(bot(SPEC, "btc-rsi", "bots"), S)
    pod = trader["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert pod["securityContext"]["runAsNonRoot"] and pod["automountServiceAccountToken"] is False
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": 9102}
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["resources"]["limits"]["memory"] == "1Gi"
    assert container["args"] == ["trade", "--bot", "/config/bot.yaml", "--port", "9102"]
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]


def test_credentials_come_from_secrets_only() -> None:
    with pytest.raises(SpecInvalid, match=r"spec\.apiKey: .*'never-here'"):
        bot({**SPEC, "apiKey": "never-here"})  # no field of the spec carries a key
    trader = builders.trader_deployment(bot(SPEC), S)
    env = {e["name"]: e for e in trader["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["BOTRADER_DB_URL"]["valueFrom"]["secretKeyRef"] == {"name": "botrader-db", "key": "url"}
    assert env["BINANCE_API_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "botrader-binance"
    assert all("value" not in e for e in env.values())


def test_config_hash_changes_exactly_when_the_trader_must_restart() -> None:
    base = builders.config_hash(SPEC)
    assert builders.config_hash(copy.deepcopy(SPEC)) == base
    assert builders.config_hash({**SPEC, "paused": True}) == base  # pausing scales to zero instead
    assert builders.config_hash({**SPEC, "budget": 20_000}) != base
    assert builders.config_hash({**SPEC, "emergencyStop": True}) != base
    trader = builders.trader_deployment(bot(SPEC, "btc-rsi", "bots"), S)
    assert trader["spec"]["template"]["metadata"]["annotations"]["botrader.io/config-hash"] == base


def test_pause_scales_to_zero_and_ppo_uses_the_jobs_image() -> None:
    assert builders.trader_deployment(bot({**SPEC, "paused": True}, "b", "n"), S)["spec"]["replicas"] == 0
    ppo = {**SPEC, "strategy": {"type": "ppo", "modelRef": "models:/x/1"}}
    image = builders.trader_deployment(bot(ppo, "b", "n"), S)["spec"]["template"]["spec"]["containers"][0][
        "image"
    ]
    assert image == S.jobs_image


def test_collector_is_shared_by_market_and_replay_args() -> None:
    other = {**SPEC, "budget": 1}
    assert bot(SPEC).collectors == bot(other).collectors
    replay = {"symbol": "BTCUSDT", "source": "replay", "replay": {"path": "/data/c.csv.gz", "speed": 600}}
    args = builders.collector_deployment("n", bot(replay).spec, S, "BTCUSDT")["spec"]["template"]["spec"][
        "containers"
    ][0]["args"]
    assert args[-4:] == ["--replay-file", "/data/c.csv.gz", "--speed", "600"]
    assert builders.backfill_jobs(bot(replay, "b", "n"), S) == []


def test_config_map_carries_a_valid_manifest() -> None:
    from botrader.core.manifests import parse_trading_bot

    cm = builders.bot_config_map(bot(SPEC))
    read = parse_trading_bot(yaml.safe_load(cm["data"]["bot.yaml"]))
    assert read.name == "btc-rsi" and read.spec.symbol == "BTCUSDT"


def test_training_job_and_rayjob() -> None:
    spec = yaml.safe_load((REPO / "examples" / "trainingrun-btc.yaml").read_text())["spec"]
    job = training.training_job("btc-ppo", "ml", spec, S)
    script = job["spec"]["template"]["spec"]["containers"][0]["command"][2]
    assert script.startswith("botrader dataset build --symbol BTCUSDT --interval 1m --start 2025-05-30")
    assert "botrader train --data /tmp/dataset.parquet --budgets 1000,10000,50000,100000" in script
    assert "--total-timesteps 200000" in script and "--ray-address" not in script
    ray = training.ray_job("btc-ppo", "ml", {**spec, "dataset": {"path": "/d.parquet"}}, S)
    assert ray["kind"] == "RayJob" and ray["spec"]["shutdownAfterJobFinishes"] is True
    assert ray["spec"]["entrypoint"].startswith("botrader train --data /d.parquet")
    assert "--ray-address auto" in ray["spec"]["entrypoint"]


def test_status_helpers() -> None:
    assert phase({"paused": True}, False, {}) == "Paused"
    assert phase({}, True, {"max_drawdown": "x"}) == "Halted"
    assert phase({}, False, {}) == "Pending"
    assert phase({}, False, {}, trader_failed=True) == "Failed"
    stuck = {
        "status": {
            "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]
        }
    }
    assert status.failed(stuck) and not status.failed({"status": {}}) and not status.failed(None)
    first = status.merge_conditions(None, [status.condition("TraderReady", False, "ReplicasNotReady")], "t1")
    same = status.merge_conditions(first, [status.condition("TraderReady", False, "ReplicasNotReady")], "t2")
    moved = status.merge_conditions(same, [status.condition("TraderReady", True, "ReplicasReady")], "t3")
    assert [c["lastTransitionTime"] for c in (first[0], same[0], moved[0])] == ["t1", "t1", "t3"]
    assert (
        status.job_phase({"kind": "Job", "status": {"conditions": [{"type": "Complete", "status": "True"}]}})
        == "Succeeded"
    )
    assert status.job_phase({"kind": "RayJob", "status": {"jobDeploymentStatus": "Running"}}) == "Running"
    assert status.ready({"spec": {"replicas": 1}, "status": {"readyReplicas": 1}})
    assert not status.ready({"spec": {"replicas": 0}, "status": {}})


def test_training_run_conditions_carry_the_job_failure_reason() -> None:
    failed = {
        "status": {
            "conditions": [
                {"type": "Failed", "status": "True", "reason": "DeadlineExceeded", "message": "ran 2h"}
            ]
        }
    }
    assert status.run_conditions(failed, "Failed") == [
        {"type": "JobComplete", "status": "False", "reason": "DeadlineExceeded", "message": "ran 2h"}
    ]
    ray = {
        "kind": "RayJob",
        "status": {"jobDeploymentStatus": "Failed", "reason": "AppFailed", "message": "exit 1"},
    }
    assert status.job_failure(ray) == ("AppFailed", "exit 1")
    assert status.run_conditions(None, "Pending")[0]["status"] == "Unknown"
    assert status.run_conditions({"status": {}}, "Succeeded")[0]["status"] == "True"


def test_a_configmap_strategy_is_mounted_and_referenced_at_its_mount() -> None:
    spec = {
        **SPEC,
        "strategy": {
            "type": "custom",
            "ref": "sma_cross.py:SmaCross",
            "params": {"fast": 12},
            "source": {"configMap": "team-strategies", "key": "sma_cross.py"},
        },
    }
    trader = builders.trader_deployment(bot(spec, "mine", "bots"), S, strategy_hash="abc123")
    pod = trader["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert {
        "name": "strategy",
        "configMap": {"name": "team-strategies", "items": [{"key": "sma_cross.py", "path": "sma_cross.py"}]},
    } in pod["volumes"]
    assert {"name": "strategy", "mountPath": "/strategies", "readOnly": True} in container["volumeMounts"]
    assert container["args"][:3] == ["trade", "--bot", "/config/bot.yaml"]
    assert trader["spec"]["template"]["metadata"]["annotations"]["botrader.io/strategy-hash"] == "abc123"
    assert (
        container["image"] == S.services_image
        and container["terminationMessagePolicy"] == "FallbackToLogsOnError"
    )
    doc = yaml.safe_load(builders.bot_config_map(bot(spec, "mine"))["data"]["bot.yaml"])
    assert doc["spec"]["strategy"] == {
        "type": "custom",
        "ref": "/strategies/sma_cross.py:SmaCross",
        "params": {"fast": 12},
    }
    from botrader.core.manifests import parse_trading_bot

    assert (
        parse_trading_bot(doc).spec.strategy.ref == "/strategies/sma_cross.py:SmaCross"
    )  # the trader accepts it


def test_a_bot_image_carries_a_packaged_strategy() -> None:
    spec = {
        **SPEC,
        "image": "registry.example/team/bots:1.4",
        "strategy": {"type": "custom", "ref": "team.strats:Breakout"},
    }
    (container,) = builders.trader_deployment(bot(spec, "mine", "bots"), S)["spec"]["template"]["spec"][
        "containers"
    ]
    assert container["image"] == "registry.example/team/bots:1.4"
    assert all(
        v["name"] != "strategy"
        for v in builders.trader_deployment(bot(spec, "mine", "bots"), S)["spec"]["template"]["spec"][
            "volumes"
        ]
    )
    ppo = {**SPEC, "strategy": {"type": "ppo", "modelRef": "models:/m/1"}}
    assert (
        builders.trader_deployment(bot(ppo, "p", "bots"), S)["spec"]["template"]["spec"]["containers"][0][
            "image"
        ]
        == S.jobs_image
    )


def test_paused_and_emergency_stopped_is_halted_for_the_operator_too() -> None:
    spec = {**SPEC, "paused": True, "emergencyStop": True}
    assert phase(spec, trader_ready=False, breakers={}) == "Halted"
    assert phase({**SPEC, "paused": True}, trader_ready=False, breakers={"max_drawdown": "…"}) == "Halted"


def test_a_portfolio_bot_gets_one_shared_collector_per_pair_and_one_trader() -> None:
    many = bot({"symbols": ["NEARUSDT", "AVAXUSDT"], "backfill": {"start": "2025-02-01"}}, name="two")
    one = bot({**SPEC, "symbol": "AVAXUSDT"}, name="avax")
    assert list(many.collectors) == ["collector-binance-avaxusdt-1m", "collector-binance-nearusdt-1m"]
    assert set(one.collectors) <= set(many.collectors)  # shared with the one-symbol bot on AVAX
    children = builders.bot_children(many, S)
    collectors = [c for c in children if c["metadata"]["name"].startswith("collector-")]
    args = [c["spec"]["template"]["spec"]["containers"][0]["args"] for c in collectors]
    assert [a[a.index("--symbol") + 1] for a in args] == ["AVAXUSDT", "NEARUSDT"]
    assert [c["metadata"]["name"] for c in children if c["kind"] == "Job"] == [
        "two-backfill-avaxusdt",
        "two-backfill-nearusdt",
    ]
    assert [c["metadata"]["name"] for c in children if c["metadata"]["name"] == "two-trader"] == [
        "two-trader"
    ]
    with pytest.raises(SpecInvalid, match=r"spec\.universe\.candidates"):
        bot({"universe": {"topByQuoteVolume": 2}})  # a universe over every pair: nothing to collect
    by_minutes = {"topByQuoteVolume": 1, "refresh": "90m", "candidates": ["NEARUSDT", "AVAXUSDT"]}
    picked = bot({"universe": by_minutes}, name="top")  # ranked from its stored minutes
    assert list(picked.collectors) == list(many.collectors)  # every candidate collected, shared
    perp = bot(
        {"symbols": ["NEARUSDT", "AVAXUSDT"], "market": "usdm-perp", "source": "binance-usdm"}, name="pp"
    )
    assert list(perp.collectors) == [  # each pair's USD-M collector: its candles, marks and rates
        "collector-binance-usdm-avaxusdt-1m",
        "collector-binance-usdm-nearusdt-1m",
    ]


def test_a_universe_following_its_picks_collects_what_its_trader_said_and_has_no_backfill_job() -> None:
    """Live, with a lookback and refresh of whole hours, a universe ranks from the exchange's
    hours: the operator collects only the pairs its trader saved (`status.collect`) — never a
    pair outside its candidates, whatever the status says — and runs no backfill Job (the
    trader fetches a picked pair's warm-up). A replay, or a rule not of whole hours, does not
    follow: every candidate is collected."""
    pairs = ["NEARUSDT", "AVAXUSDT", "FILUSDT"]
    universe = {"topByQuoteVolume": 1, "lookback": "6h", "refresh": "1h", "candidates": pairs}
    follows = bot({"universe": universe, "backfill": {"start": "2025-02-01"}}, name="top")
    assert follows.spec.follows_picks
    assert follows.collectors == {}  # nothing said yet: nothing picked before the first refresh
    now = follows.collecting(["NEARUSDT", "DOGEUSDT"])
    assert now.collectors == {"collector-binance-nearusdt-1m": "NEARUSDT"}
    children = builders.bot_children(now, S)
    assert [c["metadata"]["name"] for c in children if c["kind"] in ("Deployment", "Job")] == [
        "collector-binance-nearusdt-1m",
        "top-trader",
    ]
    body = {"metadata": {"name": "top", "namespace": "default"}, "spec": follows.manifest}
    assert Bot.from_body({**body, "status": {"collect": ["FILUSDT"]}}).collectors == {
        "collector-binance-filusdt-1m": "FILUSDT"
    }
    for other in ({**universe, "refresh": "90m"}, {**universe, "lookback": "7d", "refresh": "1d"}):
        spec = {"universe": other}
        assert bot(spec).spec.follows_picks == (other["refresh"] == "1d")
    replay = bot({"universe": universe, "source": "replay", "replay": {"path": "x.csv"}})
    assert not replay.spec.follows_picks and len(replay.collectors) == 3
