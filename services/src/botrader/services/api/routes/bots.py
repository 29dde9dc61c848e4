"""Bots: list, detail, trades, equity, performance; and the control endpoints."""

from __future__ import annotations

import json
from dataclasses import asdict
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response

from botrader.core.binance.filters import assets_of, rules_for
from botrader.core.db.changes import bot_topic
from botrader.core.db.venue import VenueStore
from botrader.core.engine.performance import MIN_SHARPE_DAYS
from botrader.core.timeutil import ms_to_datetime
from botrader.core.venue.divergence import divergence
from botrader.core.venue.ledger import Ledger
from botrader.services.api.answers import adapter, cache_key, encode, json_response
from botrader.services.api.books import book_of
from botrader.services.api.control import ControlError
from botrader.services.api.deps import ActorDep, CacheDep, ControllerDep, TradingDep
from botrader.services.api.schemas import (
    BotDetail,
    BotSummary,
    ControlResult,
    DivergenceOut,
    EquityPoint,
    RoundTrip,
    TradesPage,
    VenueOrderOut,
)
from botrader.services.api.timeparams import TimeParam, parse_time
from botrader.services.api.views import bot_row, detail, summary

router = APIRouter(prefix="/bots", tags=["bots"])
BotName = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")]
ACTIONS = {"start": (False, False), "stop": (True, False), "emergency-stop": (False, True)}


TRIPS = adapter(list[RoundTrip])
SUMMARIES, DETAIL, PAGE, POINTS = (
    adapter(t) for t in (list[BotSummary], BotDetail, TradesPage, list[EquityPoint])
)


@router.get("", response_model=list[BotSummary])
async def list_bots(store: TradingDep, cache: CacheDep, request: Request) -> Response:
    body = await cache.get(
        "bot:*", cache_key(request), lambda: encode(SUMMARIES, [summary(r) for r in store.bots()])
    )
    return json_response(body)


@router.get("/{name}", response_model=BotDetail, responses={404: {"description": "unknown bot"}})
async def get_bot(name: BotName, store: TradingDep, cache: CacheDep, request: Request) -> Response:
    body = await cache.get(bot_topic(name), cache_key(request), lambda: encode(DETAIL, detail(store, name)))
    return json_response(body)


@router.get("/{name}/trades", response_model=TradesPage, responses={404: {"description": "unknown bot"}})
async def trades(
    name: BotName,
    store: TradingDep,
    cache: CacheDep,
    request: Request,
    start: TimeParam = None,
    end: TimeParam = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Response:
    lo, hi = parse_time(start, "start"), parse_time(end, "end")

    def page() -> bytes:
        bot_row(store, name)
        rows, total = store.trades_page(name, lo, hi, limit, offset)
        return encode(PAGE, {"items": rows, "total": total, "limit": limit, "offset": offset})

    return json_response(await cache.get(bot_topic(name), cache_key(request), page))


@router.get(
    "/{name}/equity", response_model=list[EquityPoint], responses={404: {"description": "unknown bot"}}
)
async def equity(
    name: BotName,
    store: TradingDep,
    cache: CacheDep,
    request: Request,
    start: TimeParam = None,
    end: TimeParam = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 5000,
    points: Annotated[
        int | None, Query(ge=2, le=5000, description="at most this many marks, evenly spaced over the range")
    ] = None,
) -> Response:
    """Equity marks oldest first: the newest `limit` of [start, end], or with `points` the
    whole range thinned to that many (the first and the newest kept) — a sparkline's worth."""
    lo, hi = parse_time(start, "start"), parse_time(end, "end")

    def answer() -> bytes:
        bot_row(store, name)
        marks = store.equity_series(name, lo, hi, None if points else limit)
        if points and len(marks) > points:
            step = (len(marks) - 1) / (points - 1)
            marks = [marks[round(i * step)] for i in range(points)]
        return encode(POINTS, marks)

    return json_response(await cache.get(bot_topic(name), cache_key(request), answer))


@router.get(
    "/{name}/round-trips", response_model=list[RoundTrip], responses={404: {"description": "unknown bot"}}
)
async def round_trips(name: BotName, store: TradingDep, cache: CacheDep, request: Request) -> Response:
    """Closed round trips, oldest first, with the reason the position was closed."""
    return json_response(
        await cache.get(
            bot_topic(name),
            cache_key(request),
            lambda: encode(TRIPS, book_of(bot_row(store, name)).trips(store)),
        )
    )


@router.get(
    "/{name}/orders", response_model=list[VenueOrderOut], responses={404: {"description": "unknown bot"}}
)
def venue_orders(name: BotName, store: TradingDep) -> list[dict[str, Any]]:
    """The bot's orders on its venue (none for a paper bot), oldest first, with their states
    and venue ids — read fresh: the venue's answers land between the trader's checkpoints."""
    row = bot_row(store, name)
    m = rules_for((row["spec"] or {}).get("symbol", "BTCUSDT"))
    return [
        {
            "client_id": o.intent.client_id,
            "decision": o.intent.decision,
            "side": o.intent.side,
            "quantity": float(m.to_base(o.intent.lots)),
            "state": o.state.value,
            "venue_id": o.venue_id,
            "filled_quantity": float(m.to_base(o.filled_lots)),
            "error": o.error,
            "created": o.intent.created_ms,
        }
        for o in VenueStore(store.engine).orders(name)
    ]


@router.get(
    "/{name}/divergence", response_model=DivergenceOut, responses={404: {"description": "unknown bot"}}
)
def venue_divergence(name: BotName, store: TradingDep) -> dict[str, Any]:
    """Paper against venue for a bot with `spec.venue` (and its shadow paper engine): each
    decision's price difference in bps, fees, delay, fills and rejections, and overall."""
    row = bot_row(store, name)
    spec = row["spec"] or {}
    base, quote = assets_of(spec.get("symbol", "BTCUSDT"))
    venue = VenueStore(store.engine)
    found = divergence(store.fills(name), venue.orders(name), venue.fills(name), base, quote)
    decisions = [
        {k: float(v) if isinstance(v, Decimal) else v for k, v in asdict(d).items()} for d in found.decisions
    ]
    kind = (spec.get("venue") or {}).get("type", "paper")
    last = store.equity_series(name, limit=1)
    paper = venue_equity = None
    if last:
        ledger = Ledger.of(venue.fills(name), base, quote)
        price, budget = Decimal(str(last[0]["price"])), Decimal(str(spec.get("budget", 0)))
        paper, venue_equity = float(last[0]["equity"]), float(ledger.equity(budget, price))
    return {
        "bot": name,
        "venue": kind,
        **found.summary(),
        "paper_equity": paper,
        "venue_equity": venue_equity,
        "per_decision": decisions,
    }


@router.get("/{name}/performance", responses={404: {"description": "unknown bot"}})
async def performance(name: BotName, store: TradingDep, cache: CacheDep, request: Request) -> Response:
    """The engine's metrics over the bot's persisted equity marks and fills. They change only
    when the trader persists a candle, so they are computed once per (last candle, fills), even
    where the feed cannot tell (standalone SQLite): a year of marks is 525,600 rows."""
    figures: dict[str, tuple[Any, dict[str, Any]]] = request.app.state.performance_cache

    def compute() -> bytes:
        row = bot_row(store, name)
        version = (row["last_candle_time"], row["trades"])
        if name not in figures or figures[name][0] != version:
            found = book_of(row).performance(store).to_dict()
            figures[name] = (version, {"bot": name, **found, "sharpe_min_days": MIN_SHARPE_DAYS})
        return json.dumps(figures[name][1], allow_nan=False, separators=(",", ":")).encode()

    return json_response(await cache.get(bot_topic(name), cache_key(request), compute))


@router.post(
    "/{name}/{action}",
    response_model=ControlResult,
    responses={
        401: {"description": "missing or wrong token"},
        429: {"description": "too many bad tokens from this client: wait Retry-After seconds"},
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
    row = bot_row(store, name)
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
