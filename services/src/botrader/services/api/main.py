"""The FastAPI application: routers, the dashboard page, metrics middleware."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from botrader.services.api.cache import CachedAnswers, ResponseCache
from botrader.services.api.control import Controller, KubernetesController
from botrader.services.api.feed import ChangeFeed
from botrader.services.api.metrics import LatencyMiddleware
from botrader.services.api.routes import bots, health, live, market
from botrader.services.api.security import AuthFailures, Security
from botrader.services.api.settings import ApiSettings
from botrader.services.api.stream import Broadcaster

STATIC = Path(__file__).with_name("static")


def create_app(
    engine: Engine,
    *,
    controller: Controller | None = None,
    token: str | None = None,
    in_process: bool = False,
    cache: bool | None = None,
    settings: ApiSettings | None = None,
) -> FastAPI:
    """`settings` default to the environment's (`ApiSettings`); `token` and `cache`, when
    given, override their fields (the control token, keeping answers).
    `in_process`: every writer to this SQLite database runs in this process (`botrader up`),
    so their commits are the feed; otherwise SQLite is polled and answers are not cached."""
    settings = settings or ApiSettings()
    overrides = {"control_token": SecretStr(token) if token else None, "cache": cache}
    settings = settings.model_copy(update={k: v for k, v in overrides.items() if v is not None})
    feed = ChangeFeed(engine, in_process=in_process)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await feed.start()
        try:
            yield
        finally:
            await feed.stop()
            await app.state.broadcaster.close()

    app = FastAPI(
        lifespan=lifespan,
        title="Botrader API",
        version="0.1.0",
        description="Status of Botrader's paper-trading bots, market data, strategies and models.",
    )
    app.state.engine, app.state.controller, app.state.settings = engine, controller, settings
    app.state.auth_failures = AuthFailures(settings.auth_failures, settings.auth_window_s)
    app.state.performance_cache = {}  # bot -> ((last candle, fills), metrics)
    app.state.feed, app.state.cache = feed, ResponseCache(feed, enabled=settings.cache)
    app.state.broadcaster = Broadcaster(engine, feed, tracking_uri=settings.mlflow_tracking_uri)
    app.add_middleware(CachedAnswers)
    app.add_middleware(Security, settings=settings, failures=app.state.auth_failures)
    app.add_middleware(LatencyMiddleware)  # the outermost: it times cached answers too
    app.include_router(health.router)
    app.include_router(bots.router)
    app.include_router(market.router)
    app.include_router(live.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def dashboard() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    return app


def app_from_env() -> FastAPI:
    """uvicorn's factory for `botrader api` (one app per worker process)."""
    from botrader.core.db import connect
    from botrader.core.db.trading import TradingStore

    settings = ApiSettings()
    engine = connect(settings.db_url)
    controller = None
    if settings.control == "kubernetes":  # the chart sets it in a cluster
        controller = KubernetesController.from_settings(settings, TradingStore(engine))
    return create_app(engine, controller=controller, settings=settings)
