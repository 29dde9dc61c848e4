"""Parsing of Binance's kline payloads (REST arrays and WebSocket events) into `Candle`s."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botrader.core.candles import Candle


class MalformedMessage(ValueError):
    """A payload that is not a well-formed kline; `reason` is a bounded metric label."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


@dataclass(frozen=True, slots=True)
class KlineEvent:
    symbol: str
    interval: str
    candle: Candle
    close_time: int
    closed: bool
    event_time: int


def candle_from_rest(row: list[Any]) -> tuple[Candle, int]:
    """A `/api/v3/klines` row -> (candle, close_time). Prices arrive as decimal strings."""
    try:
        candle = Candle(
            open_time=int(row[0]),
            open=float(row[1]),
            high=float(row[2]),
            low=float(row[3]),
            close=float(row[4]),
            volume=float(row[5]),
            quote_volume=float(row[7]),
            trades=int(row[8]),
        )
        return candle, int(row[6])
    except (IndexError, TypeError, ValueError) as exc:
        raise MalformedMessage("bad_rest_row", repr(row)[:200]) from exc


def kline_from_stream(message: Any) -> KlineEvent:
    """A combined-stream message `{"stream": ..., "data": {"e": "kline", "k": {...}}}`
    (or a raw-stream event without the wrapper) -> KlineEvent."""
    if not isinstance(message, dict):
        raise MalformedMessage("not_object", repr(message)[:200])
    data = message.get("data", message)
    if not isinstance(data, dict) or data.get("e") != "kline":
        raise MalformedMessage("unexpected_event", repr(message)[:200])
    k = data.get("k")
    try:
        candle = Candle(
            open_time=int(k["t"]),
            open=float(k["o"]),
            high=float(k["h"]),
            low=float(k["l"]),
            close=float(k["c"]),
            volume=float(k["v"]),
            quote_volume=float(k["q"]),
            trades=int(k["n"]),
        )
        closed = k["x"]
        if not isinstance(closed, bool):
            raise TypeError("x is not a boolean")
        return KlineEvent(str(k["s"]), str(k["i"]), candle, int(k["T"]), closed, int(data["E"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedMessage("bad_kline", repr(message)[:200]) from exc
