"""Dependencies injected into routes: the database, stores, the controller, the token check."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, WebSocket
from sqlalchemy.engine import Engine

from botrader.core.db.candles import CandleStore
from botrader.core.db.trading import TradingStore
from botrader.services.api.cache import ResponseCache
from botrader.services.api.control import Controller
from botrader.services.api.security import AuthFailures, bearer, client_of, matches
from botrader.services.api.settings import SettingsDep
from botrader.services.api.stream import Broadcaster


# Dependencies are `async def` although they do not await: FastAPI runs a plain `def` dependency
# in the thread pool, a thread hop per dependency per request for what is an attribute read.
async def get_engine(request: Request) -> Engine:
    return request.app.state.engine


async def get_trading(engine: Annotated[Engine, Depends(get_engine)]) -> TradingStore:
    return TradingStore(engine)


async def get_candles(engine: Annotated[Engine, Depends(get_engine)]) -> CandleStore:
    return CandleStore(engine)


async def get_cache(request: Request) -> ResponseCache:
    return request.app.state.cache


async def get_broadcaster(websocket: WebSocket) -> Broadcaster:
    return websocket.app.state.broadcaster


TradingDep = Annotated[TradingStore, Depends(get_trading)]
BroadcasterDep = Annotated[Broadcaster, Depends(get_broadcaster)]
CacheDep = Annotated[ResponseCache, Depends(get_cache)]
CandlesDep = Annotated[CandleStore, Depends(get_candles)]


async def require_token(request: Request, settings: SettingsDep) -> str:
    """Bearer BOTRADER_API_TOKEN; with no token configured, control is disabled. A wrong or
    missing token is one 401 that does not say which; repeated ones from a client, 429."""
    if settings.control_token is None:
        raise HTTPException(403, "control is disabled: set BOTRADER_API_TOKEN to enable it")
    failures: AuthFailures = request.app.state.auth_failures
    client = client_of(request.scope)
    wait = failures.retry_after(client)
    if wait:
        raise HTTPException(429, "too many bad tokens: try again later", headers={"Retry-After": str(wait)})
    given = bearer(request.scope)
    if not matches(given, [settings.control_token.get_secret_value()]):
        if given:
            failures.failed(client, f"control {request.url.path}")
        raise HTTPException(401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"})
    return "api-token"


async def get_controller(request: Request) -> Controller | None:
    return request.app.state.controller


ActorDep = Annotated[str, Depends(require_token)]
ControllerDep = Annotated[Controller | None, Depends(get_controller)]
