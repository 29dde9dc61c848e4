"""Alembic environment: the engine comes from `botrader.core.db.migrate`, never from a file."""

from alembic import context

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(connection=connection, render_as_batch=engine.dialect.name == "sqlite")
    context.run_migrations()
