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
) -> None:
    """Serve the read-only API (OpenAPI at /docs) and the dashboard page at /."""
    import uvicorn

    from botrader.core.db import connect, upgrade

    main = require("botrader.services.api.main")
    engine = connect(settings.db_url(db))
    upgrade(engine)
    uvicorn.run(main.create_app(engine), host=host, port=port, log_level="info")
