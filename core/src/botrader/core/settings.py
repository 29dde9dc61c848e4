"""Process-wide settings read from the environment (Kubernetes injects them the same way)."""

from __future__ import annotations

import os

DEFAULT_DB_URL = "sqlite:///botrader.db"


def db_url(explicit: str | None = None) -> str:
    """`--db` beats BOTRADER_DB_URL beats the embedded SQLite default."""
    return explicit or os.environ.get("BOTRADER_DB_URL") or DEFAULT_DB_URL
