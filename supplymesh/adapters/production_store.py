"""A maker's production data on its node, and the capacity and stock sales commit.

Master data (items, BOM lines, routings, work centers, sourcing rules, stock on hand, free open
orders) is replaced as a whole by an import; what sales commit survives a re-import: the load
ledger (hours booked per work center and day, by the sale that booked them) and stock reserved
per sale. Purchase orders and sales are :mod:`supplymesh.adapters.sales_store`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import msgspec
from sqlalchemy import (
    Boolean,
    Column,
    Integer,
    String,
    Table,
    Text,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection

from supplymesh.adapters.node_store import metadata
from supplymesh.adapters.sales_store import mfg_purchase_orders
from supplymesh.domain.bom import BomLine, Item, ProductStructure, Routing
from supplymesh.domain.capacity import LoadLedger, WorkCenter
from supplymesh.domain.planning import ScheduledReceipt, StockLevel, SupplierQuote

ZERO = Decimal(0)

mfg_items = Table(
    "mfg_items",
    metadata,
    Column("id", String(255), primary_key=True),
    Column("body", Text, nullable=False),
    Column("unit_price", String(64), nullable=True),
    Column("currency", String(8), nullable=False),
)
mfg_bom_lines = Table(
    "mfg_bom_lines",
    metadata,
    Column("parent", String(255), primary_key=True),
    Column("component", String(255), primary_key=True),
    Column("body", Text, nullable=False),
)
mfg_routings = Table(
    "mfg_routings",
    metadata,
    Column("item_id", String(255), primary_key=True),
    Column("body", Text, nullable=False),
)
mfg_work_centers = Table(
    "mfg_work_centers",
    metadata,
    Column("id", String(255), primary_key=True),
    Column("body", Text, nullable=False),
)
mfg_sourcing = Table(
    "mfg_sourcing",
    metadata,
    Column("item_id", String(255), primary_key=True),
    Column("rank", Integer, primary_key=True),
    Column("supplier_id", String(255), nullable=False),
    Column("supplier_item_id", String(255), nullable=False),
    Column("lead_time_days", Integer, nullable=False),
    Column("unit_price", String(64), nullable=True),
    Column("url", String(2048), nullable=True),
    Column("ask", Boolean, nullable=False, default=False),
)
mfg_stock = Table(
    "mfg_stock",
    metadata,
    Column("item_id", String(255), primary_key=True),
    Column("on_hand", String(64), nullable=False),
    Column("reserved", String(64), nullable=False),
)
mfg_load = Table(
    "mfg_load",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ref", String(255), nullable=False, index=True),
    Column("work_center_id", String(255), nullable=False),
    Column("day", String(10), nullable=False),
    Column("hours", String(64), nullable=False),
)
mfg_reservations = Table(
    "mfg_reservations",
    metadata,
    Column("sale_tx", String(255), primary_key=True),
    Column("item_id", String(255), primary_key=True),
    Column("quantity", String(64), nullable=False),
)

mfg_settings = Table(
    "mfg_settings",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

IMPORTED = "import"
"""The ledger reference of load that came with the imported data (other work)."""


@dataclass(frozen=True, slots=True)
class Source:
    """One ranked entry of a sourcing rule, with how to reach and price the supplier."""

    item_id: str
    rank: int
    supplier_id: str
    supplier_item_id: str
    lead_time_days: int
    unit_price: Decimal | None = None
    url: str | None = None
    ask: bool = False  # ask the supplier's node for a quote, instead of the lead time here


@dataclass(frozen=True, slots=True)
class SalePrice:
    """A made item's public price."""

    unit_price: Decimal
    currency: str


SHIPPING = "@shipping"
"""The item id a shipping quote goes by in a quote round (no item id starts with ``@``)."""


@dataclass(frozen=True, slots=True)
class Shipping:
    """How a maker ships: carriers in rank order, packages per unit made, and where from."""

    carriers: tuple[tuple[str, str | None], ...]  # (carrier id, url or None: from registries)
    packages_per_unit: Decimal = Decimal(1)
    origin: str | None = None  # the maker's city code; the node's city when not given

    def sources(self) -> tuple[Source, ...]:
        """The carriers as a quote round asks them: one sourcing rule for shipping."""
        return tuple(
            Source(SHIPPING, rank, carrier_id, "standard", 0, url=url, ask=True)
            for rank, (carrier_id, url) in enumerate(self.carriers)
        )


_SHIPPING = msgspec.json.Decoder(Shipping)


@dataclass(frozen=True, slots=True)
class ProductionData:
    """Everything an import gives: master data, stock on hand, free open orders, other load."""

    items: tuple[Item, ...]
    lines: tuple[BomLine, ...]
    routings: tuple[Routing, ...]
    work_centers: tuple[WorkCenter, ...]
    sources: tuple[Source, ...]
    stock: tuple[tuple[str, Decimal], ...]
    open_orders: tuple[ScheduledReceipt, ...]
    load: tuple[tuple[str, date, Decimal], ...]
    prices: tuple[tuple[str, SalePrice], ...] = ()
    quote_wait_seconds: float = 5.0
    shipping: Shipping | None = None


def _json(value: Any) -> str:
    return msgspec.json.encode(value).decode()


def replace_master(connection: Connection, data: ProductionData) -> None:
    """Replace items, lines, routings, work centers, sourcing, on-hand stock, free open orders
    and imported load; sales' reservations, bookings and purchase orders are kept."""
    for table in (mfg_items, mfg_bom_lines, mfg_routings, mfg_work_centers, mfg_sourcing):
        connection.execute(delete(table))
    prices = dict(data.prices)
    for item in data.items:
        price = prices.get(item.id)
        connection.execute(
            insert(mfg_items).values(
                id=item.id,
                body=_json(item),
                unit_price=str(price.unit_price) if price else None,
                currency=price.currency if price else "INR",
            )
        )
    for line in data.lines:
        connection.execute(
            insert(mfg_bom_lines).values(
                parent=line.parent, component=line.component, body=_json(line)
            )
        )
    for routing in data.routings:
        connection.execute(
            insert(mfg_routings).values(item_id=routing.item_id, body=_json(routing))
        )
    for center in data.work_centers:
        connection.execute(insert(mfg_work_centers).values(id=center.id, body=_json(center)))
    for source in data.sources:
        connection.execute(
            insert(mfg_sourcing).values(
                item_id=source.item_id,
                rank=source.rank,
                supplier_id=source.supplier_id,
                supplier_item_id=source.supplier_item_id,
                lead_time_days=source.lead_time_days,
                unit_price=str(source.unit_price) if source.unit_price is not None else None,
                url=source.url,
                ask=source.ask,
            )
        )
    reserved = {row.item_id: Decimal(row.reserved) for row in connection.execute(select(mfg_stock))}
    connection.execute(delete(mfg_stock))
    on_hand = dict(data.stock)
    for item_id in sorted(set(on_hand) | set(reserved)):
        connection.execute(
            insert(mfg_stock).values(
                item_id=item_id,
                on_hand=str(max(on_hand.get(item_id, ZERO), reserved.get(item_id, ZERO))),
                reserved=str(reserved.get(item_id, ZERO)),
            )
        )
    connection.execute(delete(mfg_purchase_orders).where(mfg_purchase_orders.c.sale_tx.is_(None)))
    for receipt in data.open_orders:
        connection.execute(
            insert(mfg_purchase_orders).values(
                id=receipt.id,
                sale_tx=None,
                item_id=receipt.item_id,
                quantity=str(receipt.quantity),
                due=receipt.due.isoformat(),
                supplier_id=receipt.supplier_id,
                state="open",
                updated_at=0.0,
            )
        )
    connection.execute(delete(mfg_load).where(mfg_load.c.ref == IMPORTED))
    book(connection, IMPORTED, data.load)
    connection.execute(delete(mfg_settings))
    connection.execute(
        insert(mfg_settings).values(key="quote_wait_seconds", value=str(data.quote_wait_seconds))
    )
    if data.shipping is not None:
        connection.execute(insert(mfg_settings).values(key="shipping", value=_json(data.shipping)))


def shipping(connection: Connection) -> Shipping | None:
    """How this maker ships its made items, if it books carriers."""
    value = connection.execute(
        select(mfg_settings.c.value).where(mfg_settings.c.key == "shipping")
    ).scalar_one_or_none()
    return _SHIPPING.decode(value) if value is not None else None


def quote_wait_seconds(connection: Connection) -> float:
    """How long a quote waits for suppliers' answers."""
    value = connection.execute(
        select(mfg_settings.c.value).where(mfg_settings.c.key == "quote_wait_seconds")
    ).scalar_one_or_none()
    return float(value) if value is not None else 5.0


_ITEM = msgspec.json.Decoder(Item)
_LINE = msgspec.json.Decoder(BomLine)
_ROUTING = msgspec.json.Decoder(Routing)
_CENTER = msgspec.json.Decoder(WorkCenter)


def structure(connection: Connection) -> ProductStructure:
    """The product structure as imported."""
    items = [_ITEM.decode(b) for b in connection.execute(select(mfg_items.c.body)).scalars()]
    lines = [_LINE.decode(b) for b in connection.execute(select(mfg_bom_lines.c.body)).scalars()]
    routings = [
        _ROUTING.decode(b) for b in connection.execute(select(mfg_routings.c.body)).scalars()
    ]
    return ProductStructure.build(items, lines, routings)


def lock_capacity(connection: Connection) -> None:
    """Hold the work centers until the transaction ends (PostgreSQL; SQLite's BEGIN IMMEDIATE
    already serialises writers), so two workers cannot book the same free hours."""
    if connection.dialect.name == "postgresql":
        connection.execute(select(mfg_work_centers.c.id).with_for_update()).all()


def work_centers(connection: Connection) -> tuple[WorkCenter, ...]:
    """Every work center, by id."""
    query = select(mfg_work_centers.c.body).order_by(mfg_work_centers.c.id)
    return tuple(_CENTER.decode(b) for b in connection.execute(query).scalars())


def made_item(connection: Connection, item_id: str) -> tuple[Item, SalePrice | None] | None:
    """A made item and its public price, or None when the item is not made here."""
    row = connection.execute(select(mfg_items).where(mfg_items.c.id == item_id)).first()
    if row is None:
        return None
    item = _ITEM.decode(row.body)
    if item.procurement.value != "make":
        return None
    price = SalePrice(Decimal(row.unit_price), row.currency) if row.unit_price else None
    return item, price


def sources(connection: Connection) -> tuple[Source, ...]:
    """Every sourcing rule entry, by item and rank."""
    query = select(mfg_sourcing).order_by(mfg_sourcing.c.item_id, mfg_sourcing.c.rank)
    return tuple(
        Source(
            item_id=row.item_id,
            rank=row.rank,
            supplier_id=row.supplier_id,
            supplier_item_id=row.supplier_item_id,
            lead_time_days=row.lead_time_days,
            unit_price=Decimal(row.unit_price) if row.unit_price is not None else None,
            url=row.url,
            ask=bool(row.ask),
        )
        for row in connection.execute(query)
    )


def set_sources(connection: Connection, item_id: str, ranked: list[Source]) -> None:
    """Replace one item's sourcing rule by ``ranked`` (best first)."""
    connection.execute(delete(mfg_sourcing).where(mfg_sourcing.c.item_id == item_id))
    for rank, source in enumerate(ranked):
        connection.execute(
            insert(mfg_sourcing).values(
                item_id=item_id,
                rank=rank,
                supplier_id=source.supplier_id,
                supplier_item_id=source.supplier_item_id,
                lead_time_days=source.lead_time_days,
                unit_price=str(source.unit_price) if source.unit_price is not None else None,
                url=source.url,
                ask=source.ask,
            )
        )


def sourcing(connection: Connection) -> dict[str, tuple[SupplierQuote, ...]]:
    """Sourcing rules as MRP takes them: per item, suppliers best first."""
    ranked: dict[str, list[SupplierQuote]] = {}
    for source in sources(connection):
        ranked.setdefault(source.item_id, []).append(
            SupplierQuote(source.supplier_id, source.lead_time_days)
        )
    return {item: tuple(quotes) for item, quotes in ranked.items()}


def stock(connection: Connection) -> dict[str, StockLevel]:
    """Stock per item: on hand and reserved for confirmed sales."""
    return {
        row.item_id: StockLevel(Decimal(row.on_hand), Decimal(row.reserved))
        for row in connection.execute(select(mfg_stock).order_by(mfg_stock.c.item_id))
    }


def adjust_stock(
    connection: Connection, item_id: str, *, on_hand: Decimal = ZERO, reserved: Decimal = ZERO
) -> None:
    """Add to an item's on-hand and reserved quantities (negative to take away)."""
    row = connection.execute(select(mfg_stock).where(mfg_stock.c.item_id == item_id)).first()
    if row is None:
        connection.execute(
            insert(mfg_stock).values(item_id=item_id, on_hand=str(on_hand), reserved=str(reserved))
        )
        return
    level = StockLevel(Decimal(row.on_hand) + on_hand, Decimal(row.reserved) + reserved)
    connection.execute(
        update(mfg_stock)
        .where(mfg_stock.c.item_id == item_id)
        .values(on_hand=str(level.on_hand), reserved=str(level.reserved))
    )


def reserve_for(connection: Connection, sale_tx: str, item_id: str, quantity: Decimal) -> None:
    """Hold ``quantity`` of an item's stock for a sale."""
    adjust_stock(connection, item_id, reserved=quantity)
    connection.execute(
        insert(mfg_reservations).values(sale_tx=sale_tx, item_id=item_id, quantity=str(quantity))
    )


def reservations(connection: Connection, sale_tx: str) -> dict[str, Decimal]:
    """Stock held for a sale, per item."""
    rows = connection.execute(select(mfg_reservations).where(mfg_reservations.c.sale_tx == sale_tx))
    return {row.item_id: Decimal(row.quantity) for row in rows}


def release_for(connection: Connection, sale_tx: str) -> None:
    """Give a sale's held stock back."""
    for item_id, quantity in reservations(connection, sale_tx).items():
        adjust_stock(connection, item_id, reserved=-quantity)
    connection.execute(delete(mfg_reservations).where(mfg_reservations.c.sale_tx == sale_tx))


def book(connection: Connection, ref: str, load: Any) -> None:
    """Book (work center, day, hours) entries under ``ref``."""
    for center, day, hours in load:
        if hours > 0:
            connection.execute(
                insert(mfg_load).values(
                    ref=ref, work_center_id=center, day=day.isoformat(), hours=str(hours)
                )
            )


def unbook(connection: Connection, ref: str) -> None:
    """Free everything booked under ``ref``."""
    connection.execute(delete(mfg_load).where(mfg_load.c.ref == ref))


def ledger(connection: Connection, *, excluding: str | None = None) -> LoadLedger:
    """Hours booked per (work center, day), optionally without one sale's bookings."""
    query = select(mfg_load)
    if excluding is not None:
        query = query.where(mfg_load.c.ref != excluding)
    hours: dict[tuple[str, date], Decimal] = {}
    for row in connection.execute(query):
        key = (row.work_center_id, date.fromisoformat(row.day))
        hours[key] = hours.get(key, ZERO) + Decimal(row.hours)
    return LoadLedger(MappingProxyType(dict(sorted(hours.items()))))
