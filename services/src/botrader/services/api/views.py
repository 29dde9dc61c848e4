"""Rows as the API answers them (bots, candles): one place for each shape, used by the routes
and the stream."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException

from botrader.core.db.trading import TradingStore
from botrader.core.manifests import pairs_of
from botrader.services.api.books import book_of
from botrader.services.api.perpetual import perpetual_of
from botrader.services.api.schemas import _utc


def summary(row: dict[str, Any]) -> dict[str, Any]:
    spec = row["spec"] or {}
    return {
        "name": row["name"],
        "namespace": row["namespace"],
        "phase": row["phase"],
        "message": row["message"],
        "strategy": (spec.get("strategy") or {}).get("type", "rsi"),
        "symbol": ",".join(  # a portfolio's pairs, joined
            pairs_of(spec.get("symbol"), spec.get("symbols"), (spec.get("universe") or {}).get("candidates"))
        ),
        "interval": spec.get("interval", "1m"),
        "source": spec.get("source", "binance"),
        "budget": float(spec.get("budget", 0)),
        "equity": _f(row["equity"]),
        "cash": _f(row["cash"]),
        "position": _f(row["position"]),
        "pnl_percent": row["pnl_percent"],
        "trades": row["trades"],
        "last_candle_time": row["last_candle_time"],
        "breakers": row["breakers"] or {},
    }


def _f(value: Any) -> float | None:
    return None if value is None else float(value)


def bot_row(store: TradingStore, name: str) -> dict[str, Any]:
    row = store.bot(name)
    if row is None:
        raise HTTPException(404, f"no bot named {name!r}")
    return row


def detail(store: TradingStore, name: str) -> dict[str, Any]:
    row = bot_row(store, name)
    decision = store.latest_order(name)
    if decision is not None:
        decision = {
            k: decision[k] for k in ("id", "time", "side", "action", "reason", "status", "explanation")
        }
        decision["time"] = _utc(decision["time"])
    book = book_of(row)
    return {
        **summary(row),
        "spec": row["spec"],
        "last_decision": decision,
        "perpetual": perpetual(row),
        "positions": book.positions(),
        "universe": book.universe(),
    }


def perpetual(row: dict[str, Any]) -> dict[str, Any] | None:
    """A perpetual bot's margin, liquidation and funding from its saved state (its own
    instrument reads its own ledger); None on spot or before the first checkpoint."""
    from botrader.services.api.performance import instrument_of, market_of

    state = (row.get("state") or {}).get("engine")
    if not state:
        return None
    market = market_of(row)
    instrument = instrument_of(row, market)
    mark = int(state["last_close_ticks"])
    p = instrument.position(instrument.ledger_from_state(state["portfolio"]), mark)
    return None if p is None else perpetual_of(market, p, mark)


def candle_out(c: Any) -> dict[str, Any]:
    """A stored candle as `CandleOut` (open time in epoch ms)."""
    return {
        "time": c.open_time,
        "open": c.open,
        "high": c.high,
        "low": c.low,
        "close": c.close,
        "volume": c.volume,
    }
