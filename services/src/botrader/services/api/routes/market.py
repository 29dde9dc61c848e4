"""Candles (resampled from 1m as Binance aggregates), strategies, models, audit."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, HTTPException, Query, Request, Response
from pydantic_core import to_json

from botrader.core.candles import SeriesKey
from botrader.core.db.changes import candles_topic
from botrader.core.intervals import interval_ms
from botrader.core.resample import resample
from botrader.core.strategy.registry import describe_all
from botrader.services.api.answers import adapter, cache_key, encode, json_response
from botrader.services.api.deps import CacheDep, CandlesDep, TradingDep
from botrader.services.api.mlflow_models import (
    TrackingUnreachable,
    describe,
    describe_searches,
    from_tracking,
)
from botrader.services.api.schemas import AuditEntry, CandleOut, ModelsOut, SearchesOut, StrategyInfo
from botrader.services.api.settings import SettingsDep
from botrader.services.api.timeparams import TimeParam, parse_time
from botrader.services.api.views import candle_out

router = APIRouter(tags=["market"])
Symbol = Annotated[str, Query(pattern=r"^[A-Za-z0-9]{2,20}$")]
Exchange = Annotated[Literal["binance", "binance-testnet", "replay"], Query()]


@router.get("/candles", response_model=list[CandleOut])
async def candles(
    store: CandlesDep,
    cache: CacheDep,
    request: Request,
    symbol: Symbol = "BTCUSDT",
    interval: Literal["1m", "5m", "15m", "1h"] = "1m",
    exchange: Exchange = "binance",
    start: TimeParam = None,
    end: TimeParam = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> Response:
    """The newest `limit` candles in [start, end]; 5m/15m/1h from stored 1m, whole buckets only."""
    lo, hi = parse_time(start, "start"), parse_time(end, "end")
    key = SeriesKey(exchange, symbol.upper(), "1m")
    body = await cache.get(
        candles_topic(str(key)), cache_key(request), lambda: candles_json(store, key, interval, lo, hi, limit)
    )
    return json_response(body)


def candles_json(
    store: CandlesDep, key: SeriesKey, interval: str, lo: int | None, hi: int | None, limit: int
) -> bytes:
    per = interval_ms(interval) // 60_000
    rows = store.load(key, lo, hi, limit=limit * per + per, newest=True)
    if not rows:
        return b"[]"
    if per == 1:  # the hot path: no frame, no per-item model validation (the shape is CandleOut)
        return to_json([candle_out(c) for c in rows[-limit:]])
    frame = pd.DataFrame(
        [(c.open_time, c.open, c.high, c.low, c.close, c.volume) for c in rows],
        columns=["open_time", "open", "high", "low", "close", "volume"],
    )
    frame = resample(frame, "1m", interval).tail(limit)
    out = [
        {"time": int(t), "open": o, "high": h, "low": lo_, "close": c, "volume": v}
        for t, o, h, lo_, c, v in frame.itertuples(index=False)
    ]
    return to_json(out)


@router.get("/strategies", response_model=list[StrategyInfo])
def strategies() -> list[dict[str, Any]]:
    """Every registered strategy: its description (the class's docstring), parameters with
    types, defaults, bounds and search space, and the exits it declares."""
    return describe_all()


@router.get("/optimizations", response_model=SearchesOut)
def optimizations(
    settings: SettingsDep,
    experiment: Annotated[str, Query(min_length=1, max_length=200)] = "botrader-optimize",
) -> dict[str, Any]:
    """Parameter searches (`botrader optimize`, OptimizationRuns) in an MLflow experiment,
    newest first: progress, best parameters, PBO, DSR, PSR and the verdict."""
    try:
        found = from_tracking(
            settings.mlflow_tracking_uri, lambda source: describe_searches(source, experiment)
        )
    except TrackingUnreachable as exc:
        raise HTTPException(503, str(exc)) from None
    if found is None:
        uri = settings.mlflow_tracking_uri
        return {"configured": False, "tracking_uri": uri, "experiment": experiment, "searches": []}
    uri, searches = found
    return {"configured": True, "tracking_uri": uri, "experiment": experiment, "searches": searches}


@router.get("/models", response_model=ModelsOut)
def models(settings: SettingsDep) -> dict[str, Any]:
    """Registered models: versions, their runs' metrics, budget, the TrainingRun that made them
    and their feature attributions — when MLFLOW_TRACKING_URI is set."""
    try:
        found = from_tracking(settings.mlflow_tracking_uri, describe)
    except TrackingUnreachable as exc:  # an unreachable tracking server is a 503, not a crash
        raise HTTPException(503, str(exc)) from None
    if found is None:  # a local store needs the mlflow package (embedded mode has it)
        return {"configured": False, "tracking_uri": settings.mlflow_tracking_uri, "models": []}
    uri, models = found
    return {"configured": True, "tracking_uri": uri, "models": models}


AUDIT_ENTRIES = adapter(list[AuditEntry])


@router.get("/audit", response_model=list[AuditEntry])
async def audit(
    store: TradingDep,
    cache: CacheDep,
    request: Request,
    bot: Annotated[str | None, Query(max_length=128)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    """Control changes, newest first: who, what, when, before and after."""
    body = await cache.get(
        "audit:*",
        cache_key(request),
        lambda: encode(AUDIT_ENTRIES, store.audit_log(bot, limit=limit, newest=True)),
    )
    return json_response(body)
