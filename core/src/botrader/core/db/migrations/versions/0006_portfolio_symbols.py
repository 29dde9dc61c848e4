"""trades.symbol and orders.symbol: which pair a portfolio bot's fill or order traded (null for
a one-symbol bot: its spec's symbol). A portfolio numbers its fills and orders across all its
pairs, so (bot, seq) and (bot, id) stay the keys.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("trades", sa.Column("symbol", sa.String(32), nullable=True))
    op.add_column("orders", sa.Column("symbol", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("symbol")
    with op.batch_alter_table("trades") as batch:
        batch.drop_column("symbol")
