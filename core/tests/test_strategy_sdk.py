"""The strategy API: one class declares everything about itself; parameters are checked
before any candle; the registry finds built-ins, files and modules the same way; the default
state covers plain attributes and indicators, so a restart resumes exactly."""

from __future__ import annotations

import json
import math
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from botrader.core.crds import openapi_schema
from botrader.core.engine.engine import Engine, EngineConfig
from botrader.core.errors import UserError
from botrader.core.strategy import RSI, SMA, Exits, Param, Signal, Strategy
from botrader.core.strategy.library import RsiSma, SimpleRsi
from botrader.core.strategy.registry import builtin_names, describe_all, make, resolve
from tests.support.paths import REPO

EXAMPLES = REPO / "examples" / "strategies"


class Counter(Strategy):
    """Buys every `every`-th candle when flat and sells on the next one (state in attributes)."""

    every = Param(50, ge=2, search=[25, 50])
    exits = Exits(take_profit=0.5)

    def indicators(self) -> dict:
        return {"sma": SMA(3), "rsi": RSI(5)}

    def setup(self) -> None:
        self.n = 0
        self.history: list[int] = []

    def on_candle(self, candle, ind, account):
        self.n += 1
        if account.long:
            self.history.append(self.n)
            return self.sell(reason="next candle")
        if self.n % self.every == 0:
            return Signal(1.0, {"n": self.n})
        return None


def test_the_class_declares_name_description_params_exits_and_warmup() -> None:
    info = Counter.describe()
    assert info["name"] == "counter" and info["description"].startswith("Buys every `every`-th")
    assert info["params"] == {"every": {"type": "int", "default": 50, "ge": 2, "search": [25, 50]}}
    assert info["exits"] == {"take_profit": 0.5}
    # RSI(5)'s Wilder average (alpha 1/5) forgets its seed to 1e-9 after ceil(ln 1e-9 / ln 0.8) = 93
    assert Counter().warmup_length() == 1 + math.ceil(math.log(1e-9) / math.log(0.8)) == 94
    assert SimpleRsi(period=10).warmup_length() == 198 and SimpleRsi.aliases == ("rsi",)


def test_parameters_are_checked_with_one_line_naming_them() -> None:
    cases = [
        ({"every": 1}, "bad counter parameter every=1: must be >= 2"),
        ({"every": 2.5}, "bad counter parameter every=2.5: expected a whole number"),
        ({"every": "x"}, "bad counter parameter every='x': expected a whole number"),
        ({"evrey": 3}, "unknown parameter(s) for counter: evrey (known: every)"),
    ]
    for params, message in cases:
        with pytest.raises(UserError) as err:
            Counter(**params)
        assert str(err.value) == message
    assert Counter(every=7.0).every == 7  # an integral float from YAML or JSON is fine
    with pytest.raises(UserError, match="bad parameters for simple_rsi: oversold 80 must be below"):
        SimpleRsi(oversold=80)


def test_signals_explain_orders_and_state_round_trips_through_json() -> None:
    frame_rows = [
        (i * 60_000, 100.0 + (i % 7), 101.0 + (i % 7), 99.0 + (i % 7), 100.0 + (i % 5), 1.0)
        for i in range(300)
    ]
    config = EngineConfig(budget=Decimal(1000))
    whole = Engine(Counter(), config)
    for row in frame_rows:
        whole.on_bar(*row)
    first = Engine(Counter(), config)
    for row in frame_rows[:130]:
        first.on_bar(*row)
    snapshot = json.loads(json.dumps(first.snapshot()))
    assert snapshot["strategy"]["attrs"] == {"n": 130, "history": [51, 101]}
    second = Engine(Counter(), config)
    second.restore(snapshot)
    for row in frame_rows[130:]:
        second.on_bar(*row)
    assert [f.to_dict() for f in first.fills + second.fills] == [f.to_dict() for f in whole.fills]
    buys = [o for o in whole.orders if o.side == "buy"]
    assert buys[0].explanation == {
        "sma": pytest.approx(buys[0].explanation["sma"]),
        "rsi": buys[0].explanation["rsi"],
        "n": 50,
    }
    sells = [o for o in whole.orders if o.side == "sell"]
    assert sells[0].explanation["reason"] == "next candle"


def test_on_candle_must_return_an_action() -> None:
    class Wrong(Strategy):
        def on_candle(self, candle, ind, account):
            return "buy"

    engine = Engine(Wrong())
    with pytest.raises(TypeError, match=r"wrong.on_candle returned 'buy': expected a number in \[-1, 1\]"):
        engine.on_bar(0, 1.0, 1.0, 1.0, 1.0, 1.0)


def test_the_registry_finds_built_ins_files_and_modules_alike(tmp_path: Path, monkeypatch) -> None:
    assert resolve("rsi") is SimpleRsi and resolve("rsi_sma") is RsiSma
    assert resolve(f"{EXAMPLES / 'sma_cross.py'}:SmaCross").name == "sma_cross"
    (tmp_path / "mine.py").write_text(
        "from botrader.core.strategy import Strategy\n\n"
        "class Mine(Strategy):\n    def on_candle(self, c, i, a):\n        return None\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert resolve("mine:Mine").name == "mine"
    assert make("mine:Mine").decide  # built like any other
    names = {s["name"]: s["source"] for s in describe_all()}
    core = {"rsi_sma", "simple_rsi", "rsi_long_short"}
    assert names == {"ppo": "botrader-jobs", **dict.fromkeys(core, "botrader-core")}


def test_bad_references_are_one_line(tmp_path: Path) -> None:
    (tmp_path / "syntax.py").write_text("def broken(:\n")
    (tmp_path / "raises.py").write_text("raise RuntimeError('no network here')\n")
    (tmp_path / "plain.py").write_text("class NotAStrategy:\n    pass\n")
    cases = [
        ("macd", "unknown strategy 'macd': expected one of ppo, rsi, rsi_long_short, rsi_sma, simple_rsi"),
        (f"{tmp_path}/missing.py:X", "strategy file not found"),
        (f"{tmp_path}/syntax.py:X", "cannot import strategy file"),
        (f"{tmp_path}/raises.py:X", "RuntimeError: no network here"),
        (f"{tmp_path}/plain.py:Y", "has no class 'Y' (strategies there: none)"),
        (f"{tmp_path}/plain.py:NotAStrategy", "is not a Strategy subclass"),
        ("no_such_package.mod:X", "cannot import strategy module 'no_such_package.mod'"),
        ("a:b:c", "bad strategy reference 'a:b:c'"),
    ]
    for ref, needle in cases:
        with pytest.raises(UserError) as err:
            resolve(ref)
        assert needle in str(err.value) and "\n" not in str(err.value), (ref, str(err.value))


def test_the_crd_enum_is_the_registry() -> None:
    strategy = openapi_schema("TradingBot")["properties"]["spec"]["properties"]["strategy"]
    assert strategy["properties"]["type"]["enum"] == sorted([*builtin_names(), "custom"])


def test_search_spaces_give_the_walk_forward_grid() -> None:
    from botrader.core.backtesting.rolling_windows import default_grid

    assert default_grid(SimpleRsi, {}) == {"oversold": [20.0, 25.0, 30.0], "overbought": [70.0, 75.0, 80.0]}
    assert default_grid(RsiSma, {"oversold": 25})["sma_period"] == [100, 200]
    assert "oversold" not in default_grid(RsiSma, {"oversold": 25})
    assert sys.modules  # the file strategies above stay importable under their own module names
