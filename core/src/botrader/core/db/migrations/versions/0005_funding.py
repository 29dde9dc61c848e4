"""funding: a perpetual bot's funding payments, one row per funding time (the ledger beside
its fills); funding_rates and mark_prices: a perpetual's settled funding rates and mark-price
klines as the collector fetched them;
trades.reason widened to 32 (liquidation_guard is 17 characters)

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "funding",
        sa.Column("bot", sa.String(128), primary_key=True),
        sa.Column("time", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("rate", sa.Numeric(38, 12), nullable=False),
        sa.Column("amount", sa.Numeric(38, 12), nullable=False),
    )
    op.create_table(
        "funding_rates",
        sa.Column("exchange", sa.String(32), primary_key=True),
        sa.Column("symbol", sa.String(32), primary_key=True),
        sa.Column("time", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("rate_e8", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "mark_prices",
        sa.Column("exchange", sa.String(32), primary_key=True),
        sa.Column("symbol", sa.String(32), primary_key=True),
        sa.Column("interval", sa.String(8), primary_key=True),
        sa.Column("open_time", sa.BigInteger, primary_key=True, autoincrement=False),
        *(sa.Column(c, sa.Float(53), nullable=False) for c in ("open", "high", "low", "close")),
    )
    with op.batch_alter_table("trades") as batch:
        batch.alter_column("reason", type_=sa.String(32), existing_nullable=False)


def downgrade() -> None:
    op.drop_table("mark_prices")
    op.drop_table("funding_rates")
    with op.batch_alter_table("trades") as batch:
        batch.alter_column("reason", type_=sa.String(16), existing_nullable=False)
    op.drop_table("funding")
