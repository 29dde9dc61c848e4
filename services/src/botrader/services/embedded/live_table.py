"""A terminal table of the newest candles with their RSI and MACD, updated as they land."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from typing import Any

from rich.table import Table

from botrader.core.candles import Candle, SeriesKey
from botrader.core.indicators import StreamingIndicators
from botrader.core.timeutil import format_ms


class LiveCandles:
    """Feed committed candles in; `render()` gives the table. Indicators are the streaming
    ones the trader uses, so what you see is what a bot would decide on."""

    def __init__(self, key: SeriesKey, rows: int = 12) -> None:
        self.key = key
        self.indicators = StreamingIndicators()
        self.rows: deque[tuple[Candle, dict[str, float | None]]] = deque(maxlen=rows)
        self.count = 0
        self.newest = -1

    def add(self, key: SeriesKey, candles: Sequence[Candle], _changed: int = 0) -> None:
        if key != self.key:
            return
        for candle in candles:
            if candle.open_time <= self.newest:
                continue  # already shown (a replayed or re-sent candle)
            self.newest = candle.open_time
            self.count += 1
            self.rows.append((candle, self.indicators.update(candle)))

    def render_bot(self, trader: Any) -> Table:
        return render_bot(trader)

    def render(self) -> Table:
        table = Table(title=f"{self.key} — {self.count} candles stored", expand=False)
        for name in ("time (UTC)", "open", "high", "low", "close", "volume", "RSI(14)", "MACD", "signal"):
            table.add_column(name, justify="right")
        for candle, ind in self.rows:
            rsi = ind.get("rsi")
            style = "green" if rsi is not None and rsi < 30 else "red" if rsi is not None and rsi > 70 else ""
            table.add_row(
                format_ms(candle.open_time)[5:],
                *(significant(p) for p in (candle.open, candle.high, candle.low, candle.close)),
                f"{candle.volume:.2f}",
                _fmt(rsi, 1),
                significant(ind.get("macd"), 3),
                significant(ind.get("macd_signal"), 3),
                style=style,
            )
        return table


def render_bot(trader: Any) -> Table:
    """The bot's line: phase, money, position and its latest decision."""
    s = trader.summary()
    table = Table(title=f"bot {trader.bot.name} ({trader.strategy_name})", expand=False)
    for name in ("phase", "equity", "PnL", "cash", "position", "fills", "breakers"):
        table.add_column(name, justify="right")
    color = "green" if s["pnl_percent"] >= 0 else "red"
    table.add_row(
        s["phase"],
        f"{s['equity']:,.2f}",
        f"[{color}]{s['pnl_percent']:+.2f}%[/{color}]",
        f"{s['cash']:,.2f}",
        trader.holding(),
        str(s["trades"]),
        ", ".join(s["breakers"]) or "–",
    )
    return table


def _fmt(value: float | None, digits: int) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def significant(value: float | None, digits: int = 6) -> str:
    """`digits` significant figures without an exponent, at least one decimal: a BTC price
    reads 97,012.5 and an ALGO one 0.341200 (a fixed one decimal showed ALGO as 0.3 — every
    candle alike — and its MACD as 0.00)."""
    if value is None:
        return "–"
    if value == 0:
        return "0.0"
    decimals = min(12, max(1, digits - 1 - math.floor(math.log10(abs(value)))))
    return f"{value:,.{decimals}f}"
