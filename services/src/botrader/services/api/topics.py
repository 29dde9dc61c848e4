"""What `/ws` clients watch: one class per kind of topic behind one small interface. A topic
knows its cursor (what it sent last), how to read a snapshot for a new subscriber and what it
gained since; the broadcaster (`stream.py`) only schedules, locks and fans out, whatever the
kind. A new kind is a new class in `KINDS`, not a branch in the broadcaster.

All reads run in worker threads (they query the database or MLflow)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from pydantic_core import to_json

from botrader.core.candles import SeriesKey
from botrader.core.db import changes
from botrader.core.db.candles import CandleStore
from botrader.core.db.trading import TradingStore
from botrader.core.timeutil import datetime_to_ms
from botrader.services.api import run_updates
from botrader.services.api.answers import adapter
from botrader.services.api.feed import EVERYTHING, ChangeFeed
from botrader.services.api.schemas import (
    AuditEntry,
    BotDetail,
    BotSummary,
    CandleOut,
    EquityPoint,
    Trade,
    TradesPage,
)
from botrader.services.api.views import candle_out, detail, summary

SNAPSHOT_CANDLES, SNAPSHOT_TRADES, SNAPSHOT_AUDIT = 500, 100, 20
SUMMARY, DETAIL, PAGE = adapter(BotSummary), adapter(BotDetail), adapter(TradesPage)
TRADES, POINTS, CANDLES, AUDITS = (adapter(list[t]) for t in (Trade, EquityPoint, CandleOut, AuditEntry))


def message(kind: str, **parts: Any) -> str:
    """One JSON text frame; bytes values are already-encoded JSON (pydantic's), spliced in."""
    fields = [f'"type":{json.dumps(kind)}']
    for name, value in parts.items():
        encoded = (value if isinstance(value, bytes) else to_json(value)).decode()
        fields.append(f"{json.dumps(name)}:{encoded}")
    return "{" + ",".join(fields) + "}"


@dataclass(frozen=True)
class Sources:
    trading: TradingStore
    candles: CandleStore
    feed: ChangeFeed
    tracking_uri: str | None


class Topic(Protocol):
    polled: ClassVar[bool]  # read every `run_updates.POLL` seconds (nobody notifies its changes)

    def hears(self, changed: str) -> bool:
        """Whether a change notification concerns this topic."""
        ...

    def start(self) -> None:
        """Set the cursor at what is there now; LookupError when there is nothing to watch."""
        ...

    def snapshot(self) -> str: ...

    def delta(self) -> str | None:
        """What was added since the cursor (None: nothing), moving the cursor past it."""
        ...

    def watched(self, on: bool) -> None:
        """The first subscriber came (True) or the last one left (False)."""
        ...


class _Topic:
    polled: ClassVar[bool] = False

    def __init__(self, name: str, key: str, sources: Sources) -> None:
        self.name, self.key, self.sources = name, key, sources

    def hears(self, changed: str) -> bool:
        return changed in (self.name, EVERYTHING)

    def watched(self, on: bool) -> None:
        return None


class BotTopic(_Topic):
    """A bot's summary, fills and equity marks."""

    def start(self) -> None:
        row = self.sources.trading.bot(self.key)
        if row is None:
            raise LookupError(f"no bot named {self.key!r}")
        (self.seq, self.mark), self.last = self.sources.trading.newest(self.key), summary(row)

    def snapshot(self) -> str:
        trading = self.sources.trading
        rows, total = trading.trades_page(self.key, limit=SNAPSHOT_TRADES)
        page = {"items": rows, "total": total, "limit": SNAPSHOT_TRADES, "offset": 0}
        return message(
            "snapshot",
            bot=self.key,
            detail=DETAIL.dump_json(DETAIL.validate_python(detail(trading, self.key))),
            trades=PAGE.dump_json(PAGE.validate_python(page)),
        )

    def delta(self) -> str | None:
        row, fills, marks = self.sources.trading.since(self.key, self.seq, self.mark)
        if row is None:
            return None
        now = summary(row)
        changed = [k for k, v in now.items() if self.last.get(k) != v]
        if not changed and not fills and not marks:
            return None
        self.last = now
        if fills:
            self.seq = fills[-1]["seq"]
        if marks:
            self.mark = datetime_to_ms(marks[-1]["time"])
        return message(
            "bot",
            bot=self.key,
            changed=changed,
            summary=SUMMARY.dump_json(SUMMARY.validate_python(now)),
            fills=TRADES.dump_json(TRADES.validate_python(fills)),
            equity=POINTS.dump_json(POINTS.validate_python(marks)),
        )


class CandlesTopic(_Topic):
    """A series' candles (the newest one again while it may still be revised)."""

    def start(self) -> None:
        last = self.sources.candles.last_open_time(SeriesKey(*self.key.split(":")))
        self.mark = -1 if last is None else last

    def snapshot(self) -> str:
        rows = self.sources.candles.load(SeriesKey(*self.key.split(":")), limit=SNAPSHOT_CANDLES, newest=True)
        return message("snapshot", series=self.key, candles=[candle_out(c) for c in rows])

    def delta(self) -> str | None:
        rows = self.sources.candles.load(SeriesKey(*self.key.split(":")), start=max(self.mark, 0), limit=5000)
        fresh = [candle_out(c) for c in rows]  # the last one again: a live candle may be revised
        if not fresh or (len(fresh) == 1 and fresh[0]["time"] == self.mark):
            return None
        self.mark = fresh[-1]["time"]
        return message("candles", series=self.key, items=fresh)

    def watched(self, on: bool) -> None:
        """Polling (standalone SQLite) reads only the series someone watches."""
        (self.sources.feed.watched_series.add if on else self.sources.feed.watched_series.discard)(self.key)


class AuditTopic(_Topic):
    """A bot's audit rows (`audit:*`: every bot's)."""

    def hears(self, changed: str) -> bool:
        return changed in (self.name, EVERYTHING, changes.audit_topic("*"))

    def start(self) -> None:
        newest = self.sources.trading.audit_log(self.key, limit=1, newest=True)
        self.audit = newest[0]["id"] if newest else 0

    def snapshot(self) -> str:
        rows = self.sources.trading.audit_log(self.key, limit=SNAPSHOT_AUDIT, newest=True)
        return message("snapshot", audit=self.key, items=AUDITS.dump_json(AUDITS.validate_python(rows)))

    def delta(self) -> str | None:
        rows = self.sources.trading.audit_log(self.key, after=self.audit)
        if not rows:
            return None
        self.audit = rows[-1]["id"]
        return message("audit", audit=self.key, items=AUDITS.dump_json(AUDITS.validate_python(rows)))


class RunsTopic(_Topic):
    """An MLflow experiment's newest runs: polled, since MLflow notifies nobody."""

    polled = True

    def start(self) -> None:
        self.last = run_updates.read(self.key, self.sources.tracking_uri)

    def snapshot(self) -> str:
        return message("snapshot", experiment=self.key, runs=list(self.last.values()))

    def delta(self) -> str | None:
        self.last, runs = run_updates.changed(self.key, self.last, self.sources.tracking_uri)
        return message("runs", experiment=self.key, runs=runs) if runs else None


KINDS: dict[str, type[_Topic]] = {
    "bot": BotTopic,
    "candles": CandlesTopic,
    "audit": AuditTopic,
    run_updates.KIND: RunsTopic,
}


def topic_for(name: str, sources: Sources) -> Topic:
    kind, _, key = name.partition(":")
    if kind not in KINDS:
        raise LookupError(f"unknown topic kind {kind!r}")
    return KINDS[kind](name, key, sources)
