"""A maker's production data: items, BOM lines, routings, work centers, sourcing, stock,
the load ledger, purchase orders, sales planned on them and their stock reservations, and the
rounds of quotes a maker asks its suppliers for.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mfg_items",
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("unit_price", sa.String(64), nullable=True),
        sa.Column("currency", sa.String(8), nullable=False),
    )
    op.create_table(
        "mfg_bom_lines",
        sa.Column("parent", sa.String(255), primary_key=True),
        sa.Column("component", sa.String(255), primary_key=True),
        sa.Column("body", sa.Text, nullable=False),
    )
    op.create_table(
        "mfg_routings",
        sa.Column("item_id", sa.String(255), primary_key=True),
        sa.Column("body", sa.Text, nullable=False),
    )
    op.create_table(
        "mfg_work_centers",
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("body", sa.Text, nullable=False),
    )
    op.create_table(
        "mfg_sourcing",
        sa.Column("item_id", sa.String(255), primary_key=True),
        sa.Column("rank", sa.Integer, primary_key=True),
        sa.Column("supplier_id", sa.String(255), nullable=False),
        sa.Column("supplier_item_id", sa.String(255), nullable=False),
        sa.Column("lead_time_days", sa.Integer, nullable=False),
        sa.Column("unit_price", sa.String(64), nullable=True),
        sa.Column("url", sa.String(2048), nullable=True),
        sa.Column("ask", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "mfg_stock",
        sa.Column("item_id", sa.String(255), primary_key=True),
        sa.Column("on_hand", sa.String(64), nullable=False),
        sa.Column("reserved", sa.String(64), nullable=False),
    )
    op.create_table(
        "mfg_load",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ref", sa.String(255), nullable=False, index=True),
        sa.Column("work_center_id", sa.String(255), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("hours", sa.String(64), nullable=False),
    )
    op.create_table(
        "mfg_purchase_orders",
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("sale_tx", sa.String(255), nullable=True, index=True),
        sa.Column("item_id", sa.String(255), nullable=False),
        sa.Column("quantity", sa.String(64), nullable=False),
        sa.Column("due", sa.String(10), nullable=False),
        sa.Column("supplier_id", sa.String(255), nullable=True),
        sa.Column("supplier_item_id", sa.String(255), nullable=True),
        sa.Column("transaction_id", sa.String(255), nullable=True, unique=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "mfg_sales",
        sa.Column("transaction_id", sa.String(255), primary_key=True),
        sa.Column("order_id", sa.String(255), nullable=False),
        sa.Column("item_id", sa.String(255), nullable=False),
        sa.Column("quantity", sa.String(64), nullable=False),
        sa.Column("promise_date", sa.String(10), nullable=False),
        sa.Column("explanation", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "mfg_reservations",
        sa.Column("sale_tx", sa.String(255), primary_key=True),
        sa.Column("item_id", sa.String(255), primary_key=True),
        sa.Column("quantity", sa.String(64), nullable=False),
    )

    op.create_table(
        "mfg_settings",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "mfg_quote_rounds",
        sa.Column("sale_tx", sa.String(255), primary_key=True),
        sa.Column("message_id", sa.String(255), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("deadline", sa.Float, nullable=False),
    )
    op.create_table(
        "mfg_quote_requests",
        sa.Column("transaction_id", sa.String(255), primary_key=True),
        sa.Column("sale_tx", sa.String(255), nullable=False, index=True),
        sa.Column("sale_message_id", sa.String(255), nullable=False),
        sa.Column("message_id", sa.String(255), nullable=False),
        sa.Column("item_id", sa.String(255), nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("rank", sa.Integer, nullable=False),
        sa.Column("supplier_id", sa.String(255), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("lead_time_days", sa.Integer, nullable=True),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("deadline", sa.Float, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "mfg_quote_requests",
        "mfg_quote_rounds",
        "mfg_settings",
        "mfg_reservations",
        "mfg_sales",
        "mfg_purchase_orders",
        "mfg_load",
        "mfg_stock",
        "mfg_sourcing",
        "mfg_work_centers",
        "mfg_routings",
        "mfg_bom_lines",
        "mfg_items",
    ):
        op.drop_table(table)
