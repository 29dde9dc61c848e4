"""funding.symbol: which pair a perpetual portfolio's payment settled on ('' for a one-symbol
bot: its spec's symbol). Every pair of a portfolio settles at the same funding times, so the
key becomes (bot, symbol, time). The table is rebuilt (SQLite cannot change a primary key in
place); its rows are copied with symbol ''.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _table(name: str, *, with_symbol: bool) -> None:
    symbol = [sa.Column("symbol", sa.String(32), primary_key=True, server_default="")] if with_symbol else []
    op.create_table(
        name,
        sa.Column("bot", sa.String(128), primary_key=True),
        *symbol,
        sa.Column("time", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("rate", sa.Numeric(38, 12), nullable=False),
        sa.Column("amount", sa.Numeric(38, 12), nullable=False),
    )


def upgrade() -> None:
    _table("funding_by_pair", with_symbol=True)
    op.execute(
        "insert into funding_by_pair (bot, symbol, time, rate, amount) "
        "select bot, '', time, rate, amount from funding"
    )
    op.drop_table("funding")
    op.rename_table("funding_by_pair", "funding")


def downgrade() -> None:
    _table("funding_one_pair", with_symbol=False)
    op.execute(
        "insert into funding_one_pair (bot, time, rate, amount) "
        "select bot, time, sum(rate), sum(amount) from funding group by bot, time"
    )
    op.drop_table("funding")
    op.rename_table("funding_one_pair", "funding")
