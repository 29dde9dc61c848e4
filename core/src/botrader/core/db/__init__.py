"""Storage: SQLModel tables, engines for SQLite and PostgreSQL, Alembic migrations."""

from botrader.core.db.connection import connect, connect_to_read, redact_url
from botrader.core.db.migrate import upgrade

__all__ = ["connect", "connect_to_read", "redact_url", "upgrade"]
