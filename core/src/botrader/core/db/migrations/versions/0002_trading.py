"""paper-trading tables: bots, orders, trades, equity, audit

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(38, 12)


def upgrade() -> None:
    op.create_table(
        "bots",
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("namespace", sa.String(128), nullable=False),
        sa.Column("spec", sa.JSON, nullable=False),
        sa.Column("phase", sa.String(16), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("breakers", sa.JSON, nullable=False),
        sa.Column("state", sa.JSON, nullable=True),
        sa.Column("equity", MONEY, nullable=True),
        sa.Column("cash", MONEY, nullable=True),
        sa.Column("position", MONEY, nullable=True),
        sa.Column("pnl_percent", sa.Float(53), nullable=True),
        sa.Column("trades", sa.Integer, nullable=False),
        sa.Column("last_candle_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "orders",
        sa.Column("bot", sa.String(128), primary_key=True),
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("side", sa.String(4), nullable=False),
        sa.Column("algo", sa.String(8), nullable=False),
        sa.Column("quantity", MONEY, nullable=False),
        sa.Column("filled_quantity", MONEY, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("action", sa.Float(53), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("explanation", sa.JSON, nullable=False),
    )
    op.create_table(
        "trades",
        sa.Column("bot", sa.String(128), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("order_id", sa.Integer, nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("side", sa.String(4), nullable=False),
        sa.Column("quantity", MONEY, nullable=False),
        sa.Column("price", MONEY, nullable=False),
        sa.Column("fee", MONEY, nullable=False),
        sa.Column("pnl", MONEY, nullable=False),
    )
    op.create_index("ix_trades_time", "trades", ["time"])
    op.create_table(
        "equity",
        sa.Column("bot", sa.String(128), primary_key=True),
        sa.Column("time", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("equity", MONEY, nullable=False),
        sa.Column("cash", MONEY, nullable=False),
        sa.Column("position", MONEY, nullable=False),
        sa.Column("price", MONEY, nullable=False),
    )
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("bot", sa.String(128), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("before", sa.JSON, nullable=False),
        sa.Column("after", sa.JSON, nullable=False),
    )
    op.create_index("ix_audit_time", "audit", ["time"])
    op.create_index("ix_audit_bot", "audit", ["bot"])


def downgrade() -> None:
    for table in ("audit", "equity", "trades", "orders", "bots"):
        op.drop_table(table)
