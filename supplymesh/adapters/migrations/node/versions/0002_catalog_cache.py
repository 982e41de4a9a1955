"""A buyer's cache of sellers' catalogs, refreshed by incremental pulls.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "catalog_cache",
        sa.Column("seller_id", sa.String(255), primary_key=True),
        sa.Column("item_id", sa.String(255), primary_key=True),
        sa.Column("provider_id", sa.String(255), nullable=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("fetched_at", sa.Float, nullable=False),
    )
    op.create_table(
        "catalog_sync",
        sa.Column("seller_id", sa.String(255), primary_key=True),
        sa.Column("pulled_from", sa.Float, nullable=True),
        sa.Column("requested_at", sa.Float, nullable=True),
        sa.Column("answered_at", sa.Float, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("catalog_sync")
    op.drop_table("catalog_cache")
