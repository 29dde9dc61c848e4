"""Time helpers. Internally every instant is an int of epoch milliseconds (UTC), as Binance
sends them: exact, cheap to compare, free of timezone mistakes. Datetimes appear only at the
edges (database columns, user input, display)."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime

from botrader.core.errors import UserError


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def ms_to_datetime(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def datetime_to_ms(value: datetime) -> int:
    if value.tzinfo is None:  # SQLite hands back naive datetimes that we stored as UTC
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1000)


def parse_instant(text: str, *, option: str = "date") -> int:
    """Parse `2024-01-01`, `2024-01-01T12:30`, `2024-01-01T12:30:00Z` or epoch ms into epoch ms.

    Naive values are UTC: market data has no local time.
    """
    raw = text.strip()
    if raw.isdigit():
        return int(raw)
    try:
        if len(raw) == 10:
            parsed = datetime.combine(date.fromisoformat(raw), datetime.min.time())
        else:
            parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise UserError(f"bad {option} {text!r}: expected YYYY-MM-DD or ISO-8601 (UTC)") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return datetime_to_ms(parsed)


def format_ms(ms: int) -> str:
    return ms_to_datetime(ms).strftime("%Y-%m-%d %H:%M")


def iso_ms(ms: int) -> str:
    """Epoch ms as ISO-8601 UTC with a Z (what --json and exports print)."""
    return ms_to_datetime(ms).isoformat().replace("+00:00", "Z")
