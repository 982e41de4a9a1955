"""The registry's first schema: record versions, the change feed, suspensions, mirror cursors.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "records",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("subscriber_id", sa.String(255), nullable=False),
        sa.Column("unique_key_id", sa.String(255), nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("type", sa.String(8), nullable=False),
        sa.Column("signing_public_key", sa.String(255), nullable=False),
        sa.Column("valid_until", sa.Float, nullable=False),
        sa.Column("revoked", sa.Boolean, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.Float, nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.UniqueConstraint("subscriber_id", "version", name="uq_records_subscriber_version"),
    )
    op.create_index("ix_records_subscriber", "records", ["subscriber_id", "status"])
    op.create_index("ix_records_pending", "records", ["status", "next_attempt_at"])
    op.create_table(
        "feed",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "record_id", sa.Integer, sa.ForeignKey("records.id"), nullable=False, unique=True
        ),
    )
    op.create_table(
        "suspensions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("subscriber_id", sa.String(255), nullable=False, index=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "mirror_cursors",
        sa.Column("peer_url", sa.String(2048), primary_key=True),
        sa.Column("last_seq", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("mirror_cursors")
    op.drop_table("suspensions")
    op.drop_table("feed")
    op.drop_index("ix_records_pending", "records")
    op.drop_index("ix_records_subscriber", "records")
    op.drop_table("records")
