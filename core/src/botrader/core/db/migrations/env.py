"""Alembic environment: the engine comes from `botrader.core.db.migrate`, never from a file.

Components upgrade the schema when they start, so several may do it at once: on PostgreSQL
a transaction-scoped advisory lock makes them take turns (the later ones find the schema
current and do nothing); SQLite is serialised by `migrate.upgrade` with a lock on the file."""

from alembic import context
from sqlalchemy import text

MIGRATION_LOCK = 7_416_263_911  # pg_advisory_xact_lock key: "botrader migrations"

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    if engine.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
    context.configure(connection=connection, render_as_batch=engine.dialect.name == "sqlite")
    context.run_migrations()
