"""A TradingBot's references on a real control plane: a PPO bot waits for its TrainingRun and
then trades its model, follows a champion alias as it moves, and takes its parameters from an
OptimizationRun once the search's verdict passes."""

from __future__ import annotations

import pytest
import yaml

from botrader.operator import builders
from tests.support.cluster import (
    apply,
    conditions,
    get,
    kubectl,
    operator_process,
    trading_bot,
    wait,
    wait_condition,
    wait_phase,
)
from tests.support.paths import REPO


@pytest.mark.slow
def test_a_ppo_bot_waits_for_its_training_run_then_trades_its_model(cluster) -> None:
    plane, identity, workdir, _ = cluster
    ppo = yaml.safe_load((REPO / "examples" / "tradingbot-ppo.yaml").read_text())
    ppo["metadata"] = {"name": "ppo-bot", "namespace": "default"}
    ppo["spec"]["strategy"]["modelRef"] = "ppo-run"
    run = yaml.safe_load((REPO / "examples" / "trainingrun-btc.yaml").read_text())
    run["metadata"] = {"name": "ppo-run", "namespace": "default"}
    with operator_process(plane, identity, workdir, "--standalone"):
        apply(plane, [ppo])
        wait_condition(plane, "TradingBot", "ppo-bot", "ModelReady", reason="TrainingRunNotFound")
        assert get(plane, "Deployment", "ppo-bot-trader")["spec"]["replicas"] == 0
        apply(plane, [run])
        wait_phase(plane, "TrainingRun", "ppo-run", "Succeeded", 90)
        results = [
            {"budget": b, "runId": f"r{b}", "modelUri": f"models:/botrader-ppo-BTCUSDT-1m-{b}/1"}
            for b in (1000, 10000)
        ]
        kubectl(
            plane,
            "patch",
            "trainingrun",
            "ppo-run",
            "--subresource=status",
            "--type=merge",
            "-p",
            __import__("json").dumps({"status": {"results": results}}),
        )  # what MLflow would give
        wait(
            lambda: get(plane, "Deployment", "ppo-bot-trader")["spec"]["replicas"] == 1,
            "trades its model",
            60,
        )
        wait(  # the status patch lands after the Deployment's
            lambda: (
                get(plane, "TradingBot", "ppo-bot")["status"].get("modelUri")
                == "models:/botrader-ppo-BTCUSDT-1m-10000/1"
            ),
            "the bot's status names the model",
            30,
        )
        config = yaml.safe_load(get(plane, "ConfigMap", "ppo-bot-config")["data"]["bot.yaml"])
        assert config["spec"]["strategy"]["modelRef"] == "models:/botrader-ppo-BTCUSDT-1m-10000/1"
        kubectl(plane, "delete", "tradingbot", "ppo-bot", "--wait=true")


@pytest.mark.slow
def test_a_bot_takes_its_params_from_a_search_once_the_verdict_passes(cluster) -> None:
    """paramsFrom: the trader holds at zero replicas (ParamsReady=False, with the reason) while
    the search is missing, then while its card fails the gate; once it passes, the trader runs
    the best parameters under the manifest's own, and no reference is left in its config."""
    import json

    plane, identity, workdir, _ = cluster
    searched = trading_bot(
        "rsi-tuned",
        strategy={"type": "simple_rsi", "params": {"period": 9}, "paramsFrom": {"optimizationRun": "tuning"}},
    )
    search = yaml.safe_load((REPO / "examples" / "optimizationrun-rsi.yaml").read_text())
    search["metadata"] = {"name": "tuning", "namespace": "default"}

    def card(**fields: object) -> None:  # what the search's MLflow run would give
        kubectl(
            plane,
            "patch",
            "optimizationrun",
            "tuning",
            "--subresource=status",
            "--type=merge",
            "-p",
            json.dumps({"status": fields}),
        )

    def params_reason() -> str:
        return conditions(plane, "TradingBot", "rsi-tuned")["ParamsReady"]["reason"]

    with operator_process(plane, identity, workdir, "--standalone"):
        apply(plane, [searched])
        wait(lambda: params_reason() == "OptimizationRunNotFound", "waits for the search")
        assert get(plane, "Deployment", "rsi-tuned-trader")["spec"]["replicas"] == 0
        apply(plane, [search])
        wait_phase(plane, "OptimizationRun", "tuning", "Succeeded", 90)
        card(
            verdict="no evidence of skill: PBO 0.62, DSR 0.08 over 200 trials",
            passes=False,
            bestParams={"oversold": 25},
        )
        wait(lambda: params_reason() == "VerdictFailed", "refuses a failing card")
        assert get(plane, "Deployment", "rsi-tuned-trader")["spec"]["replicas"] == 0
        best = {"oversold": 21.5, "overbought": 78.0, "period": 27}
        card(verdict="evidence of skill: PBO 0.10, DSR 0.93 over 200 trials", passes=True, bestParams=best)
        wait(lambda: get(plane, "Deployment", "rsi-tuned-trader")["spec"]["replicas"] == 1, "trades", 60)
        wait(lambda: params_reason() == "Resolved", "ParamsReady")
        config = yaml.safe_load(get(plane, "ConfigMap", "rsi-tuned-config")["data"]["bot.yaml"])
        assert config["spec"]["strategy"]["params"] == {"oversold": 21.5, "overbought": 78.0, "period": 9}
        assert "paramsFrom" not in config["spec"]["strategy"]
        wait(lambda: get(plane, "TradingBot", "rsi-tuned")["status"].get("searchedParams") == best, "status")
        kubectl(plane, "delete", "tradingbot", "rsi-tuned", "--wait=true")
        kubectl(plane, "delete", "optimizationrun", "tuning", "--wait=true")


@pytest.mark.slow
def test_a_ppo_bot_on_champion_rolls_when_the_alias_moves(cluster) -> None:
    """modelRef models:/NAME@champion: the operator resolves the alias on a real `mlflow
    server` to a version URI for the trader's config; `botrader promote` moving the alias rolls
    the trader (a new config hash) onto the new version."""
    from mlflow import MlflowClient

    from tests.support.servers import MlflowServer

    plane, identity, workdir, _ = cluster
    server = MlflowServer().start()
    try:
        client = MlflowClient(tracking_uri=server.url)
        experiment = client.create_experiment("aliases")
        client.create_registered_model("ppo-champ")
        for _ in range(2):
            run = client.create_run(experiment).info.run_id
            client.create_model_version("ppo-champ", f"runs:/{run}/model", run_id=run)
        client.set_registered_model_alias("ppo-champ", "champion", "1")
        ppo = yaml.safe_load((REPO / "examples" / "tradingbot-ppo.yaml").read_text())
        ppo["metadata"] = {"name": "ppo-champ", "namespace": "default"}
        ppo["spec"]["strategy"]["modelRef"] = "models:/ppo-champ@champion"

        def traded() -> str:
            config = yaml.safe_load(get(plane, "ConfigMap", "ppo-champ-config")["data"]["bot.yaml"])
            return config["spec"]["strategy"]["modelRef"]

        def config_hash() -> str | None:
            """The trader's config hash (None until it exists: the children are applied
            concurrently, so the ConfigMap may come first)."""
            found = get(plane, "Deployment", "ppo-champ-trader")
            return found and found["spec"]["template"]["metadata"]["annotations"][builders.CONFIG_HASH]

        with operator_process(
            plane, identity, workdir, "--standalone", env={"MLFLOW_TRACKING_URI": server.url}
        ):
            apply(plane, [ppo])
            wait(lambda: traded() == "models:/ppo-champ/1", "the trader runs version 1")
            first = wait(config_hash, "the trader Deployment")
            client.set_registered_model_alias("ppo-champ", "champion", "2")  # what botrader promote does
            wait(lambda: traded() == "models:/ppo-champ/2", "the trader follows the alias", 60)
            wait(lambda: config_hash() != first, "and rolls")
            wait(
                lambda: (
                    get(plane, "TradingBot", "ppo-champ")["status"].get("modelUri") == "models:/ppo-champ/2"
                ),
                "status",
            )
            kubectl(plane, "delete", "tradingbot", "ppo-champ", "--wait=true")
    finally:
        server.stop()
