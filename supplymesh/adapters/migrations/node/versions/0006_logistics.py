"""Logistics: a carrier's lanes and bookings; a maker's shipments booked for its sales, the
stage each sale is in, and what a carrier quoted in a maker's quote round.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lsp_lanes",
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("body", sa.Text, nullable=False),
    )
    op.create_table(
        "lsp_bookings",
        sa.Column("transaction_id", sa.String(255), primary_key=True),
        sa.Column("order_id", sa.String(255), nullable=False),
        sa.Column("lane_id", sa.String(255), nullable=False),
        sa.Column("pickup", sa.String(10), nullable=False),
        sa.Column("delivery", sa.String(10), nullable=False),
        sa.Column("packages", sa.Integer, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_index("ix_lsp_bookings_lane_pickup", "lsp_bookings", ["lane_id", "pickup"])
    op.create_table(
        "mfg_shipments",
        sa.Column("sale_tx", sa.String(255), primary_key=True),
        sa.Column("carrier_id", sa.String(255), nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("transaction_id", sa.String(255), nullable=False, unique=True),
        sa.Column("lane_id", sa.String(255), nullable=False),
        sa.Column("packages", sa.Integer, nullable=False),
        sa.Column("ready", sa.String(10), nullable=False),
        sa.Column("pickup", sa.String(10), nullable=False),
        sa.Column("delivery", sa.String(10), nullable=False),
        sa.Column("price", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.add_column("mfg_quote_requests", sa.Column("answer", sa.Text, nullable=True))
    op.add_column(
        "mfg_sales",
        sa.Column("stage", sa.String(32), nullable=False, server_default="waiting-for-materials"),
    )


def downgrade() -> None:
    with op.batch_alter_table("mfg_sales") as batch:
        batch.drop_column("stage")
    with op.batch_alter_table("mfg_quote_requests") as batch:
        batch.drop_column("answer")
    op.drop_table("mfg_shipments")
    op.drop_index("ix_lsp_bookings_lane_pickup", "lsp_bookings")
    op.drop_table("lsp_bookings")
    op.drop_table("lsp_lanes")
