"""Migration 0007 keys a bot's funding payments by pair too: a one-symbol bot's payments
stored before it are kept (symbol ''), and two pairs of a portfolio settling at the same
funding time are both stored — on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import text

from botrader.core.db import connect, upgrade
from botrader.core.db.trading import TradingStore
from botrader.core.engine.units import MarketRules
from botrader.core.timeutil import datetime_to_ms

AT = datetime(2025, 2, 1, 8, tzinfo=UTC)


def test_funding_rows_survive_the_migration_and_two_pairs_share_a_time(db_url: str) -> None:
    db = connect(db_url)
    upgrade(db, "0006")
    with db.begin() as conn:
        conn.execute(
            text("insert into funding (bot, time, rate, amount) values ('one', :t, 0.0001, -1.25)"), {"t": AT}
        )
    upgrade(db)
    store = TradingStore(db)
    [kept] = store.funding("one")
    t = int(AT.timestamp() * 1000)
    assert (kept["symbol"], datetime_to_ms(kept["time"]), kept["amount"]) == ("", t, Decimal("-1.25"))

    store.register("book", "default", {"symbols": ["AVAXUSDT", "NEARUSDT"]})
    rules = {s: MarketRules(symbol=s) for s in ("AVAXUSDT", "NEARUSDT")}
    payments = [
        ("NEARUSDT", rules["NEARUSDT"], (t, 10_000, -300)),
        ("AVAXUSDT", rules["AVAXUSDT"], (t, -5_000, 200)),
    ]
    for _ in range(2):  # a checkpoint written again (a restart) stores nothing twice
        store.save_portfolio_progress("book", {}, {}, [], [], [], payments)
    paid = [(r["symbol"], datetime_to_ms(r["time"]), r["rate"]) for r in store.funding("book")]
    assert paid == [("AVAXUSDT", t, Decimal("-0.00005")), ("NEARUSDT", t, Decimal("0.0001"))]
