"""Dependencies injected into routes: the database, stores, the controller, the token check."""

from __future__ import annotations

import hmac
import os
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request
from sqlalchemy.engine import Engine

from botrader.core.db.candles import CandleStore
from botrader.core.db.trading import TradingStore
from botrader.services.api.cache import ResponseCache
from botrader.services.api.control import Controller


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


TradingDep = Annotated[TradingStore, Depends(get_trading)]
CacheDep = Annotated[ResponseCache, Depends(get_cache)]
CandlesDep = Annotated[CandleStore, Depends(get_candles)]


async def require_token(request: Request, authorization: Annotated[str | None, Header()] = None) -> str:
    """Bearer BOTRADER_API_TOKEN; with no token configured, control is disabled."""
    token = request.app.state.token or os.environ.get("BOTRADER_API_TOKEN")
    if not token:
        raise HTTPException(403, "control is disabled: set BOTRADER_API_TOKEN to enable it")
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), token.encode()):
        raise HTTPException(401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"})
    return "api-token"


async def get_controller(request: Request) -> Controller | None:
    return request.app.state.controller


ActorDep = Annotated[str, Depends(require_token)]
ControllerDep = Annotated[Controller | None, Depends(get_controller)]
