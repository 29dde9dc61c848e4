"""trades.reason: why a fill happened (signal, stop_loss, take_profit, trailing_stop,
time_stop, emergency_stop)

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("trades") as batch:
        batch.add_column(sa.Column("reason", sa.String(16), nullable=False, server_default="signal"))


def downgrade() -> None:
    with op.batch_alter_table("trades") as batch:
        batch.drop_column("reason")
