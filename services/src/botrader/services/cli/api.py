"""`botrader api`: the status API and dashboard page."""

from __future__ import annotations

from typing import Annotated

import typer

from botrader.core import settings
from botrader.core.cli.db import DbOption
from botrader.core.errors import UserError


def api(
    db: DbOption = None,
    port: Annotated[int, typer.Option(help="HTTP port.")] = 8001,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "0.0.0.0",
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Worker processes (one per core is typical).")
    ] = 1,
    control: Annotated[
        str,
        typer.Option(help="none, or kubernetes: control endpoints patch TradingBots (the operator acts)."),
    ] = "none",
    kube_api: Annotated[
        str | None, typer.Option(help="Kubernetes API URL (e.g. `kubectl proxy`'s); default: in-cluster.")
    ] = None,
    cache: Annotated[
        bool,
        typer.Option(help="Keep encoded answers until their rows change (PostgreSQL: LISTEN/NOTIFY)."),
    ] = True,
    access_log: Annotated[
        bool, typer.Option(help="Log every request (the latency histogram at /metrics has them anyway).")
    ] = False,
) -> None:
    """Serve the API (OpenAPI at /docs) and the dashboard page at /. Control endpoints need
    $BOTRADER_API_TOKEN; with --control kubernetes they patch the TradingBot in the cluster."""
    import os

    if control not in ("none", "kubernetes"):
        raise UserError(f"--control {control!r}: expected none or kubernetes")
    if control == "kubernetes":
        os.environ["BOTRADER_CONTROL"] = "kubernetes"
        if kube_api:
            os.environ["BOTRADER_KUBE_API"] = kube_api
        from botrader.services.api.control import ControlError, KubernetesController
        from botrader.services.api.settings import ApiSettings

        try:
            KubernetesController.from_settings(ApiSettings())  # fail here, in one line, outside a cluster
        except (ControlError, OSError) as exc:
            raise UserError(f"--control kubernetes: {exc}") from exc

    import uvicorn

    from botrader.core.db import connect, upgrade
    from botrader.services.api.server import WS_MAX_SIZE

    url = settings.db_url(db)
    engine = connect(url)  # fail here, in one line, if the database is unreachable
    upgrade(engine)
    engine.dispose()
    os.environ["BOTRADER_DB_URL"] = url  # each worker builds its app from the environment
    os.environ["BOTRADER_API_CACHE"] = "on" if cache else "off"
    uvicorn.run(
        "botrader.services.api.main:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        access_log=access_log,
        ws_max_size=WS_MAX_SIZE,
    )
