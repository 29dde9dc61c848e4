"""Bad manifests never hurt: broken TradingBot/TrainingRun/OptimizationRun YAML given to
`botrader up`, `botrader trade --bot` and `botrader backtest --bot` is one line and exit 2,
never a traceback; hypothesis mutates a real manifest's fields (types, unknown fields, huge
numbers, unicode) and the parser answers with a bot or a UserError, nothing else."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from botrader.core.cli.main import main
from botrader.core.errors import UserError
from botrader.core.manifests import load_manifests, parse_trading_bot
from botrader.services.embedded.training import parse_training_run
from tests.support.paths import REPO, SAMPLE

BOMB = "\n".join(
    [f"a0: &a0 [{', '.join(['lol'] * 9)}]"]
    + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
)
HEAD = "apiVersion: botrader.io/v1alpha1\nkind: TradingBot\nmetadata: {name: x}\n"
CASES = {
    "a list": "- 1\n- 2\n",
    "metadata is text": "apiVersion: botrader.io/v1alpha1\nkind: TradingBot\nmetadata: x\nspec: {}\n",
    "not yaml": "kind: TradingBot\n- x\n  : [\n",
    "alias bomb": BOMB + "\nkind: TradingBot\n",
    "a bomb in the spec": HEAD
    + "spec:\n  symbol: BTCUSDT\n  strategy:\n    params:\n"
    + "\n".join("      " + line for line in BOMB.splitlines()),
    "endless alias": "a: &a [*a]\nkind: TradingBot\n",
    "spec is a number": HEAD + "spec: 5\n",
    "huge budget": HEAD + "spec: {symbol: BTCUSDT, budget: 1" + "0" * 400 + "}\n",
    "unknown field": HEAD + "spec: {symbol: BTCUSDT, leverage: 3}\n",
    "unicode symbol": HEAD + "spec: {symbol: BTC😀USDT}\n",
    "deep nesting": HEAD + "spec: " + "[" * 5000 + "]" * 5000 + "\n",
    "not utf-8": None,
    "training run": "apiVersion: botrader.io/v1alpha1\nkind: TrainingRun\nmetadata: {name: t}\n"
    "spec: {budgets: [-1]}\n",
    "search": "apiVersion: botrader.io/v1alpha1\nkind: OptimizationRun\nmetadata: {name: o}\n"
    "spec: {trials: 0}\n",
}


def write(tmp_path: Path, name: str) -> Path:
    path = tmp_path / "bad.yaml"
    text = CASES[name]
    path.write_bytes(b"kind: \xff\xfe TradingBot\n" if text is None else text.encode())
    return path


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("verb", ["up", "trade", "backtest"])
def test_a_bad_manifest_is_one_line_and_exit_2(tmp_path, capsys, verb: str, name: str) -> None:
    path = write(tmp_path, name)
    argv = {
        "up": ["up", "-f", str(path), "--db", f"sqlite:///{tmp_path / 'u.db'}", "--port", "0"],
        "trade": ["trade", "--bot", str(path), "--db", f"sqlite:///{tmp_path / 'u.db'}"],
        "backtest": ["backtest", "--bot", str(path), "--data", str(SAMPLE)],
    }[verb]
    began = time.perf_counter()
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1 and err.startswith("error: "), err
    assert time.perf_counter() - began < 10  # a bomb is refused, not expanded
    assert not (tmp_path / "u.db").exists() or verb == "up"


VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=3),
    max_leaves=8,
)


def real(kind: str) -> dict:
    name = {"TradingBot": "tradingbot-rsi.yaml", "TrainingRun": "trainingrun-btc.yaml"}[kind]
    return next(d for d in yaml.safe_load_all((REPO / "examples" / name).read_text()) if d["kind"] == kind)


def mutate(doc: dict, path: list[str], value: object) -> dict:
    node = doc
    for key in path[:-1]:
        child = node.get(key) if isinstance(node, dict) else None
        if not isinstance(child, dict):
            child = node[key] = {}
        node = child
    if isinstance(node, dict):
        node[path[-1]] = value
    return doc


FIELDS = st.sampled_from(
    [["spec", "symbol"], ["spec", "budget"], ["spec", "risk", "maxDrawdownFraction"],
     ["spec", "strategy", "type"], ["spec", "strategy", "params", "period"], ["spec", "execution", "slices"],
     ["spec", "nope"], ["metadata", "name"], ["spec"], ["spec", "budgets"], ["spec", "timesteps"],
     ["spec", "replay", "speed"], ["spec", "interval"]]
)  # fmt: skip


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(kind=st.sampled_from(["TradingBot", "TrainingRun"]), field=FIELDS, value=VALUES)
def test_mutated_manifests_parse_or_say_why(
    tmp_path_factory, kind: str, field: list[str], value: object
) -> None:
    doc = mutate(real(kind), field, value)
    path = tmp_path_factory.mktemp("m") / "m.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    try:
        (loaded,) = load_manifests(path)
        if kind == "TradingBot":
            parse_trading_bot(loaded, source=str(path))
        else:
            parse_training_run(loaded, str(path))
    except UserError as exc:
        assert str(exc) and "\n" not in str(exc)
