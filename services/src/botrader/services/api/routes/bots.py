"""Bots: list, detail, trades, equity, performance; and the control endpoints."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request

from botrader.core.engine.performance import MIN_SHARPE_DAYS
from botrader.core.timeutil import ms_to_datetime
from botrader.services.api.control import ControlError
from botrader.services.api.deps import ActorDep, ControllerDep, TradingDep
from botrader.services.api.performance import bot_performance
from botrader.services.api.schemas import (
    BotDetail,
    BotSummary,
    ControlResult,
    EquityPoint,
    Trade,
    TradesPage,
    _utc,
)
from botrader.services.api.timeparams import TimeParam, parse_time

router = APIRouter(prefix="/bots", tags=["bots"])
BotName = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")]
ACTIONS = {"start": (False, False), "stop": (True, False), "emergency-stop": (False, True)}


def summary(row: dict[str, Any]) -> dict[str, Any]:
    spec = row["spec"] or {}
    return {
        "name": row["name"],
        "namespace": row["namespace"],
        "phase": row["phase"],
        "message": row["message"],
        "strategy": (spec.get("strategy") or {}).get("type", "rsi"),
        "symbol": spec.get("symbol", ""),
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


def _bot(store: TradingDep, name: str) -> dict[str, Any]:
    row = store.bot(name)
    if row is None:
        raise HTTPException(404, f"no bot named {name!r}")
    return row


@router.get("", response_model=list[BotSummary])
def list_bots(store: TradingDep) -> list[dict[str, Any]]:
    return [summary(r) for r in store.bots()]


@router.get("/{name}", response_model=BotDetail, responses={404: {"description": "unknown bot"}})
def get_bot(name: BotName, store: TradingDep) -> dict[str, Any]:
    row = _bot(store, name)
    decision = store.latest_order(name)
    if decision is not None:
        decision = {
            k: decision[k] for k in ("id", "time", "side", "action", "reason", "status", "explanation")
        }
        decision["time"] = _utc(decision["time"])
    return {**summary(row), "spec": row["spec"], "last_decision": decision}


@router.get("/{name}/trades", response_model=TradesPage, responses={404: {"description": "unknown bot"}})
def trades(
    name: BotName,
    store: TradingDep,
    start: TimeParam = None,
    end: TimeParam = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    _bot(store, name)
    rows, total = store.trades_page(name, parse_time(start, "start"), parse_time(end, "end"), limit, offset)
    items = [Trade(**{**r, **{k: float(r[k]) for k in ("quantity", "price", "fee", "pnl")}}) for r in rows]
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@router.get(
    "/{name}/equity", response_model=list[EquityPoint], responses={404: {"description": "unknown bot"}}
)
def equity(
    name: BotName,
    store: TradingDep,
    start: TimeParam = None,
    end: TimeParam = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 5000,
) -> list[dict[str, Any]]:
    _bot(store, name)
    rows = store.equity_series(name, parse_time(start, "start"), parse_time(end, "end"), limit)
    return [{**r, **{k: float(r[k]) for k in ("equity", "cash", "position", "price")}} for r in rows]


@router.get("/{name}/performance", responses={404: {"description": "unknown bot"}})
def performance(name: BotName, store: TradingDep, request: Request) -> dict[str, Any]:
    """The engine's metrics over the bot's persisted equity marks and fills. They change only
    when the trader persists a candle, so they are computed once per (last candle, fills):
    dashboards poll this every few seconds and a year of marks is 525,600 rows."""
    row = _bot(store, name)
    version = (row["last_candle_time"], row["trades"])
    cache: dict[str, tuple[Any, dict[str, Any]]] = request.app.state.performance_cache
    if name not in cache or cache[name][0] != version:
        figures = bot_performance(store, row).to_dict()
        cache[name] = (version, {"bot": name, **figures, "sharpe_min_days": MIN_SHARPE_DAYS})
    return cache[name][1]


@router.post(
    "/{name}/{action}",
    response_model=ControlResult,
    responses={
        401: {"description": "bad token"},
        403: {"description": "control disabled"},
        404: {"description": "unknown bot"},
        409: {"description": "no controller for this bot"},
    },
)
def control(
    name: BotName,
    action: Annotated[str, Path(pattern="^(start|stop|emergency-stop)$")],
    store: TradingDep,
    actor: ActorDep,
    controller: ControllerDep,
) -> dict[str, Any]:
    """start / stop / emergency-stop: what editing the TradingBot would do (spec.paused,
    spec.emergencyStop); recorded in the audit log with the caller and before/after."""
    row = _bot(store, name)
    driven = controller.bots() if controller is not None else set()
    if controller is None or (driven is not None and name not in driven):
        raise HTTPException(
            409,
            f"bot {name!r} is not controlled by this API process "
            "(embedded mode drives its own bots; in a cluster, run the API with BOTRADER_CONTROL=kubernetes)",
        )
    paused, emergency = ACTIONS[action]
    try:
        result = controller.apply(
            name, paused=paused, emergency_stop=emergency, actor=actor, namespace=row["namespace"]
        )
    except ControlError as exc:
        raise HTTPException(409, str(exc)) from exc
    return {"bot": name, "action": action, "phase": result["phase"]}


__all__ = ["ms_to_datetime", "router"]
