"""PPO training: it learns a planted pattern, validates hyperparameters up front, and a tiny
run against a real `mlflow server` registers a model that trades through the engine."""

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from botrader.core.cli.main import main
from botrader.jobs.rl.data import make_splits
from botrader.jobs.rl.env import EnvConfig, VecTradingEnv
from botrader.jobs.train import ppo
from tests.support.servers import MlflowServer


def drifting_candles(n: int = 4000, drift: float = 0.0005, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(drift + rng.normal(0, 0.0002, n)))
    return pd.DataFrame(
        {
            "open_time": 1_748_736_000_000 + np.arange(n, dtype=np.int64) * 60_000,
            "open": close,
            "high": close * 1.0002,
            "low": close * 0.9998,
            "close": close,
            "volume": 10.0,
        }
    )


def run_policy(env: VecTradingEnv, policy, steps: int) -> tuple[float, float]:
    obs, total = env.reset(), np.zeros(env.n)
    for _ in range(steps):
        obs, reward, _, _ = env.step(policy(obs))
        total += reward
    return float(total.mean()), float(obs[:, -2].mean())  # mean log return, position fraction at the end


def test_ppo_learns_a_planted_up_drift() -> None:
    splits = make_splits(drifting_candles(), min_rows=300)
    args = ppo.Hyperparameters(
        total_timesteps=32_768, num_envs=16, num_steps=64, window_size=60, eval_every=10_000
    )
    agent = ppo.train(args, splits.train, 10_000)
    config = EnvConfig(episode_len=60)

    def trained(obs: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return agent.act(torch.as_tensor(obs))[:, 0].numpy()

    rng = np.random.default_rng(7)
    agent_return, agent_position = run_policy(VecTradingEnv(splits.val, 16, config, seed=3), trained, 58)
    random_return, _ = run_policy(
        VecTradingEnv(splits.val, 16, config, seed=3), lambda o: rng.uniform(-1, 1, 16), 58
    )
    assert agent_position > 0.3  # it ends long in a rising market
    assert agent_return > random_return + 0.005


def test_training_is_reproducible() -> None:
    splits = make_splits(drifting_candles(3000, seed=2), min_rows=300)
    args = ppo.Hyperparameters(total_timesteps=2048, num_envs=8, num_steps=64, window_size=60)
    first, second = ppo.train(args, splits.train, 1000), ppo.train(args, splits.train, 1000)
    for a, b in zip(first.state_dict().values(), second.state_dict().values(), strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--learning-rate", "-0.001"], "bad learning_rate -0.001: must be > 0"),
        (["--window-size", "100000"], "window size 100000 is larger than the training data"),
        (["--budgets", "10,-5"], "bad --budgets '10,-5'"),
        (["--window-overlap", "1.5"], "bad window_overlap 1.5: must be < 1"),
        (["--baseline", "macd"], "unknown strategy 'macd'"),
    ],
)
def test_bad_hyperparameters_fail_before_any_work(argv, needle, tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "c.parquet"
    drifting_candles(4000).to_parquet(data)
    assert main(["train", "--data", str(data), "--ray-address", "none", *argv]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err
    assert not (tmp_path / "mlflow.db").exists() and not (tmp_path / "mlruns").exists()  # nothing started


@pytest.mark.slow
def test_tiny_run_against_a_real_mlflow_server(
    real_candles: pd.DataFrame, tmp_path: Path, capsys, monkeypatch
) -> None:
    import mlflow
    from mlflow import MlflowClient

    from botrader.jobs.train.model import ActionPredictor

    data = tmp_path / "candles.parquet"
    real_candles.iloc[:8000].to_parquet(data)
    server = MlflowServer().start()
    try:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)
        monkeypatch.chdir(tmp_path)
        rc = main(
            [
                "train",
                "--data",
                str(data),
                "--budgets",
                "1000,10000",
                "--timesteps",
                "4096",
                "--num-envs",
                "16",
                "--eval-every",
                "2",
                "--experiment",
                "ci",
                "--run-name",
                "tiny",
                "--json",
            ]
        )
        out = capsys.readouterr().out
        assert rc == 0, out
        _progress_reached_the_driver_metrics("tiny", ["1000", "10000"])
        _the_operator_reads_the_results_back(server.url, json.loads(out)["results"])
        _the_api_lists_the_models_over_rest(server.url)
        result = json.loads(out)
        assert result["experiment"] == "ci" and [r["budget"] for r in result["results"]] == [1000.0, 10000.0]
        first = result["results"][0]
        assert first["model_uri"] == "models:/botrader-ppo-BTCUSDT-1m-1000/1"
        for key in ("run_id", "val_sharpe", "test_sharpe", "test_return", "verdict", "passes"):
            assert key in first
        registered = MlflowClient(tracking_uri=server.url).get_model_version_by_alias(
            "botrader-ppo-BTCUSDT-1m-1000", "challenger"
        )  # the new version is the challenger, its card's verdict on it
        assert str(registered.version) == "1" and registered.tags["botrader.verdict"] == first["verdict"]
        mlflow.set_tracking_uri(server.url)
        run = MlflowClient().get_run(first["run_id"])
        logged = set(run.data.metrics)
        assert {"val_score", "episode_return", "value_loss", "sps", "test_return", "clipfrac"} <= logged
        assert run.data.params["learning_rate"] == "0.0003"
        artifacts = {
            a.path
            for folder in ("model", "report")
            for a in MlflowClient().list_artifacts(first["run_id"], folder)
        }
        assert artifacts == {
            "model/policy.pt",
            "model/features.json",
            "model/meta.json",
            "report/evaluation.json",
            "report/test_equity.html",
            "report/attributions.json",
        }
        predictor = ActionPredictor.load(first["model_uri"])
        assert predictor.meta.budget == 1000.0
        history = real_candles.iloc[6000:6600]
        from botrader.core.data.files import frame_to_candles

        action = predictor.predict(frame_to_candles(history), cash=1000.0, position=0.0, cost_basis=0.0)
        assert -1.0 <= action <= 1.0
        assert predictor.predict_discrete(frame_to_candles(history), 1000.0, 0.0, 0.0) in (0, 1, 2)
        rc = main(
            [
                "backtest",
                "--strategy",
                "ppo",
                "--model",
                first["model_uri"],
                "--data",
                str(data),
                "--budget",
                "1000",
                "--json",
            ]
        )
        backtest = json.loads(capsys.readouterr().out)
        assert rc == 0 and backtest["strategy"] == "ppo" and backtest["candles"] == 8000
    finally:
        server.stop()


def _the_operator_reads_the_results_back(tracking_uri: str, results: list[dict]) -> None:
    """What the operator puts in the TrainingRun's status.results, from MLflow's REST API."""
    from botrader.operator.mlflow_results import ResultsUnavailable, fetch_results

    found = fetch_results(tracking_uri, "ci", "tiny")
    assert [(r["budget"], r["runId"], r["modelUri"]) for r in found] == [
        (r["budget"], r["run_id"], r["model_uri"]) for r in results
    ]
    for got, want in zip(found, results, strict=True):
        # a few days of validation or test: too few daily returns for a Sharpe, null on both sides
        assert want["val_sharpe"] is None and want["test_sharpe"] is None
        assert got["valSharpe"] is None and got["testSharpe"] is None
        assert got["testReturn"] == pytest.approx(want["test_return"])
    with pytest.raises(ResultsUnavailable, match="no finished runs for TrainingRun other"):
        fetch_results(tracking_uri, "ci", "other")
    with pytest.raises(ResultsUnavailable, match="no experiment 'nope'"):
        fetch_results(tracking_uri, "nope", "tiny")
    with pytest.raises(ResultsUnavailable, match="did not answer"):
        fetch_results("http://127.0.0.1:9", "ci", "tiny", timeout=2)


def _the_api_lists_the_models_over_rest(tracking_uri: str) -> None:
    """/models' view of the server (REST, as the services image has no mlflow package)."""
    from botrader.core.mlflow_rest import MlflowRest
    from botrader.jobs.rl.features import PORTFOLIO_NAMES, FeatureConfig
    from botrader.services.api.mlflow_models import describe, source_for

    source = source_for(tracking_uri)
    assert isinstance(source, MlflowRest)
    models = {m["name"]: m for m in describe(source)}
    assert set(models) == {"botrader-ppo-BTCUSDT-1m-1000", "botrader-ppo-BTCUSDT-1m-10000"}
    (version,) = models["botrader-ppo-BTCUSDT-1m-1000"]["versions"]
    assert models["botrader-ppo-BTCUSDT-1m-1000"]["uri"] == "models:/botrader-ppo-BTCUSDT-1m-1000/1"
    assert version["budget"] == 1000.0 and version["training_run"] == "tiny"
    logged = set(version["metrics"])
    assert {"test_return", "best_val_score", "sps", "clipfrac", "explained_variance"} <= logged
    shares = version["attributions"]
    known = {*FeatureConfig().names, *PORTFOLIO_NAMES}
    assert len(shares) == 10 and set(shares) <= known, shares
    assert all(v >= 0 for v in shares.values()) and 0 < sum(shares.values()) <= 1.0001
    assert list(shares.values()) == sorted(shares.values(), reverse=True)


def _progress_reached_the_driver_metrics(run: str, budgets: list[str]) -> None:
    """Workers ran in Ray; their progress must show in this (the driver's) registry."""
    from prometheus_client import REGISTRY

    def value(name: str, **labels: str) -> float | None:
        return REGISTRY.get_sample_value(name, {"run": run, **labels})

    assert value("botrader_training_budgets_finished_total") == len(budgets)
    for budget in budgets:
        assert value("botrader_training_env_steps_total", budget=budget) == 4096
        assert value("botrader_training_steps_per_second", budget=budget) > 0
        assert value("botrader_training_validation_sharpe", budget=budget) is not None


def test_ppo_bot_paper_trades_like_its_backtest_across_a_restart(tmp_path: Path, sqlite_url: str) -> None:
    """A TradingBot with strategy ppo: the trader's fills equal the backtest's even when it
    restarts mid-way (the model's streaming features resume from the snapshot)."""
    from decimal import Decimal

    from botrader.core.backtesting.runner import run_backtest
    from botrader.core.bot_engine import engine_config, strategy_for
    from botrader.core.candles import make_key
    from botrader.core.data.files import frame_to_candles
    from botrader.core.db import connect, upgrade
    from botrader.core.db.candles import CandleStore
    from botrader.core.db.trading import TradingStore
    from botrader.core.engine.units import MarketRules
    from botrader.core.manifests import parse_trading_bot
    from botrader.jobs.train.model import ModelMeta, save_model
    from botrader.services.trader.trader import PaperTrader

    candles = drifting_candles(3000, drift=0.0, seed=4)
    splits = make_splits(candles, min_rows=300)
    args = ppo.Hyperparameters(total_timesteps=2048, num_envs=8, num_steps=64, window_size=60)
    agent = ppo.train(args, splits.train, 10_000)
    model = save_model(
        tmp_path / "model",
        agent,
        splits.config,
        ModelMeta(10_000, 0.001, "BTCUSDT", "1m", args.hidden, splits.config.obs_dim),
    )
    bot = parse_trading_bot(
        {
            "apiVersion": "botrader.io/v1alpha1",
            "kind": "TradingBot",
            "metadata": {"name": "ppo-bot"},
            "spec": {
                "symbol": "BTCUSDT",
                "source": "replay",
                "replay": {"path": "x.csv"},
                "strategy": {"type": "ppo", "modelRef": str(model)},
            },
        }
    )
    expected = run_backtest(candles, strategy_for(bot), engine_config(bot.spec, MarketRules())).fills
    assert len(expected) > 5
    db = connect(sqlite_url)
    upgrade(db)
    store = CandleStore(db)
    key = make_key("replay", "BTCUSDT", "1m")
    store.upsert(key, frame_to_candles(candles.iloc[:1500]))
    first = PaperTrader(bot, store, TradingStore(db), MarketRules())
    first.start()
    first.step()
    store.upsert(key, frame_to_candles(candles))
    second = PaperTrader(bot, store, TradingStore(db), MarketRules())  # a new process
    second.start()
    while second.step():
        pass
    stored = TradingStore(db).fills("ppo-bot")
    m = MarketRules()
    assert [(r["seq"], r["side"], Decimal(str(r["quantity"])).quantize(Decimal("1E-5"))) for r in stored] == [
        (f.seq, f.side, m.to_base(f.lots)) for f in expected
    ]


@pytest.mark.slow
def test_walk_forward_retrains_per_fold_and_the_card_says_so(tmp_path: Path, capsys, monkeypatch) -> None:
    """`botrader train --walk-forward 2`: beside the agent, the same hyperparameters trained
    afresh at two origins before the test split; on candles whose next move the last one gives
    away, each retrained agent beats buy-and-hold on its block."""
    from jobs.tests.test_optimize import alternating

    data = tmp_path / "leak.parquet"
    alternating(12_000).to_parquet(data)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    argv = ["train", "--data", str(data), "--budgets", "1000", "--timesteps", "32768", "--num-envs", "16"]
    argv += ["--eval-every", "4", "--fee", "0", "--ray-address", "none", "--walk-forward", "2", "--json"]
    argv += ["--mlflow-uri", f"sqlite:///{tmp_path / 'mlflow.db'}"]
    assert main(argv) == 0
    assert "MLFLOW_TRACKING_URI" not in os.environ  # later processes must not inherit this run's store
    (result,) = json.loads(capsys.readouterr().out)["results"]
    assert "retrained per fold +" in result["verdict"] and "ahead in 2 of 2 folds" in result["verdict"]
    assert main(["train", "--data", str(data), "--walk-forward", "1", "--mlflow-uri", "none"]) == 2
    assert "bad --walk-forward 1" in capsys.readouterr().err
