"""A maker's purchase orders (open orders: imported, or placed with a supplier for a sale)
and its confirmed made-to-order sales with their current promise dates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Column, Float, Integer, String, Table, Text, and_, insert, select, update
from sqlalchemy.engine import Connection

from supplymesh.adapters.node_store import metadata, outbox
from supplymesh.domain.planning import ScheduledReceipt

mfg_purchase_orders = Table(
    "mfg_purchase_orders",
    metadata,
    Column("id", String(255), primary_key=True),
    Column("sale_tx", String(255), nullable=True, index=True),
    Column("item_id", String(255), nullable=False),
    Column("quantity", String(64), nullable=False),
    Column("due", String(10), nullable=False),
    Column("supplier_id", String(255), nullable=True),
    Column("supplier_item_id", String(255), nullable=True),
    Column("transaction_id", String(255), nullable=True, unique=True),
    Column("state", String(16), nullable=False),
    Column("note", Text, nullable=True),
    Column("updated_at", Float, nullable=False),
)
mfg_sales = Table(
    "mfg_sales",
    metadata,
    Column("transaction_id", String(255), primary_key=True),
    Column("order_id", String(255), nullable=False),
    Column("item_id", String(255), nullable=False),
    Column("quantity", String(64), nullable=False),
    Column("promise_date", String(10), nullable=False),
    Column("explanation", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("stage", String(32), nullable=False, server_default="waiting-for-materials"),
)
mfg_shipments = Table(
    "mfg_shipments",
    metadata,
    Column("sale_tx", String(255), primary_key=True),
    Column("carrier_id", String(255), nullable=False),
    Column("url", String(2048), nullable=False),
    Column("transaction_id", String(255), nullable=False, unique=True),
    Column("lane_id", String(255), nullable=False),
    Column("packages", Integer, nullable=False),
    Column("ready", String(10), nullable=False),
    Column("pickup", String(10), nullable=False),
    Column("delivery", String(10), nullable=False),
    Column("price", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("note", Text, nullable=True),
    Column("updated_at", Float, nullable=False),
)


@dataclass(frozen=True, slots=True)
class PurchaseOrder:
    """An open order for a bought item: imported (no sale) or placed with a supplier."""

    id: str
    item_id: str
    quantity: Decimal
    due: date
    state: str
    sale_tx: str | None = None
    supplier_id: str | None = None
    supplier_item_id: str | None = None
    transaction_id: str | None = None
    note: str | None = None

    def receipt(self) -> ScheduledReceipt:
        """The open order as MRP sees it."""
        return ScheduledReceipt(self.id, self.item_id, self.quantity, self.due, self.supplier_id)


@dataclass(frozen=True, slots=True)
class Sale:
    """A confirmed made-to-order sale and its current promise."""

    transaction_id: str
    order_id: str
    item_id: str
    quantity: Decimal
    promise_date: date
    explanation: str
    state: str
    stage: str = "waiting-for-materials"


@dataclass(frozen=True, slots=True)
class Shipment:
    """The carrier booking that takes a sale's goods to its buyer."""

    sale_tx: str
    carrier_id: str
    url: str
    transaction_id: str
    lane_id: str
    packages: int
    ready: date
    pickup: date
    delivery: date
    price: Decimal
    state: str
    note: str | None = None


OPEN_PO_STATES = ("open", "ordered", "confirmed", "delayed")


def _po(row: Any) -> PurchaseOrder:
    return PurchaseOrder(
        id=row.id,
        item_id=row.item_id,
        quantity=Decimal(row.quantity),
        due=date.fromisoformat(row.due),
        state=row.state,
        sale_tx=row.sale_tx,
        supplier_id=row.supplier_id,
        supplier_item_id=row.supplier_item_id,
        transaction_id=row.transaction_id,
        note=row.note,
    )


def purchase_orders(
    connection: Connection, *, sale_tx: str | None = None, free: bool = False
) -> list[PurchaseOrder]:
    """Purchase orders: all, a sale's, or (``free``) open ones no sale has taken."""
    query = select(mfg_purchase_orders).order_by(
        mfg_purchase_orders.c.due, mfg_purchase_orders.c.id
    )
    if sale_tx is not None:
        query = query.where(mfg_purchase_orders.c.sale_tx == sale_tx)
    if free:
        query = query.where(
            and_(
                mfg_purchase_orders.c.sale_tx.is_(None),
                mfg_purchase_orders.c.state.in_(OPEN_PO_STATES),
            )
        )
    return [_po(row) for row in connection.execute(query)]


def purchase_order_by_tx(connection: Connection, transaction_id: str) -> PurchaseOrder | None:
    """The purchase order placed in a transaction with a supplier."""
    row = connection.execute(
        select(mfg_purchase_orders).where(mfg_purchase_orders.c.transaction_id == transaction_id)
    ).first()
    return _po(row) if row is not None else None


def purchase_order(connection: Connection, po_id: str) -> PurchaseOrder | None:
    """A purchase order by id."""
    row = connection.execute(
        select(mfg_purchase_orders).where(mfg_purchase_orders.c.id == po_id)
    ).first()
    return _po(row) if row is not None else None


def add_purchase_order(connection: Connection, po: PurchaseOrder, now: float) -> None:
    """Record a purchase order placed for a sale."""
    connection.execute(
        insert(mfg_purchase_orders).values(
            id=po.id,
            sale_tx=po.sale_tx,
            item_id=po.item_id,
            quantity=str(po.quantity),
            due=po.due.isoformat(),
            supplier_id=po.supplier_id,
            supplier_item_id=po.supplier_item_id,
            transaction_id=po.transaction_id,
            state=po.state,
            note=po.note,
            updated_at=now,
        )
    )


def update_purchase_order(connection: Connection, po_id: str, now: float, **values: Any) -> None:
    """Change a purchase order's state, due date, sale or note."""
    if "due" in values and isinstance(values["due"], date):
        values["due"] = values["due"].isoformat()
    connection.execute(
        update(mfg_purchase_orders)
        .where(mfg_purchase_orders.c.id == po_id)
        .values(updated_at=now, **values)
    )


def add_sale(connection: Connection, sale: Sale, now: float) -> None:
    """Record a confirmed sale."""
    connection.execute(
        insert(mfg_sales).values(
            transaction_id=sale.transaction_id,
            order_id=sale.order_id,
            item_id=sale.item_id,
            quantity=str(sale.quantity),
            promise_date=sale.promise_date.isoformat(),
            explanation=sale.explanation,
            state=sale.state,
            stage=sale.stage,
            updated_at=now,
        )
    )


def sale(connection: Connection, transaction_id: str) -> Sale | None:
    """A sale by its transaction."""
    row = connection.execute(
        select(mfg_sales).where(mfg_sales.c.transaction_id == transaction_id)
    ).first()
    if row is None:
        return None
    return Sale(
        transaction_id=row.transaction_id,
        order_id=row.order_id,
        item_id=row.item_id,
        quantity=Decimal(row.quantity),
        promise_date=date.fromisoformat(row.promise_date),
        explanation=row.explanation,
        state=row.state,
        stage=row.stage,
    )


def update_sale(connection: Connection, transaction_id: str, now: float, **values: Any) -> None:
    """Change a sale's promise, explanation or state."""
    if "promise_date" in values and isinstance(values["promise_date"], date):
        values["promise_date"] = values["promise_date"].isoformat()
    connection.execute(
        update(mfg_sales)
        .where(mfg_sales.c.transaction_id == transaction_id)
        .values(updated_at=now, **values)
    )


def sales(connection: Connection) -> list[Sale]:
    """Every sale, newest promise last."""
    ids = connection.execute(
        select(mfg_sales.c.transaction_id).order_by(mfg_sales.c.updated_at)
    ).scalars()
    return [s for tx in list(ids) if (s := sale(connection, tx)) is not None]


def refused_orders(connection: Connection) -> list[tuple[PurchaseOrder, str]]:
    """Placed purchase orders whose confirm the supplier NACKed (or never took), and why."""
    rows = connection.execute(
        select(mfg_purchase_orders, outbox.c.last_error, outbox.c.state.label("delivery"))
        .join(
            outbox,
            and_(
                outbox.c.transaction_id == mfg_purchase_orders.c.transaction_id,
                outbox.c.action == "confirm",
            ),
        )
        .where(
            and_(
                mfg_purchase_orders.c.state == "ordered",
                outbox.c.state.in_(("nacked", "failed")),
            )
        )
    )
    return [(_po(row), str(row.last_error or row.delivery)) for row in rows]


def _shipment(row: Any) -> Shipment:
    return Shipment(
        sale_tx=row.sale_tx,
        carrier_id=row.carrier_id,
        url=row.url,
        transaction_id=row.transaction_id,
        lane_id=row.lane_id,
        packages=row.packages,
        ready=date.fromisoformat(row.ready),
        pickup=date.fromisoformat(row.pickup),
        delivery=date.fromisoformat(row.delivery),
        price=Decimal(row.price),
        state=row.state,
        note=row.note,
    )


def add_shipment(connection: Connection, shipment: Shipment, now: float) -> None:
    """Record the shipment booked for a sale."""
    connection.execute(
        insert(mfg_shipments).values(
            sale_tx=shipment.sale_tx,
            carrier_id=shipment.carrier_id,
            url=shipment.url,
            transaction_id=shipment.transaction_id,
            lane_id=shipment.lane_id,
            packages=shipment.packages,
            ready=shipment.ready.isoformat(),
            pickup=shipment.pickup.isoformat(),
            delivery=shipment.delivery.isoformat(),
            price=str(shipment.price),
            state=shipment.state,
            note=shipment.note,
            updated_at=now,
        )
    )


def shipment(connection: Connection, sale_tx: str) -> Shipment | None:
    """A sale's shipment."""
    row = connection.execute(
        select(mfg_shipments).where(mfg_shipments.c.sale_tx == sale_tx)
    ).first()
    return _shipment(row) if row is not None else None


def shipment_by_tx(connection: Connection, transaction_id: str) -> Shipment | None:
    """The shipment booked in a transaction with a carrier."""
    row = connection.execute(
        select(mfg_shipments).where(mfg_shipments.c.transaction_id == transaction_id)
    ).first()
    return _shipment(row) if row is not None else None


def shipments(connection: Connection) -> list[Shipment]:
    """Every shipment, by pickup day."""
    query = select(mfg_shipments).order_by(mfg_shipments.c.pickup, mfg_shipments.c.sale_tx)
    return [_shipment(row) for row in connection.execute(query)]


def update_shipment(connection: Connection, sale_tx: str, now: float, **values: Any) -> None:
    """Change a shipment's days, state or note."""
    for key in ("ready", "pickup", "delivery"):
        if isinstance(values.get(key), date):
            values[key] = values[key].isoformat()
    connection.execute(
        update(mfg_shipments)
        .where(mfg_shipments.c.sale_tx == sale_tx)
        .values(updated_at=now, **values)
    )
