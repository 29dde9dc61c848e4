"""The CRDs: examples pass; invalid manifests are rejected as the API server would, with
its kind of message (structural schema, then CEL rules); defaults are applied."""

from pathlib import Path

import pytest
import yaml

from botrader.core.crds import crd, validate
from botrader.core.errors import UserError
from tests.support.paths import REPO

EXAMPLES = sorted([*(REPO / "examples").glob("*.yaml"), *(REPO / "examples" / "strategies").glob("*.yaml")])


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_are_valid(path: Path) -> None:
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d["apiVersion"].startswith("botrader.io/")]
    # Kopf's peering object and the namespace example are not ours: the real server checks them
    assert docs or path.name in ("operator-peering.yaml", "namespace-restricted.yaml")
    for doc in docs:
        assert validate(doc)["spec"]


def test_defaults_are_applied() -> None:
    spec = validate(
        {
            "apiVersion": "botrader.io/v1alpha1",
            "kind": "TradingBot",
            "metadata": {"name": "b"},
            "spec": {"symbol": "BTCUSDT"},
        }
    )["spec"]
    assert (spec["interval"], spec["source"], spec["budget"], spec["paused"]) == (
        "1m",
        "binance",
        10000,
        False,
    )
    run = validate(yaml.safe_load((REPO / "examples" / "trainingrun-btc.yaml").read_text()))
    assert run["spec"]["ray"]["mode"] == "auto" and run["spec"]["hyperparameters"]["windowSize"] == 240


def bot(**spec: object) -> dict:
    return {
        "apiVersion": "botrader.io/v1alpha1",
        "kind": "TradingBot",
        "metadata": {"name": "bad"},
        "spec": {"symbol": "BTCUSDT", **spec},
    }


def run(**spec: object) -> dict:
    return {
        "apiVersion": "botrader.io/v1alpha1",
        "kind": "TrainingRun",
        "metadata": {"name": "bad"},
        "spec": {"symbol": "BTCUSDT", "dataset": {"path": "d.parquet"}, **spec},
    }


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (bot(budget=-5), "spec.budget: Invalid value: -5"),
        (bot(budget=0), "spec.budget: Invalid value: 0"),
        (
            bot(interval="7m"),
            'spec.interval: Unsupported value: \'7m\': supported values: "1m", "5m", "15m", "1h"',
        ),
        (bot(symbol="btc-usdt"), "spec.symbol: Invalid value: 'btc-usdt'"),
        (bot(source="kraken"), "spec.source: Unsupported value: 'kraken'"),
        (bot(risk={"maxPositionFraction": 1.5}), "spec.risk.maxPositionFraction: Invalid value: 1.5"),
        (bot(risk={"maxConsecutiveLosses": 0}), "spec.risk.maxConsecutiveLosses: Invalid value: 0"),
        (bot(strategy={"type": "macd"}), "spec.strategy.type: Unsupported value: 'macd'"),
        (bot(execution={"feeRate": 0.5}), "spec.execution.feeRate: Invalid value: 0.5"),
        (bot(budgett=100), "spec.budgett: field not declared in schema"),
        (bot(source="replay"), "spec.replay (with a path) is required when spec.source is replay"),
        (bot(strategy={"type": "ppo"}), "spec.strategy.modelRef is required for strategy ppo"),
        (
            bot(execution={"algo": "twap", "slices": 1}),
            "twap and vwap need spec.execution.slices of at least 2",
        ),
        (
            {**bot(), "spec": {}},
            "give exactly one of spec.symbol, spec.symbols (a portfolio) or spec.universe",
        ),
        (bot(symbols=["AVAXUSDT"]), "give exactly one of spec.symbol, spec.symbols"),
        (bot(portfolio={"maxOpenPositions": 2}), "spec.portfolio applies to a bot over many symbols"),
        (
            {**bot(), "spec": {"symbols": ["AVAXUSDT"], "portfolio": {"stake": "fraction"}}},
            "spec.portfolio.stakeFraction goes with stake: fraction",
        ),
        (
            {**bot(), "spec": {"universe": {"topByQuoteVolume": 0}}},
            "spec.universe.topByQuoteVolume: Invalid value: 0",
        ),
        (run(dataset={"start": "2025-01-01"}), "spec.dataset needs either path or both start and end"),
        (
            run(dataset={"path": "x", "start": "2025-01-01", "end": "2025-02-01"}),
            "spec.dataset needs either path",
        ),
        (run(budgets=[]), "spec.budgets: Invalid value: []"),
        (run(hyperparameters={"learningRate": -1}), "spec.hyperparameters.learningRate: Invalid value: -1"),
        (run(ray={"mode": "slurm"}), "spec.ray.mode: Unsupported value: 'slurm'"),
    ],
)
def test_invalid_manifests_are_rejected_like_the_api_server(doc: dict, message: str) -> None:
    with pytest.raises(UserError) as info:
        validate(doc)
    text = str(info.value)
    assert text.startswith(f'{doc["kind"]}.botrader.io "bad" is invalid') and message in text, text


def test_crd_metadata_matches_design() -> None:
    tb, tr = crd("TradingBot"), crd("TrainingRun")
    assert tb["spec"]["names"]["shortNames"] == ["tb"] and tr["spec"]["names"]["shortNames"] == ["tr"]
    assert tb["spec"]["names"]["categories"] == tr["spec"]["names"]["categories"] == ["botrader"]
    columns = [c["name"] for c in tb["spec"]["versions"][0]["additionalPrinterColumns"]]
    assert columns == ["Symbol", "Strategy", "Phase", "Equity", "PnL%", "Trades", "Age"]
    columns = [c["name"] for c in tr["spec"]["versions"][0]["additionalPrinterColumns"]]
    assert columns == ["Phase", "Budgets", "Best Val Sharpe", "Age"]
    for definition in (tb, tr):
        assert definition["spec"]["versions"][0]["subresources"] == {"status": {}}
