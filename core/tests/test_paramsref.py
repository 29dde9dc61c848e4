"""A bot's paramsFrom: it waits, with the reason, until the search succeeded and its card
passed; then it trades the best parameters under its own explicit ones."""

from __future__ import annotations

import pytest

from botrader.core import paramsref
from botrader.core.bot_engine import strategy_params
from botrader.core.errors import UserError
from botrader.core.manifests import parse_trading_bot
from botrader.core.strategy.library import SimpleRsi

SPEC = {
    "symbol": "BTCUSDT",
    "strategy": {"type": "simple_rsi", "params": {"period": 9}, "paramsFrom": {"optimizationRun": "s"}},
}


def run(**status: object) -> dict:
    return {"metadata": {"name": "s"}, "status": status}


@pytest.mark.parametrize(
    ("found", "reason"),
    [
        (None, "OptimizationRunNotFound"),
        (run(phase="Running", progress="3/10"), "WaitingForSearch"),
        (run(phase="Succeeded"), "WaitingForSearch"),  # the card is not in yet
        (run(phase="Failed"), "OptimizationRunFailed"),
        (run(phase="Succeeded", verdict="no evidence of skill: PBO 0.62", passes=False), "VerdictFailed"),
    ],
)
def test_the_bot_waits_and_says_why(found: dict | None, reason: str) -> None:
    resolution = paramsref.resolve("s", found, "default")
    assert not resolution.ready and resolution.reason == reason
    if reason == "VerdictFailed":
        assert "PBO 0.62" in resolution.message


def test_a_passing_search_gives_its_params_under_the_manifests_own() -> None:
    best = {"oversold": 21.5, "overbought": 78.0, "period": 27}
    resolution = paramsref.resolve(
        "s", run(phase="Succeeded", verdict="evidence", passes=True, bestParams=best), "ns"
    )
    assert resolution.ready and resolution.params == best
    spec = paramsref.with_params(SPEC, resolution.params)
    assert spec["strategy"]["params"] == {"oversold": 21.5, "overbought": 78.0, "period": 9}
    assert "paramsFrom" not in spec["strategy"] and "paramsFrom" in SPEC["strategy"]


def test_outside_the_operator_an_unresolved_reference_is_one_line() -> None:
    bot = parse_trading_bot(
        {"apiVersion": "botrader.io/v1alpha1", "kind": "TradingBot", "metadata": {"name": "b"}, "spec": SPEC},
        source="test",
    )
    with pytest.raises(
        UserError, match="paramsFrom names OptimizationRun 's', which only the operator resolves"
    ):
        strategy_params(bot, SimpleRsi)
