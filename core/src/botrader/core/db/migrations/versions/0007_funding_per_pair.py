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


def _rebuild(*, with_symbol: bool, columns: str, rows: str) -> None:
    """`funding` rebuilt with or without its symbol key, its rows copied by `rows` (a select
    giving `columns`)."""
    _table("funding_rebuilt", with_symbol=with_symbol)
    op.execute(f"insert into funding_rebuilt ({columns}) {rows}")
    op.drop_table("funding")
    op.rename_table("funding_rebuilt", "funding")


def upgrade() -> None:
    _rebuild(
        with_symbol=True,
        columns="bot, symbol, time, rate, amount",
        rows="select bot, '', time, rate, amount from funding",
    )


def downgrade() -> None:  # a portfolio's pairs at one time: summed into the bot's one row
    _rebuild(
        with_symbol=False,
        columns="bot, time, rate, amount",
        rows="select bot, time, sum(rate), sum(amount) from funding group by bot, time",
    )
