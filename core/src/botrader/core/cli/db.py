"""`botrader db …`: schema management."""

from __future__ import annotations

from typing import Annotated

import typer

from botrader.core import settings

app = typer.Typer(help="Database schema management (Alembic migrations).", no_args_is_help=True)
DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Database URL (default: $BOTRADER_DB_URL or sqlite:///botrader.db)."),
]


@app.command()
def upgrade(db: DbOption = None) -> None:
    """Create or migrate the schema to the newest revision (safe to run repeatedly)."""
    from botrader.core.db import connect, redact_url
    from botrader.core.db import upgrade as run_upgrade
    from botrader.core.db.migrate import current_revision

    url = settings.db_url(db)
    engine = connect(url)
    run_upgrade(engine)
    typer.echo(f"{redact_url(url)} at revision {current_revision(engine)}")
