"""Production data files (JSON): a maker's items, BOM, routings, work centers, stock, open
orders, load already booked, and sourcing rules; every fault named by where it is.

```json
{"items": [{"id": "table", "name": "Oak table", "unit": "pcs", "procurement": "make",
            "unit_price": "12000", "currency": "INR",
            "lot": {"rule": "minimum-batch", "quantity": "5"}},
           {"id": "board", "unit": "m2", "procurement": "buy", "lead_time_days": 7}],
 "bom": [{"parent": "table", "component": "board", "quantity_per": "2", "scrap_percent": "5"}],
 "routings": [{"item_id": "table", "operations": [
     {"sequence": 10, "work_center_id": "assembly", "hours_per_unit": "2", "setup_hours": "0"}]}],
 "work_centers": [{"id": "assembly", "hours_per_day": "8", "working_weekdays": [0, 1, 2, 3, 4],
                   "holidays": ["2026-12-25"]}],
 "stock": [{"item_id": "board", "on_hand": "4"}],
 "open_orders": [{"id": "PO-7", "item_id": "board", "quantity": "10", "due": "2026-12-01"}],
 "load": [{"work_center_id": "assembly", "date": "2026-12-01", "hours": "4"}],
 "sourcing": [{"item_id": "board", "suppliers": [
     {"supplier_id": "mill.example", "lead_time_days": 3, "supplier_item_id": "board-18",
      "unit_price": "400", "url": "http://127.0.0.1:8503"}]}]}
```

Weekdays are ``date.weekday()`` numbers (Monday 0). ``url`` is optional: the node looks the
supplier up at its registries when it is left out. A sourcing rule with ``"ask_quotes": true``
asks its suppliers' nodes for quotes (in rank order) instead of using the lead times given here;
``quote_wait_seconds`` (default 5) bounds how long a quote waits for them. An optional
``"shipping": {"carriers": [{"carrier_id": "lsp.example", "url": "…"}], "packages_per_unit":
"1", "origin": "std:080"}`` has every quote ask those carriers' nodes (in rank order) to ship the
finished goods, and every confirmed sale book the shipment; the promise is then the delivery day.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType

import msgspec

from supplymesh.adapters.production_store import ProductionData, SalePrice, Shipping, Source
from supplymesh.domain.bom import (
    BomLine,
    Item,
    LotRule,
    LotSizing,
    Operation,
    Procurement,
    ProductStructure,
    Routing,
)
from supplymesh.domain.capacity import WEEKDAYS, LoadLedger, WorkCenter
from supplymesh.domain.errors import DomainError
from supplymesh.domain.mrp import plan
from supplymesh.domain.planning import PlanInputs, ScheduledReceipt, StockLevel, SupplierQuote


class ProductionFileError(ValueError):
    """A production data file cannot be imported; the message says where and why."""


class _Lot(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    rule: LotRule = LotRule.LOT_FOR_LOT
    quantity: Decimal = Decimal(0)


class _Item(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: str
    procurement: Procurement
    unit: str = "pcs"
    name: str = ""
    lead_time_days: int = 0
    lot: _Lot = _Lot()
    increment: Decimal = Decimal(1)
    unit_price: Decimal | None = None
    currency: str = "INR"


class _Line(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    parent: str
    component: str
    quantity_per: Decimal
    scrap_percent: Decimal = Decimal(0)


class _Operation(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    sequence: int
    work_center_id: str
    hours_per_unit: Decimal
    setup_hours: Decimal = Decimal(0)


class _Routing(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    item_id: str
    operations: list[_Operation]


class _WorkCenter(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: str
    hours_per_day: Decimal
    working_weekdays: list[int] = msgspec.field(default_factory=lambda: sorted(WEEKDAYS))
    holidays: list[date] = msgspec.field(default_factory=list)
    name: str = ""


class _Stock(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    item_id: str
    on_hand: Decimal


class _OpenOrder(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: str
    item_id: str
    quantity: Decimal
    due: date
    supplier_id: str | None = None


class _Load(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    work_center_id: str
    date: date
    hours: Decimal


class _Supplier(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    supplier_id: str
    lead_time_days: int
    supplier_item_id: str | None = None
    unit_price: Decimal | None = None
    url: str | None = None


class _Rule(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    item_id: str
    suppliers: list[_Supplier]
    ask_quotes: bool = False


class _Carrier(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    carrier_id: str
    url: str | None = None


class _Shipping(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    carriers: list[_Carrier]
    packages_per_unit: Decimal = Decimal(1)
    origin: str | None = None


class _File(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    items: list[_Item]
    bom: list[_Line] = msgspec.field(default_factory=list)
    routings: list[_Routing] = msgspec.field(default_factory=list)
    work_centers: list[_WorkCenter] = msgspec.field(default_factory=list)
    stock: list[_Stock] = msgspec.field(default_factory=list)
    open_orders: list[_OpenOrder] = msgspec.field(default_factory=list)
    load: list[_Load] = msgspec.field(default_factory=list)
    sourcing: list[_Rule] = msgspec.field(default_factory=list)
    quote_wait_seconds: float = 5.0
    shipping: _Shipping | None = None


def production_from_json(raw: bytes) -> ProductionData:
    """Parse and validate a production data file (the whole of it plans, or it is refused)."""
    try:
        parsed = msgspec.json.decode(raw, type=_File)
    except msgspec.ValidationError as exc:
        raise ProductionFileError(f"production data: {exc}") from None
    except msgspec.DecodeError as exc:
        raise ProductionFileError(f"production data is not JSON: {exc}") from None
    try:
        return _convert(parsed)
    except DomainError as exc:
        raise ProductionFileError(f"production data: {exc.message}") from None


def production_from_file(path: Path) -> ProductionData:
    """Read and parse a production data file."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ProductionFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    return production_from_json(raw)


def _convert(parsed: _File) -> ProductionData:
    items = tuple(
        Item(
            id=i.id,
            unit=i.unit,
            procurement=i.procurement,
            lead_time_days=i.lead_time_days,
            lot_sizing=LotSizing(i.lot.rule, i.lot.quantity),
            increment=i.increment,
            name=i.name,
        )
        for i in parsed.items
    )
    made = {i.id for i in parsed.items if i.procurement is Procurement.MAKE}
    prices = []
    for i in parsed.items:
        if i.unit_price is not None:
            if i.id not in made:
                raise ProductionFileError(f"item {i.id}: only made items carry a unit_price")
            if i.unit_price < 0:
                raise ProductionFileError(f"item {i.id}: a price cannot be negative")
            prices.append((i.id, SalePrice(i.unit_price, i.currency)))
    lines = tuple(
        BomLine(line.parent, line.component, line.quantity_per, line.scrap_percent)
        for line in parsed.bom
    )
    routings = tuple(
        Routing(
            r.item_id,
            tuple(
                Operation(o.sequence, o.work_center_id, o.hours_per_unit, o.setup_hours)
                for o in r.operations
            ),
        )
        for r in parsed.routings
    )
    centers = tuple(
        WorkCenter(
            c.id,
            c.hours_per_day,
            frozenset(c.working_weekdays),
            frozenset(c.holidays),
            c.name,
        )
        for c in parsed.work_centers
    )
    structure = ProductStructure.build(items, lines, routings)
    stock = tuple((s.item_id, s.on_hand) for s in parsed.stock)
    if len(dict(stock)) != len(stock):
        raise ProductionFileError("stock: an item is given twice")
    receipts = tuple(
        ScheduledReceipt(o.id, o.item_id, o.quantity, o.due, o.supplier_id)
        for o in parsed.open_orders
    )
    sources: list[Source] = []
    for index, rule in enumerate(parsed.sourcing):
        item = structure.item(rule.item_id)
        if item.procurement is not Procurement.BUY:
            raise ProductionFileError(f"sourcing[{index}]: item {rule.item_id} is not bought")
        if not rule.suppliers:
            raise ProductionFileError(f"sourcing[{index}]: {rule.item_id} names no supplier")
        for rank, supplier in enumerate(rule.suppliers):
            SupplierQuote(supplier.supplier_id, supplier.lead_time_days)  # validates
            sources.append(
                Source(
                    item_id=rule.item_id,
                    rank=rank,
                    supplier_id=supplier.supplier_id,
                    supplier_item_id=supplier.supplier_item_id or rule.item_id,
                    lead_time_days=supplier.lead_time_days,
                    unit_price=supplier.unit_price,
                    url=supplier.url,
                    ask=rule.ask_quotes,
                )
            )
    if len({s.item_id for s in sources}) != len(parsed.sourcing):
        raise ProductionFileError("sourcing: an item has two rules; rank its suppliers in one")
    load = tuple((entry.work_center_id, entry.date, entry.hours) for entry in parsed.load)
    data = ProductionData(
        items=items,
        lines=lines,
        routings=routings,
        work_centers=centers,
        sources=tuple(sources),
        stock=stock,
        open_orders=receipts,
        load=load,
        prices=tuple(prices),
        quote_wait_seconds=parsed.quote_wait_seconds,
        shipping=_shipping(parsed.shipping),
    )
    if not 0 < parsed.quote_wait_seconds <= 600:
        raise ProductionFileError("quote_wait_seconds must be in (0, 600]")
    check_plannable(data)
    return data


def _shipping(parsed: _Shipping | None) -> Shipping | None:
    if parsed is None:
        return None
    if not parsed.carriers:
        raise ProductionFileError("shipping: name at least one carrier")
    ids = [c.carrier_id for c in parsed.carriers]
    if len(set(ids)) != len(ids):
        raise ProductionFileError(f"shipping: a carrier is named twice in {ids}")
    if parsed.packages_per_unit <= 0:
        raise ProductionFileError("shipping: packages_per_unit must be above 0")
    return Shipping(
        carriers=tuple((c.carrier_id, c.url) for c in parsed.carriers),
        packages_per_unit=parsed.packages_per_unit,
        origin=parsed.origin,
    )


def check_plannable(data: ProductionData) -> None:
    """Refuse data MRP cannot plan: unknown work centers, stock or open orders of no item."""
    hours: dict[tuple[str, date], Decimal] = {}
    for center, day, booked in data.load:
        hours[(center, day)] = hours.get((center, day), Decimal(0)) + booked
    plan(
        PlanInputs(
            demands=(),
            structure=ProductStructure.build(data.items, data.lines, data.routings),
            today=date(2000, 1, 3),
            stock=MappingProxyType({i: StockLevel(q) for i, q in data.stock}),
            receipts=data.open_orders,
            work_centers=data.work_centers,
            ledger=LoadLedger(MappingProxyType(hours)),
        )
    )
