"""A PPO bot's modelRef naming a TrainingRun: resolved to the run's model for the bot's
budget, or a reason to wait that a user can act on."""

from botrader.core import modelref as models
from botrader.operator import builders
from botrader.operator.settings import OperatorSettings
from botrader.operator.spec import Bot

SPEC = {"symbol": "BTCUSDT", "budget": 10000, "strategy": {"type": "ppo", "modelRef": "btc-ppo"}}


def run(phase: str, *results: dict) -> dict:
    return {"status": {"phase": phase, "results": list(results)}}


def test_only_names_are_training_run_refs() -> None:
    assert models.training_run_ref(SPEC) == "btc-ppo"
    for ref in ("models:/botrader-ppo/1", "runs:/abc/model", "/models/ppo", "model.pt", "Btc"):
        assert models.training_run_ref({**SPEC, "strategy": {"type": "ppo", "modelRef": ref}}) is None
    assert models.training_run_ref({**SPEC, "strategy": {"type": "rsi", "modelRef": "btc-ppo"}}) is None


def test_resolution_and_the_reasons_to_wait() -> None:
    missing = models.resolve(SPEC, "btc-ppo", None, "trading")
    assert (missing.ready, missing.reason) == (False, "TrainingRunNotFound")
    assert missing.message == "TrainingRun btc-ppo not found in namespace trading"
    waiting = models.resolve(SPEC, "btc-ppo", run("Running"), "trading")
    assert (waiting.reason, waiting.message) == (
        "WaitingForTraining",
        "TrainingRun btc-ppo is Running; no model for 10000 yet",
    )
    failed = models.resolve(SPEC, "btc-ppo", run("Failed"), "trading")
    assert failed.reason == "TrainingRunFailed"
    other = models.resolve(
        SPEC, "btc-ppo", run("Succeeded", {"budget": 1000, "modelUri": "models:/a/1"}), "t"
    )
    assert (other.reason, other.message) == (
        "NoModelForBudget",
        "TrainingRun btc-ppo trained budgets 1000, not 10000",
    )
    done = models.resolve(
        SPEC,
        "btc-ppo",
        run(
            "Succeeded",
            {"budget": 1000, "modelUri": "models:/a/1"},
            {"budget": 10000.0, "modelUri": "models:/b/3"},
        ),
        "t",
    )
    assert (done.ready, done.model_uri) == (True, "models:/b/3")
    assert models.with_model(SPEC, "models:/b/3")["strategy"] == {"type": "ppo", "modelRef": "models:/b/3"}
    assert SPEC["strategy"]["modelRef"] == "btc-ppo"  # not mutated


def test_a_held_trader_has_no_replicas_and_the_model_rolls_it() -> None:
    settings = OperatorSettings()
    held = builders.trader_deployment(Bot.of("b", "ns", SPEC), settings, hold=True)
    assert held["spec"]["replicas"] == 0
    ready = builders.trader_deployment(Bot.of("b", "ns", models.with_model(SPEC, "models:/b/3")), settings)
    assert ready["spec"]["replicas"] == 1
    hashes = {
        d["spec"]["template"]["metadata"]["annotations"]["botrader.io/config-hash"] for d in (held, ready)
    }
    assert len(hashes) == 2  # resolving the model restarts the trader with it
    assert ready["spec"]["template"]["spec"]["containers"][0]["image"] == settings.jobs_image  # torch
