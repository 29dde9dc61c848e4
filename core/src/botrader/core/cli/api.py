"""`botrader api`: the status API and dashboard page."""

from __future__ import annotations

from typing import Annotated

import typer

from botrader.core import settings
from botrader.core.cli.common import require
from botrader.core.cli.db import DbOption


def api(
    db: DbOption = None,
    port: Annotated[int, typer.Option(help="HTTP port.")] = 8001,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "0.0.0.0",
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Worker processes (one per core is typical).")
    ] = 1,
) -> None:
    """Serve the read-only API (OpenAPI at /docs) and the dashboard page at /."""
    import os

    import uvicorn

    from botrader.core.db import connect, upgrade

    require("botrader.services.api.main")
    url = settings.db_url(db)
    engine = connect(url)  # fail here, in one line, if the database is unreachable
    upgrade(engine)
    engine.dispose()
    os.environ["BOTRADER_DB_URL"] = url  # each worker builds its app from the environment
    uvicorn.run(
        "botrader.services.api.main:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
    )
