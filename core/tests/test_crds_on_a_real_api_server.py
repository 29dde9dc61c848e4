"""The CRDs on a real kube-apiserver (tests/support/testenv.py): accepted as structural
schemas with their defaults and CEL rules compiled within the cost budget, printer columns
served, and a table of invalid TradingBots, TrainingRuns and OptimizationRuns rejected by the server — for the
same field and reason `botrader up` names when it validates locally against the same files."""

from __future__ import annotations

import copy
import json
import subprocess
import urllib.error

import pytest
import yaml

from botrader.core.crds import violations
from tests.support.paths import REPO

BOT = {
    "apiVersion": "botrader.io/v1alpha1",
    "kind": "TradingBot",
    "metadata": {"name": "b", "namespace": "default"},
    "spec": {"symbol": "BTCUSDT"},
}
RUN = {
    "apiVersion": "botrader.io/v1alpha1",
    "kind": "TrainingRun",
    "metadata": {"name": "r", "namespace": "default"},
    "spec": {"symbol": "BTCUSDT", "dataset": {"path": "/data/x.parquet"}},
}


OPT = {
    "apiVersion": "botrader.io/v1alpha1",
    "kind": "OptimizationRun",
    "metadata": {"name": "o", "namespace": "default"},
    "spec": {"symbol": "BTCUSDT", "dataset": {"start": "2025-05-30", "end": "2025-06-29"}},
}


def search(**spec: object) -> dict:
    doc = copy.deepcopy(OPT)
    doc["spec"].update(spec)
    return doc


def many_search(**spec: object) -> dict:
    """A search over a portfolio: no spec.symbol."""
    doc = search(**spec)
    del doc["spec"]["symbol"]
    return doc


def bot(**spec: object) -> dict:
    doc = copy.deepcopy(BOT)
    doc["spec"].update(spec)
    return doc


def run(**spec: object) -> dict:
    doc = copy.deepcopy(RUN)
    doc["spec"].update(spec)
    return doc


def named(name: str) -> dict:
    doc = bot()
    doc["metadata"] = {**doc["metadata"], "name": name}
    return doc


def no_symbol() -> dict:
    doc = bot(interval="1m")
    del doc["spec"]["symbol"]
    return doc


def many(**spec: object) -> dict:
    """A portfolio bot: no spec.symbol."""
    doc = no_symbol()
    doc["spec"].update(spec)
    return doc


INVALID = [
    (bot(budget=-5), "spec.budget", "FieldValueInvalid"),
    (bot(interval="7m"), "spec.interval", "FieldValueNotSupported"),
    (bot(symbol="btc-usdt"), "spec.symbol", "FieldValueInvalid"),
    (no_symbol(), "spec", "FieldValueInvalid"),  # CEL: one of symbol, symbols, universe
    (bot(symbols=["AVAXUSDT", "NEARUSDT"]), "spec", "FieldValueInvalid"),  # CEL: symbol and symbols
    (bot(portfolio={"maxOpenPositions": 2}), "spec", "FieldValueInvalid"),  # CEL: portfolio needs symbols
    (many(symbols=["AVAXUSDT", "AVAXUSDT"]), "spec.symbols[1]", "FieldValueDuplicate"),  # a set
    (many(universe={"quote": "USDT"}), "spec.universe.topByQuoteVolume", "FieldValueRequired"),
    (
        many(universe={"topByQuoteVolume": 1, "candidates": ["AVAXUSDT", "AVAXUSDT"]}),
        "spec.universe.candidates[1]",
        "FieldValueDuplicate",
    ),
    (
        many(universe={"topByQuoteVolume": 5, "lookback": "7 days"}),
        "spec.universe.lookback",
        "FieldValueInvalid",
    ),
    (  # CEL: stakeFraction goes with stake fraction
        many(symbols=["AVAXUSDT"], portfolio={"stakeFraction": 0.1}),
        "spec.portfolio",
        "FieldValueInvalid",
    ),
    (bot(source="replay"), "spec", "FieldValueInvalid"),  # CEL: replay needs spec.replay
    (bot(strategy={"type": "ppo"}), "spec", "FieldValueInvalid"),  # CEL: ppo needs a modelRef
    (bot(execution={"algo": "twap", "slices": 1}), "spec", "FieldValueInvalid"),  # CEL: slices >= 2
    (bot(strategy={"type": "custom"}), "spec", "FieldValueInvalid"),  # CEL: custom needs a ref
    (
        bot(strategy={"type": "custom", "ref": "a.py:A", "source": {"configMap": "c", "key": "b.py"}}),
        "spec",
        "FieldValueInvalid",
    ),  # CEL: the ref names another key
    (bot(risk={"maxPositionFraction": 1.5}), "spec.risk.maxPositionFraction", "FieldValueInvalid"),
    (bot(execution={"fill": "midpoint"}), "spec.execution.fill", "FieldValueNotSupported"),
    (
        bot(strategy={"type": "rsi", "exits": {"stopLoss": 1.2}}),
        "spec.strategy.exits.stopLoss",
        "FieldValueInvalid",
    ),
    (bot(budjet=100), "spec.budjet", "FieldValueUnknown"),
    (bot(venue={"type": "binance-testnet"}), "spec.venue", "FieldValueInvalid"),  # CEL: keys needed
    (bot(venue={"type": "binance"}), "spec.venue.type", "FieldValueNotSupported"),  # mainnet: not yet
    (named("BTC_Bot"), "metadata.name", "FieldValueInvalid"),  # found by fuzzing: a DNS-1123 name
    (  # CEL: a perpetual needs its funding
        bot(market="usdm-perp", source="replay", replay={"path": "avax.csv"}),
        "spec",
        "FieldValueInvalid",
    ),
    (bot(leverage=3), "spec", "FieldValueInvalid"),  # CEL: leverage is for usdm-perp
    (bot(market="usdm-perp", funding={"rate": "0.0001"}), "spec", "FieldValueInvalid"),  # CEL: replay only
    (bot(market="usdm-perp", marginMode="cross"), "spec.marginMode", "FieldValueNotSupported"),
    (bot(source="binance-usdm"), "spec", "FieldValueInvalid"),  # CEL: a spot bot on a perpetual's candles
    (bot(market="usdm-perp", funding={"rate": "1e-4"}), "spec.funding.rate", "FieldValueInvalid"),
    (
        run(dataset={"path": "/x", "start": "2025-01-01", "end": "2025-02-01"}),
        "spec.dataset",
        "FieldValueInvalid",
    ),
    (run(budgets=[]), "spec.budgets", "FieldValueInvalid"),
    (run(hyperparameters={"gamma": 2}), "spec.hyperparameters.gamma", "FieldValueInvalid"),
    (run(hyperparameters={"learningRte": 0.1}), "spec.hyperparameters.learningRte", "FieldValueUnknown"),
    (run(interval="2h"), "spec.interval", "FieldValueNotSupported"),
    (search(trials=1), "spec.trials", "FieldValueInvalid"),
    (search(objective="profit"), "spec.objective", "FieldValueNotSupported"),
    (search(strategy={"type": "custom"}), "spec", "FieldValueInvalid"),  # CEL: custom needs a ref
    (search(dataset={"start": "2025-05-30"}), "spec.dataset", "FieldValueInvalid"),  # CEL: start and end
    (search(gate={"maxPbo": 2}), "spec.gate.maxPbo", "FieldValueInvalid"),
    (search(strategy={"type": "ppo"}), "spec", "FieldValueInvalid"),  # CEL: ppo trains on a file
    (search(walkForward=True), "spec", "FieldValueInvalid"),  # CEL: walkForward is for ppo
    (search(symbols=["AVAXUSDT", "NEARUSDT"]), "spec", "FieldValueInvalid"),  # CEL: symbol or symbols
    (search(portfolio={"maxOpenPositions": 2}), "spec", "FieldValueInvalid"),  # CEL: portfolio needs pairs
    (  # CEL: a ppo search trains on one pair
        many_search(symbols=["AVAXUSDT", "NEARUSDT"], strategy={"type": "ppo"}, dataset={"path": "d"}),
        "spec",
        "FieldValueInvalid",
    ),
]


def kubectl(control_plane, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["kubectl", "--kubeconfig", str(control_plane.kubeconfig), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def crds(control_plane):
    done = kubectl(control_plane, "apply", "-f", str(REPO / "crds"))
    assert done.returncode == 0, done.stderr
    for name in ("tradingbots.botrader.io", "trainingruns.botrader.io", "optimizationruns.botrader.io"):
        waited = kubectl(control_plane, "wait", "--for=condition=Established", f"crd/{name}", "--timeout=30s")
        assert waited.returncode == 0, waited.stderr
    return control_plane


def server_verdict(control_plane, doc: dict) -> tuple[int, list[tuple[str, str]], str]:
    plural = {
        "TradingBot": "tradingbots",
        "TrainingRun": "trainingruns",
        "OptimizationRun": "optimizationruns",
    }[doc["kind"]]
    path = f"/apis/botrader.io/v1alpha1/namespaces/default/{plural}?fieldValidation=Strict&dryRun=All"
    try:
        control_plane.request("POST", path, doc)
    except urllib.error.HTTPError as err:
        status = json.loads(err.read())
        causes = [
            (c.get("field", ""), c.get("reason", "")) for c in (status.get("details") or {}).get("causes", [])
        ]
        return err.code, causes, status.get("message", "")
    return 201, [], ""


def test_crds_are_accepted_and_their_printer_columns_served(crds, tmp_path) -> None:
    for path in sorted((REPO / "examples").glob("*.yaml")):
        done = kubectl(crds, "apply", "--dry-run=server", "-f", str(path))
        assert done.returncode == 0, (path.name, done.stderr)
    example = yaml.safe_load((REPO / "examples" / "tradingbot-rsi.yaml").read_text())
    (tmp_path / "bot.yaml").write_text(yaml.safe_dump({**example, "metadata": {"name": "columns"}}))
    assert kubectl(crds, "apply", "-f", str(tmp_path / "bot.yaml")).returncode == 0
    listing = kubectl(crds, "get", "tb,tr")
    header = listing.stdout.splitlines()[0].split()
    assert header == ["NAME", "SYMBOL", "STRATEGY", "PHASE", "EQUITY", "PNL%", "TRADES", "AGE"], (
        listing.stdout
    )
    created = json.loads(kubectl(crds, "get", "tb", "columns", "-o", "json").stdout)
    assert created["spec"]["execution"]["fill"] == "close"  # the server applied the CRD's defaults
    assert kubectl(crds, "delete", "tb", "columns").returncode == 0


@pytest.mark.parametrize(("doc", "field", "reason"), INVALID, ids=[f"{f}-{r}" for _, f, r in INVALID])
def test_the_server_and_botrader_up_reject_alike(crds, doc: dict, field: str, reason: str) -> None:
    code, causes, message = server_verdict(crds, doc)
    _, local = violations(doc)
    assert [(v.field, v.reason) for v in local] == [(field, reason)], local
    if reason == "FieldValueUnknown":  # strict decoding: a 400 naming the field, not a 422 cause
        assert code == 400 and f'unknown field "{field}"' in message, message
        return
    assert code == 422, message
    assert (field, reason) in causes, causes
    if field == "spec" or field == "spec.dataset":  # a CEL rule: the same sentence
        assert local[0].text.split(": ", 2)[-1] in message
