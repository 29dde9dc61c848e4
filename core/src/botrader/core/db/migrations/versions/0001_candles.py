"""candles table; a TimescaleDB hypertable with compression when the extension exists

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "candles",
        sa.Column("exchange", sa.String(32), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("interval", sa.String(8), nullable=False),
        sa.Column("open_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("open", sa.Float(53), nullable=False),
        sa.Column("high", sa.Float(53), nullable=False),
        sa.Column("low", sa.Float(53), nullable=False),
        sa.Column("close", sa.Float(53), nullable=False),
        sa.Column("volume", sa.Float(53), nullable=False),
        sa.Column("quote_volume", sa.Float(53), nullable=True),
        sa.Column("trades", sa.BigInteger, nullable=True),
        sa.PrimaryKeyConstraint("exchange", "symbol", "interval", "open_time", name="pk_candles"),
    )
    bind = op.get_bind()
    if bind.dialect.name == "postgresql" and _timescale_available(bind):
        op.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        op.execute(
            "SELECT create_hypertable('candles', 'open_time', "
            "chunk_time_interval => INTERVAL '7 days', migrate_data => TRUE)"
        )
        op.execute(
            "ALTER TABLE candles SET (timescaledb.compress, "
            "timescaledb.compress_segmentby = 'exchange, symbol, interval', "
            "timescaledb.compress_orderby = 'open_time')"
        )
        op.execute("SELECT add_compression_policy('candles', INTERVAL '14 days')")


def _timescale_available(bind: sa.engine.Connection) -> bool:
    query = sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")
    return bind.execute(query).first() is not None


def downgrade() -> None:
    op.drop_table("candles")
