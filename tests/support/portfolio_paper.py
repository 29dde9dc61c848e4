"""A portfolio bot's paper run against its backtest: the candles stored as collectors store
them, and every stored row compared with an uninterrupted backtest's to the unit."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine, text

from botrader.core.bot_engine import portfolio_config, sleeve_config, strategy_for
from botrader.core.candles import make_key
from botrader.core.data.files import frame_to_candles
from botrader.core.db import connect, upgrade
from botrader.core.db.candles import CandleStore
from botrader.core.db.trading import TradingStore
from botrader.core.manifests import TradingBot
from botrader.core.portfolio.backtest import run_portfolio_backtest
from botrader.core.timeutil import datetime_to_ms
from tests.support.paths import BINANCE_MONTH, REPO


def stored(url: str, data: dict[str, pd.DataFrame], source: str = "replay") -> Engine:
    """A database at the newest schema holding each pair's candles (as its collector would)."""
    db = connect(url)
    upgrade(db)
    for symbol, frame in data.items():
        CandleStore(db).upsert(make_key(source, symbol, "1m"), frame_to_candles(frame))
    return db


def backtest_of(
    bot: TradingBot, data: dict[str, pd.DataFrame], config_for: Any = None, warmup: int = 0
) -> tuple[Any, ...]:
    """`run_portfolio_backtest`'s arguments for the bot over `data` (`config_for`: each pair's
    engine, default the manifest's `sleeve_config`; `warmup`: minutes that only warm)."""
    from botrader.core.bot_engine import universe_rule
    from botrader.core.cli.portfolio_backtest import schedule_for

    spec = bot.spec
    return (
        data,
        lambda s: strategy_for(bot),
        config_for or (lambda s: sleeve_config(spec, s)),
        Decimal(str(spec.budget)),
        portfolio_config(spec),
        schedule_for(data, universe_rule(spec), warmup),
    )


def assert_equals_backtest(
    db: Engine,
    bot: TradingBot,
    data: dict[str, pd.DataFrame],
    config_for: Any = None,
    least: int = 20,
    warmup: int = 0,
) -> Any:
    """The stored fills (with their pair, numbered across pairs in time order), orders, equity
    marks, funding payments (each with its pair) and summary are the backtest's, to the unit.
    Returns the backtest (which made more than `least` fills)."""
    expected = run_portfolio_backtest(*backtest_of(bot, data, config_for, warmup), warmup=warmup)
    store = TradingStore(db)
    rows = [
        (
            r["symbol"],
            datetime_to_ms(r["time"]),
            r["side"],
            r["quantity"],
            r["price"],
            r["fee"],
            r["pnl"],
            r["reason"],
        )
        for r in store.fills(bot.name)
    ]
    want = sorted(
        (
            s.symbol,
            f.time,
            f.side,
            s.engine.market.to_base(f.lots),
            s.engine.market.price(f.price),
            s.engine.market.to_quote(f.fee),
            s.engine.market.to_quote(f.pnl),
            f.reason,
        )
        for s in expected.engine.sleeves
        for f in s.engine.fills
    )
    assert len(rows) == len(want) > least
    assert sorted(rows) == want  # every fill once, to the unit
    assert [r["seq"] for r in store.fills(bot.name)] == list(range(1, len(want) + 1))
    times = [t for _, t, *_ in rows]
    assert times == sorted(times)  # numbered across the symbols in time order
    with db.connect() as conn:
        orders = conn.execute(text("select symbol from orders where bot = :b"), {"b": bot.name}).all()
    assert {s for (s,) in orders} >= {s for s, *_ in want} and len(orders) >= len(want)
    marks = store.equity_series(bot.name)
    unit = expected.engine.unit
    assert [m["equity"] for m in marks] == [e * unit for e in expected.engine.equity]
    row = store.bot(bot.name)
    assert row["trades"] == len(want)
    assert row["equity"] == expected.engine.to_quote(expected.engine.equity_now())
    paid = [(r["symbol"], datetime_to_ms(r["time"]), r["amount"]) for r in store.funding(bot.name)]
    owed = sorted(
        (s.symbol, t, s.engine.market.to_quote(amount))
        for s in expected.engine.sleeves
        for t, _, amount in s.engine.funding_events
    )
    assert sorted(paid, key=lambda p: (p[1], p[0])) == sorted(owed, key=lambda p: (p[1], p[0]))
    return expected


def two_days_of_four_pairs(tmp_path: Path, example: str) -> Path:
    """The example manifest `example` (of examples/) replaying the first two days of the four
    bundled pairs from a folder of dump files (each under its dump name): the manifest's path."""
    import yaml

    from botrader.core.data.files import read_candles_frame

    folder = tmp_path / "dumps"
    folder.mkdir()
    for symbol, path in BINANCE_MONTH.items():
        read_candles_frame(path).iloc[:2880].to_csv(folder / f"{symbol}-1m-2025-02.csv", index=False)
    doc = yaml.safe_load((REPO / "examples" / example).read_text())
    doc["spec"]["replay"]["path"] = str(folder)
    manifest = tmp_path / "bot.yaml"
    manifest.write_text(yaml.safe_dump(doc))
    return manifest
