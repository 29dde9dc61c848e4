"""`botrader up` with a TrainingRun in the manifests: it trains first (local Ray, an MLflow store
next to the database — the same command lines as the operator's Job), then the PPO bot trades
the model its modelRef names, as the operator would resolve it. Bad manifests stop before any
work, with one line naming the problem."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, text

from tests.support.paths import REPO, SAMPLE

MANIFEST = REPO / "examples" / "tradingbot-ppo-replay.yaml"


def up(tmp_path: Path, *files: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    args = [a for f in files for a in ("-f", str(f))]
    command = [sys.executable, "-m", "botrader.core", "up", *args, "--db", f"sqlite:///{tmp_path / 'up.db'}"]
    return subprocess.run(
        [*command, "--port", "0", "--exit-after-replay"],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=tmp_path,
    )


@pytest.mark.slow
def test_trains_then_trades_the_model_its_modelref_names(tmp_path: Path) -> None:
    run = up(tmp_path, MANIFEST)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "TrainingRun btc-ppo-local: 10000 → models:/botrader-ppo-BTCUSDT-1m-10000/1" in run.stdout
    assert "2880 candles written" in run.stdout
    assert (tmp_path / "mlflow.db").is_file() and (tmp_path / "mlruns").is_dir()  # next to the database
    with create_engine(f"sqlite:///{tmp_path / 'up.db'}").connect() as conn:
        spec, last = conn.execute(text("select spec, last_candle_time from bots")).one()
        fills = conn.execute(text("select count(*) from trades")).scalar()
    assert fills > 20  # a newcomer sees the learned policy trade (its deadzone lets it)
    import json

    assert json.loads(spec)["strategy"] == {
        "type": "ppo",
        "params": {},
        "modelRef": "models:/botrader-ppo-BTCUSDT-1m-10000/1",
    }
    assert str(last).startswith("2025-06-06 23:59")  # every replayed candle went through the policy
    from botrader.services.api.mlflow_models import LocalStore, describe, source_for

    source = source_for(f"sqlite:///{tmp_path / 'mlflow.db'}")  # /models over embedded mode's local store
    assert isinstance(source, LocalStore)
    (model,) = describe(source)
    assert model["uri"] == "models:/botrader-ppo-BTCUSDT-1m-10000/1"
    assert (
        model["versions"][0]["training_run"] == "btc-ppo-local"
        and len(model["versions"][0]["attributions"]) == 10
    )


def test_bad_training_manifests_stop_before_any_work(tmp_path: Path) -> None:
    docs = list(yaml.safe_load_all(MANIFEST.read_text()))
    run_doc, bot_doc = docs
    bot_doc["spec"]["replay"]["path"] = str(MANIFEST.parent / bot_doc["spec"]["replay"]["path"])
    (tmp_path / "bot.yaml").write_text(yaml.safe_dump(bot_doc))
    missing = up(tmp_path, tmp_path / "bot.yaml", timeout=60)
    assert missing.returncode == 2
    assert missing.stderr.strip() == (
        "error: btc-ppo-replay: spec.strategy.modelRef names TrainingRun 'btc-ppo-local', which is not in "
        "the manifests (add its file with -f, or give a model path or MLflow URI)"
    )
    both = {
        **run_doc,
        "spec": {**run_doc["spec"], "dataset": {"path": "x.csv", "start": "2025-01-01", "end": "2025-02-01"}},
    }
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(both))
    invalid = up(tmp_path, tmp_path / "run.yaml", tmp_path / "bot.yaml", timeout=60)
    assert invalid.returncode == 2
    assert invalid.stderr.count("\n") == 1 and "Traceback" not in invalid.stderr
    assert 'TrainingRun.botrader.io "btc-ppo-local" is invalid' in invalid.stderr
    assert "spec.dataset needs either path or both start and end" in invalid.stderr
    (tmp_path / "two.yaml").write_text(yaml.safe_dump_all([bot_doc, {**bot_doc, "metadata": {"name": "b2"}}]))
    two = up(tmp_path, tmp_path / "two.yaml", timeout=60)
    assert (
        two.returncode == 2
        and "exactly one TradingBot; the manifests hold 2 (btc-ppo-replay, b2)" in two.stderr
    )
    assert not (tmp_path / "mlflow.db").exists()
    short = {**run_doc, "spec": {**run_doc["spec"], "dataset": {"path": str(SAMPLE)}}}  # two days: too few
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(short))
    failed = up(tmp_path, tmp_path / "run.yaml", tmp_path / "bot.yaml", timeout=120)
    assert failed.returncode == 2 and failed.stderr.count("\n") == 1, failed.stderr
    assert failed.stderr.startswith(
        "error: TrainingRun btc-ppo-local: `botrader train` failed: error: not enough candles"
    )
