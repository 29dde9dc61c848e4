"""venue_orders, venue_fills, venue_cursors: orders on an exchange, committed before they are
sent, and the venue's fills stored once by trade id

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "venue_orders",
        sa.Column("bot", sa.String(128), primary_key=True),
        sa.Column("client_id", sa.String(36), primary_key=True),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("side", sa.String(4), nullable=False),
        sa.Column("lots", sa.BigInteger, nullable=False),
        sa.Column("limit_ticks", sa.BigInteger, nullable=True),
        sa.Column("decision", sa.BigInteger, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("venue_id", sa.BigInteger, nullable=True),
        sa.Column("filled_lots", sa.BigInteger, nullable=False),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("updated_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "venue_fills",
        sa.Column("symbol", sa.String(32), primary_key=True),
        sa.Column("trade_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("bot", sa.String(128), nullable=False),
        sa.Column("client_id", sa.String(36), nullable=False),
        sa.Column("venue_id", sa.BigInteger, nullable=False),
        sa.Column("side", sa.String(4), nullable=False),
        sa.Column("price", sa.String(40), nullable=False),
        sa.Column("quantity", sa.String(40), nullable=False),
        sa.Column("quote_quantity", sa.String(40), nullable=False),
        sa.Column("commission", sa.String(40), nullable=False),
        sa.Column("commission_asset", sa.String(16), nullable=False),
        sa.Column("time_ms", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_venue_orders_state", "venue_orders", ["state"])
    op.create_index("ix_venue_fills_bot", "venue_fills", ["bot"])
    op.create_table(
        "venue_cursors",
        sa.Column("bot", sa.String(128), primary_key=True),
        sa.Column("symbol", sa.String(32), primary_key=True),
        sa.Column("last_trade_id", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    for table in ("venue_cursors", "venue_fills", "venue_orders"):
        op.drop_table(table)
