"""A pool's running totals (units, member orders) on its row: a join reads and bumps them
instead of summing every member (which made each join, each search showing the pool and the
scheduler's due check grow with the pool).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("pools", sa.Column("units", sa.Integer, nullable=False, server_default="0"))
    op.add_column("pools", sa.Column("members", sa.Integer, nullable=False, server_default="0"))
    op.execute(
        "UPDATE pools SET"
        " units = (SELECT COALESCE(SUM(m.quantity), 0) FROM pool_members m"
        " WHERE m.pool_id = pools.pool_id),"
        " members = (SELECT COUNT(*) FROM pool_members m WHERE m.pool_id = pools.pool_id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("pools") as batch:
        batch.drop_column("members")
        batch.drop_column("units")
