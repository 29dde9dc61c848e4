"""The traders' database, when the operator is given it (BOTRADER_DB_URL): the trading summary
in a bot's status comes from its trader's row, and spec changes land in the audit table.
SQLAlchemy is synchronous: callers on the event loop go through `asyncio.to_thread`."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from botrader.operator.settings import OperatorSettings


@cache
def trading_store(db_url: str) -> Any:
    from botrader.core.db import connect
    from botrader.core.db.trading import TradingStore

    return TradingStore(connect(db_url))


def trader_state(settings: OperatorSettings, name: str) -> dict[str, Any] | None:
    return trading_store(settings.db_url).bot(name) if settings.db_url else None


def one_line(exc: BaseException) -> str:
    """An error for a condition's message: one line, a database password masked."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return re.sub(r"(://[^:/@\s]+:)[^@\s]+@", r"\1***@", text)[:300]


def audit(
    settings: OperatorSettings, actor: str, bot: str, before: dict[str, Any], after: dict[str, Any]
) -> None:
    if settings.db_url:
        trading_store(settings.db_url).audit(actor, bot, "spec", before, after)
