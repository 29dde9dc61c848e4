"""A restarted operator resumes every bot; one whose children the watch cache shows as last
applied (the trader at the config hash Kopf stored as the handler's result, and its collector)
is not applied again — any missing or different child and it is."""

from __future__ import annotations

from typing import Any

from botrader.operator import builders, tradingbot
from botrader.operator.spec import Bot

SPEC = {"symbol": "BTCUSDT", "budget": 1000}
BOT = Bot.of("btc", "default", SPEC)
HASH = builders.config_hash(SPEC)


def cache(trader_hash: str | None, collector: bool = True) -> tradingbot.Lookup:
    found: dict[tuple[str, str], dict[str, Any]] = {}
    if trader_hash is not None:
        found[("default", "btc-trader")] = {"config": trader_hash}
    if collector:
        found.update({("default", name): {"hash": "x"} for name in BOT.collectors})
    return lambda namespace, name: found.get((namespace, name))


def body(stored: str | None) -> dict[str, Any]:
    return {"status": {"reconcile_bot": {"configHash": stored}} if stored else {}}


def test_a_bot_as_last_applied_is_not_applied_again() -> None:
    assert tradingbot.children_current(body(HASH), BOT, cache(HASH)) == HASH
    # and the trader Deployment the builders make carries that hash, as the index reads it
    trader = builders.trader_deployment(BOT, builders.OperatorSettings())
    assert trader["spec"]["template"]["metadata"]["annotations"][builders.CONFIG_HASH] == HASH


def test_anything_missing_or_different_is_applied() -> None:
    assert tradingbot.children_current(body(None), BOT, cache(HASH)) is None  # never handled
    assert tradingbot.children_current(body(HASH), BOT, cache(None)) is None  # trader gone
    assert tradingbot.children_current(body(HASH), BOT, cache("other")) is None  # trader differs
    assert tradingbot.children_current(body(HASH), BOT, cache(HASH, collector=False)) is None
