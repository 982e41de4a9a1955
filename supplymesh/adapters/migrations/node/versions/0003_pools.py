"""Demand pools: the host's pools and members, and a member's own pool memberships.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pools",
        sa.Column("pool_id", sa.String(255), primary_key=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("deadline", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_index("ix_pools_due", "pools", ["state", "deadline"])
    op.create_table(
        "pool_members",
        sa.Column("order_ref", sa.String(255), primary_key=True),
        sa.Column("pool_id", sa.String(255), nullable=False),
        sa.Column("member_id", sa.String(255), nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("commitment", sa.String(64), nullable=False),
        sa.Column("joined_at", sa.Float, nullable=False),
    )
    op.create_index("ix_pool_members_pool", "pool_members", ["pool_id", "member_id"])
    op.create_table(
        "pool_memberships",
        sa.Column("order_ref", sa.String(255), primary_key=True),
        sa.Column("pool_id", sa.String(255), nullable=False),
        sa.Column("host_id", sa.String(255), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("alarms", sa.Text, nullable=True),
        sa.Column("updated_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("pool_memberships")
    op.drop_index("ix_pool_members_pool", "pool_members")
    op.drop_table("pool_members")
    op.drop_index("ix_pools_due", "pools")
    op.drop_table("pools")
