"""Made-to-order across nodes: quotes planned by MRP, purchase orders, status up the chain.

A seller node with production data answers ``select``/``init`` for a made item with a price
and a promise date that :func:`supplymesh.domain.mrp.plan` computed from its capacity, stock,
open orders and its suppliers' lead times (sourcing rules), the critical path in a ``plan``
tag group. ``confirm`` books the plan's operations in the load ledger, reserves stock, and
places a purchase order with each planned purchase's supplier (a ``confirm`` to that
supplier's node through the outbox, in the same transaction; the PO's transaction id is
derived from the sale's, so it is placed once). What follows a confirmed sale (suppliers'
delays, shipments, cancellation) is :mod:`supplymesh.services.chain_status`; asking the
suppliers' nodes for quotes first is :mod:`supplymesh.services.supplier_quotes`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from types import MappingProxyType

import msgspec
from sqlalchemy.engine import Connection

from supplymesh.adapters import production_store as store
from supplymesh.adapters import quote_store, sales_store
from supplymesh.adapters.production_store import SHIPPING
from supplymesh.adapters.sales_store import PurchaseOrder, Sale
from supplymesh.domain.catalog import BreakupLine, Quote
from supplymesh.domain.errors import DomainError
from supplymesh.domain.logistics import LOGISTICS_DOMAIN, ShipmentRequest
from supplymesh.domain.mrp import plan
from supplymesh.domain.orders import Order, OrderLine
from supplymesh.domain.planning import (
    Demand,
    Plan,
    PlanInputs,
    Promise,
    StockLevel,
    SupplierQuote,
)
from supplymesh.protocol import schema as s
from supplymesh.protocol.actions import Action
from supplymesh.protocol.envelope import Envelope
from supplymesh.protocol.errors import ErrorCode
from supplymesh.protocol.messages import OrderMessage
from supplymesh.services import carrier, wire
from supplymesh.services.carrier import CarrierAnswer
from supplymesh.services.node import NodeService, Outgoing

PLAN_TAG = "plan"
DELAY_TAG = "delay"
PROMISE_TAG = "promise"
CENT = Decimal("0.01")
ZERO = Decimal(0)
SELLER = "seller"
BUYER = "buyer"
PO_NAMESPACE = uuid.UUID("6f1f4c52-2f0e-4c61-9a57-7c1f0f1e5a11")
WAITING = "waiting-for-materials"
SCHEDULED = "scheduled"
IN_PRODUCTION = "in-production"
READY = "ready"
SHIPPED = "shipped"
DELIVERED = "delivered"


class NotPriced(DomainError):
    """A made item without a public price cannot be quoted."""

    code = ErrorCode.QUOTE_UNAVAILABLE


def tag_group(code: str, values: Iterable[tuple[str, str]]) -> s.TagGroup:
    """A tag group ``code`` with (key, value) tags."""
    return s.TagGroup(
        descriptor=s.Descriptor(code=code),
        entries=tuple(s.Tag(descriptor=s.Descriptor(code=k), value=v) for k, v in values),
    )


def tag_value(tags: Iterable[s.TagGroup] | None, group: str, key: str) -> str | None:
    """The value of tag ``key`` in tag group ``group``, if any."""
    for tags_group in tags or ():
        if tags_group.key == group:
            return tags_group.get(key)
    return None


def today(now: float) -> date:
    """The planning day of a unix time (UTC)."""
    return datetime.fromtimestamp(now, UTC).date()


def made_selection(connection: Connection, order: s.Order | None) -> tuple[str, int] | None:
    """(item, quantity) when the order selects one item this node makes, else None."""
    if order is None or not order.items or len(order.items) != 1:
        return None
    item = order.items[0]
    if item.id is None or store.made_item(connection, item.id) is None:
        return None
    [chosen] = wire.selection(order)
    return chosen


# -- planning ---------------------------------------------------------------------------------


def quote_inputs(
    connection: Connection, demand: Demand, today: date, transaction_id: str | None = None
) -> PlanInputs:
    """A new demand against free stock, free open orders and the current load; with the
    lead times the suppliers quoted in ``transaction_id``'s round, if there was one."""
    sourcing = store.sourcing(connection)
    if transaction_id is not None:
        sourcing.update(answered_sourcing(connection, transaction_id))
    return PlanInputs(
        demands=(demand,),
        structure=store.structure(connection),
        today=today,
        stock=MappingProxyType(store.stock(connection)),
        receipts=tuple(po.receipt() for po in sales_store.purchase_orders(connection, free=True)),
        work_centers=store.work_centers(connection),
        ledger=store.ledger(connection),
        sourcing=MappingProxyType(sourcing),
    )


def answered_sourcing(connection: Connection, sale_tx: str) -> dict[str, tuple[SupplierQuote, ...]]:
    """The suppliers that answered a sale's quote round, with their lead times, per item."""
    return {
        r.item_id: (SupplierQuote(r.supplier_id, r.lead_time_days or 0),)
        for r in quote_store.requests(connection, sale_tx)
        if r.state == quote_store.ANSWERED and r.item_id != SHIPPING
    }


# -- shipping ---------------------------------------------------------------------------------


def made_item_price(connection: Connection, item_id: str) -> store.SalePrice | None:
    """A made item's public price, if it has one."""
    made = store.made_item(connection, item_id)
    return made[1] if made is not None else None


def destination(request: Envelope, fallback: str) -> str:
    """Where the buyer wants the goods: its order's end stop city, else its own city."""
    order = request.message.order if isinstance(request.message, OrderMessage) else None
    for fulfillment in (order.fulfillments if order is not None else None) or ():
        for stop in fulfillment.stops or ():
            code = carrier.stop_city(stop) if stop.type == "end" else None
            if code:
                return code
    return request.context.city_code or fallback


def shipment_request(
    node: NodeService,
    connection: Connection,
    request: Envelope,
    now: float,
    sale_tx: str,
    *,
    ready_on: date | None = None,
) -> ShipmentRequest | None:
    """What to ask a carrier for a quote's goods: the day the plan has them ready (or
    ``ready_on``), packages, from here to the buyer; None when this maker books no carriers."""
    shipping = store.shipping(connection)
    order = request.message.order if isinstance(request.message, OrderMessage) else None
    chosen = made_selection(connection, order)
    if shipping is None or chosen is None:
        return None
    item_id, count = chosen
    ready = ready_on or (
        plan(
            quote_inputs(connection, Demand("quote", item_id, Decimal(count)), today(now), sale_tx)
        )
        .promises[0]
        .date
    )
    packages = int((shipping.packages_per_unit * count).to_integral_value(ROUND_CEILING))
    return ShipmentRequest(
        origin=shipping.origin or node.identity.city,
        destination=destination(request, node.identity.city),
        ready=ready,
        packages=max(packages, 1),
    )


def shipping_answer(
    connection: Connection, sale_tx: str
) -> tuple[quote_store.QuoteRequest, CarrierAnswer] | None:
    """The carrier that answered a sale's latest quote round, and what it quoted."""
    found = None
    for r in quote_store.requests(connection, sale_tx):
        if r.item_id == SHIPPING and r.state == quote_store.ANSWERED and r.answer:
            found = (r, msgspec.json.decode(r.answer, type=CarrierAnswer))
    return found


def delivered(ready: date, pickup: date, delivery: date) -> date:
    """The delivery day of goods ready on ``ready``, on a lane quoted pickup → delivery: as
    quoted when they are ready in time, else as much later as they are late."""
    return delivery if ready <= pickup else ready + (delivery - pickup)


@dataclass(frozen=True, slots=True)
class Delivered:
    """A promise at the buyer's door: ready here, picked up, delivered, by which carrier."""

    ready: Promise
    carrier_id: str | None
    pickup: date | None
    date: date
    price: Decimal | None

    @property
    def explanation(self) -> str:
        """The critical path, with the shipping leg last."""
        if self.carrier_id is None:
            return self.ready.explanation
        return (
            f"{self.ready.explanation} → shipped by {self.carrier_id}: pickup {self.pickup}, "
            f"delivery {self.date}"
        )


def at_door(connection: Connection, ready: Promise, sale_tx: str | None) -> Delivered:
    """A plan's promise carried to the buyer: by the carrier quoted (or booked) for the sale."""
    booked = sales_store.shipment(connection, sale_tx) if sale_tx else None
    if booked is not None and booked.state != "cancelled":
        day = delivered(ready.date, booked.pickup, booked.delivery)
        pickup = max(ready.date, booked.pickup)
        return Delivered(ready, booked.carrier_id, pickup, day, booked.price)
    answered = shipping_answer(connection, sale_tx) if sale_tx else None
    if answered is None:
        return Delivered(ready, None, None, ready.date, None)
    request, answer = answered
    day = delivered(ready.date, answer.pickup, answer.delivery)
    return Delivered(ready, request.supplier_id, max(ready.date, answer.pickup), day, answer.price)


def quoted_transaction(connection: Connection, sale_tx: str, item_id: str) -> str | None:
    """The transaction a supplier answered a sale's quote for an item in (its PO goes there)."""
    for r in quote_store.requests(connection, sale_tx):
        if r.item_id == item_id and r.state == quote_store.ANSWERED:
            return r.transaction_id
    return None


def sale_inputs(connection: Connection, sale: Sale, today: date) -> PlanInputs:
    """A confirmed sale on what it holds: its stock, its POs, the load of everything else."""
    return PlanInputs(
        demands=(Demand(sale.transaction_id, sale.item_id, sale.quantity),),
        structure=store.structure(connection),
        today=today,
        stock=MappingProxyType(
            {
                i: StockLevel(q)
                for i, q in store.reservations(connection, sale.transaction_id).items()
            }
        ),
        receipts=tuple(
            po.receipt()
            for po in sales_store.purchase_orders(connection, sale_tx=sale.transaction_id)
            if po.state in sales_store.OPEN_PO_STATES
        ),
        work_centers=store.work_centers(connection),
        ledger=store.ledger(connection, excluding=sale.transaction_id),
        sourcing=MappingProxyType(store.sourcing(connection)),
    )


def plan_load(result: Plan) -> list[tuple[str, date, Decimal]]:
    """The hours a plan's production orders book, per work center and day."""
    booked: dict[tuple[str, date], Decimal] = {}
    for production in result.productions:
        for operation in production.operations:
            for day, hours in operation.load:
                key = (operation.work_center_id, day)
                booked[key] = booked.get(key, ZERO) + hours
    return [(center, day, hours) for (center, day), hours in sorted(booked.items())]


def _plan_tags(promise: Delivered, stage: str | None = None) -> s.TagGroup:
    values = [
        ("promise_date", promise.date.isoformat()),
        ("ready_date", promise.ready.date.isoformat()),
        ("critical_path", promise.explanation),
    ]
    if promise.carrier_id is not None and promise.pickup is not None:
        values += [("carrier", promise.carrier_id), ("pickup_date", promise.pickup.isoformat())]
    if stage is not None:
        values.append(("stage", stage))
    return tag_group(PLAN_TAG, values)


# -- quote ------------------------------------------------------------------------------------


def quote(
    node: NodeService,
    connection: Connection,
    order: s.Order,
    now: float,
    transaction_id: str | None = None,
) -> tuple[s.Order, Quote]:
    """A made item's quote: its public price, delivery and tax, promise date from the plan."""
    chosen = made_selection(connection, order)
    if chosen is None:  # pragma: no cover - callers check first
        raise DomainError("not a made item")
    item_id, count = chosen
    made = store.made_item(connection, item_id)
    assert made is not None  # noqa: S101 - made_selection checked it
    item, price = made
    if price is None:
        raise NotPriced(f"{item_id} is made here but has no public price yet")
    if count <= 0:
        raise DomainError(f"a quantity must be positive, got {count}")
    promise = at_door(
        connection,
        plan(
            quote_inputs(
                connection, Demand("quote", item_id, Decimal(count)), today(now), transaction_id
            )
        ).promises[0],
        transaction_id,
    )
    quoted = _priced(item.label or item_id, item_id, count, price, node, promise)
    answer = s.Order(
        provider=s.Provider(id=node.identity.subscriber_id),
        items=(
            s.Item(
                id=item_id,
                price=wire.price(price.unit_price, price.currency),
                quantity=s.ItemQuantity(selected=s.QuantityValue(count=count)),
            ),
        ),
        quote=wire.quote(quoted),
        tags=(_plan_tags(promise),),
    )
    return answer, quoted


def _unit_price(connection: Connection, item_id: str) -> Decimal:
    price = made_item_price(connection, item_id)
    if price is None:
        raise NotPriced(f"{item_id} is made here but has no public price yet")
    return price.unit_price


def _priced(  # noqa: PLR0917 - one quote's every fact
    title: str,
    item_id: str,
    count: int,
    price: store.SalePrice,
    node: NodeService,
    shipped: Delivered,
) -> Quote:
    amount = (price.unit_price * count).quantize(CENT, ROUND_HALF_UP)
    lines = [BreakupLine(title, amount, item_id=item_id, quantity=count)]
    if shipped.price is not None:  # the carrier's tariff, passed on as it was quoted
        lines.append(
            BreakupLine(f"Shipping by {shipped.carrier_id}", shipped.price, kind="delivery")
        )
    elif node.identity.delivery_charge:
        lines.append(
            BreakupLine("Delivery", node.identity.delivery_charge.quantize(CENT), kind="delivery")
        )
    if node.identity.tax_percent:
        tax = (amount * node.identity.tax_percent / 100).quantize(CENT, ROUND_HALF_UP)
        lines.append(BreakupLine(f"Tax {node.identity.tax_percent}%", tax, kind="tax"))
    return Quote(currency=price.currency, lines=tuple(lines))


# -- confirm ----------------------------------------------------------------------------------


def confirm(node: NodeService, connection: Connection, env: Envelope, now: float) -> list[Outgoing]:
    """Plan the sale, book capacity, reserve stock, place POs; answer on_confirm with the date."""
    assert isinstance(env.message, OrderMessage)  # noqa: S101 - typed by action
    ctx = env.context
    tx = str(ctx.transaction_id)
    store.lock_capacity(connection)
    _, quoted = quote(node, connection, env.message.order, now, tx)
    confirmed = env.message.order.quote
    if (
        confirmed is not None
        and confirmed.price is not None
        and confirmed.price.value
        and wire.decimal(confirmed.price.value) != quoted.total
    ):
        raise DomainError(
            f"the order is confirmed at {confirmed.price.value} but the price now is "
            f"{quoted.total}; select again"
        )
    [(item_id, count)] = wire.selection(env.message.order)
    unit_price = _unit_price(connection, item_id)
    promise, stage, out = commit(node, connection, tx, item_id, Decimal(count), now)
    out.extend(_book_shipment(node, connection, env, promise, now))
    order = Order(
        id=f"O-{uuid.uuid4().hex[:12]}",
        transaction_id=tx,
        buyer_id=str(ctx.bap_id),
        seller_id=node.identity.subscriber_id,
        lines=(OrderLine(item_id, count, unit_price),),
        currency=quoted.currency,
        created_at=datetime.fromtimestamp(now, UTC),
        extra_charges=sum((b.amount for b in quoted.lines if b.kind != "item"), ZERO),
    )
    node.store.save_order(connection, order, role=SELLER, counterparty=order.buyer_id, now=now)
    sales_store.add_sale(
        connection,
        Sale(
            tx, order.id, item_id, Decimal(count), promise.date, promise.explanation, "open", stage
        ),
        now,
    )
    answer = msgspec.structs.replace(
        wire.order(order, node.identity.subscriber_id, quoted),
        billing=env.message.order.billing,
        fulfillments=env.message.order.fulfillments,
        tags=(_plan_tags(promise, stage),),
    )
    return [node.reply(env, OrderMessage(order=answer), now), *out]


def place_purchase(
    node: NodeService, connection: Connection, po: PurchaseOrder, source: store.Source, now: float
) -> Outgoing:
    """The confirm that places ``po`` with its supplier."""
    identity = node.identity
    order = s.Order(
        provider=s.Provider(id=source.supplier_id),
        items=(
            s.Item(
                id=source.supplier_item_id,
                quantity=s.ItemQuantity(selected=s.QuantityValue(count=int(po.quantity))),
            ),
        ),
        billing=s.Billing(name=identity.display_name or identity.subscriber_id),
        tags=(tag_group("purchase_order", [("po_id", po.id), ("due", po.due.isoformat())]),),
    )
    node.store.touch_transaction(
        connection,
        transaction_id=str(po.transaction_id),
        role=BUYER,
        counterparty=source.supplier_id,
        domain=identity.domain,
        action=Action.CONFIRM.value,
        now=now,
    )
    return node.request(
        Action.CONFIRM,
        (source.supplier_id, str(source.url)),
        OrderMessage(order=order),
        now,
        transaction_id=str(po.transaction_id),
        message_id=str(uuid.uuid5(PO_NAMESPACE, f"{po.transaction_id}/confirm")),
    )


def commit(  # noqa: PLR0917 - one commitment's every fact
    node: NodeService,
    connection: Connection,
    tx: str,
    item_id: str,
    quantity: Decimal,
    now: float,
) -> tuple[Delivered, str, list[Outgoing]]:
    """Plan ``quantity`` of a made item for sale ``tx`` and commit the plan: reserve stock,
    take free open orders, book capacity, place POs. The promise, the stage, the POs to send.
    (The caller holds the capacity lock.)"""
    result = plan(quote_inputs(connection, Demand(tx, item_id, quantity), today(now), tx))
    promise = at_door(connection, result.promises[0], tx)
    for requirement in result.requirements:
        if requirement.from_stock > 0:
            store.reserve_for(connection, tx, requirement.item_id, requirement.from_stock)
        taken = ZERO
        if requirement.from_receipts > 0:
            for po in sales_store.purchase_orders(connection, free=True):
                if po.item_id == requirement.item_id and taken < requirement.from_receipts:
                    sales_store.update_purchase_order(connection, po.id, now, sale_tx=tx)
                    taken += po.quantity
    store.book(connection, tx, plan_load(result))
    out: list[Outgoing] = []
    sources = {(src.item_id, src.supplier_id): src for src in store.sources(connection)}
    for purchase in result.purchases:
        amount = purchase.quantity.to_integral_value(ROUND_CEILING)
        source = sources.get((purchase.item_id, purchase.supplier_id or ""))
        po_tx = quoted_transaction(connection, tx, purchase.item_id) or str(
            uuid.uuid5(PO_NAMESPACE, f"{node.identity.subscriber_id}/{tx}/{purchase.item_id}")
        )
        po = PurchaseOrder(
            id=f"PO-{po_tx[:8]}",
            item_id=purchase.item_id,
            quantity=amount,
            due=purchase.due_date,
            state="ordered" if source is not None else "unsourced",
            sale_tx=tx,
            supplier_id=purchase.supplier_id,
            supplier_item_id=source.supplier_item_id if source else None,
            transaction_id=po_tx if source is not None else None,
        )
        sales_store.add_purchase_order(connection, po, now)
        if source is not None:
            out.append(place_purchase(node, connection, po, source, now))
    stage = (
        WAITING
        if result.purchases or any(r.from_receipts for r in result.requirements)
        else SCHEDULED
    )
    return promise, stage, out


def plan_batch(
    node: NodeService,
    connection: Connection,
    batch: tuple[str, str],
    *,
    item_id: str,
    units: int,
    now: float,
) -> Delivered | None:
    """A filled demand pool of a made item becomes one sale, planned and committed as one
    production batch (its POs placed); ``batch`` is (sale transaction, pool id). None when the
    item is not made here."""
    tx, pool_id = batch
    if store.made_item(connection, item_id) is None or sales_store.sale(connection, tx):
        return None
    store.lock_capacity(connection)
    promise, stage, out = commit(node, connection, tx, item_id, Decimal(units), now)
    sales_store.add_sale(
        connection,
        Sale(
            tx, pool_id, item_id, Decimal(units), promise.date, promise.explanation, "open", stage
        ),
        now,
    )
    for message in out:
        node.enqueue(connection, message, now)
    return promise


def _book_shipment(
    node: NodeService, connection: Connection, env: Envelope, promise: Delivered, now: float
) -> list[Outgoing]:
    """Book the quoted carrier for a confirmed sale (in the transaction it quoted in)."""
    tx = str(env.context.transaction_id)
    answered = shipping_answer(connection, tx)
    shipment = shipment_request(node, connection, env, now, tx, ready_on=promise.ready.date)
    if answered is None or shipment is None or promise.pickup is None:
        return []
    request, answer = answered
    shipping = store.shipping(connection)
    url = next(
        (u for c, u in (shipping.carriers if shipping else ()) if c == request.supplier_id), None
    )
    if url is None:
        return []
    sales_store.add_shipment(
        connection,
        sales_store.Shipment(
            sale_tx=tx,
            carrier_id=request.supplier_id,
            url=url,
            transaction_id=request.transaction_id,
            lane_id=answer.lane_id,
            packages=shipment.packages,
            ready=promise.ready.date,
            pickup=promise.pickup,
            delivery=promise.date,
            price=answer.price,
            state="booking",
        ),
        now,
    )
    identity = node.identity
    order = msgspec.structs.replace(
        carrier.request_order(request.supplier_id, shipment),
        billing=s.Billing(name=identity.display_name or identity.subscriber_id),
    )
    node.store.touch_transaction(
        connection,
        transaction_id=request.transaction_id,
        role=BUYER,
        counterparty=request.supplier_id,
        domain=LOGISTICS_DOMAIN,
        action=Action.CONFIRM.value,
        now=now,
    )
    return [
        node.request(
            Action.CONFIRM,
            (request.supplier_id, url),
            OrderMessage(order=order),
            now,
            transaction_id=request.transaction_id,
            message_id=str(uuid.uuid5(PO_NAMESPACE, f"{request.transaction_id}/confirm")),
            domain=LOGISTICS_DOMAIN,
        )
    ]
