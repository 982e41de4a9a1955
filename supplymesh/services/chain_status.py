"""After a made-to-order sale is confirmed: its purchase orders' news, and its cancellation.

A supplier's ``on_status`` with a ``delay`` tag (or, from a supplier that is a maker too, a
``promise`` tag) moves its PO's due date; the sale is re-planned (:func:`~supplymesh.domain.
mrp.replan`) and, when its promise moved, the buyer gets an unsolicited ``on_status`` with a
``promise`` tag group: the new date, the previous one and the reason. A supplier's completed
order is received into stock held for the sale. Cancelling a sale before production frees its
capacity and stock and cancels its POs at the suppliers (once each, through the outbox).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import msgspec
from sqlalchemy.engine import Connection

from supplymesh.adapters import production_store as store
from supplymesh.adapters import sales_store
from supplymesh.adapters.sales_store import PurchaseOrder, Sale, Shipment
from supplymesh.domain.errors import DomainError
from supplymesh.domain.logistics import LOGISTICS_DOMAIN
from supplymesh.domain.mrp import plan, replan
from supplymesh.domain.orders import Order, OrderState
from supplymesh.domain.planning import Plan, PromiseMove
from supplymesh.protocol import schema as s
from supplymesh.protocol.actions import Action
from supplymesh.protocol.envelope import Envelope, decode
from supplymesh.protocol.messages import CancelMessage, OrderMessage, UpdateMessage
from supplymesh.services import carrier, wire
from supplymesh.services.chain import (
    BUYER,
    DELAY_TAG,
    DELIVERED,
    IN_PRODUCTION,
    PO_NAMESPACE,
    PROMISE_TAG,
    READY,
    SCHEDULED,
    SELLER,
    SHIPPED,
    WAITING,
    Delivered,
    at_door,
    delivered,
    place_purchase,
    plan_load,
    sale_inputs,
    shipment_request,
    tag_group,
    tag_value,
    today,
)
from supplymesh.services.node import Handler, NodeService, Outgoing

# -- status up the chain ----------------------------------------------------------------------


def following_purchases(handler: Handler) -> Handler:
    """``handler`` (the buyer's callback handler), plus what a callback on a PO causes."""

    def handle(
        node: NodeService, connection: Connection, env: Envelope, now: float
    ) -> list[Outgoing]:
        out = handler(node, connection, env, now)
        tx = str(env.context.transaction_id)
        po = sales_store.purchase_order_by_tx(connection, tx)
        if po is not None:
            return [*out, *supplier_report(node, connection, po, env, now)]
        shipment = sales_store.shipment_by_tx(connection, tx)
        if shipment is not None:
            return [*out, *carrier_report(node, connection, shipment, env, now)]
        return out

    return handle


def supplier_report(
    node: NodeService, connection: Connection, po: PurchaseOrder, env: Envelope, now: float
) -> list[Outgoing]:
    """A supplier confirmed, delayed, completed or cancelled a PO: follow it, re-plan."""
    if not isinstance(env.message, OrderMessage):
        return []
    wire_order = env.message.order
    status = wire_order.status
    if po.state == "cancelling" and wire_order.id is not None:
        return [_cancel_po(node, connection, po, wire_order.id, now)]
    if status == OrderState.CANCELLED.value:
        sales_store.update_purchase_order(connection, po.id, now, state="cancelled")
        return []
    if status == OrderState.COMPLETED.value and po.state in sales_store.OPEN_PO_STATES:
        sales_store.update_purchase_order(connection, po.id, now, state="received")
        store.adjust_stock(connection, po.item_id, on_hand=po.quantity)
        if po.sale_tx is None:
            return []
        store.reserve_for(connection, po.sale_tx, po.item_id, po.quantity)
        return _materials_in(node, connection, po.sale_tx, now)
    # A supplier that is a maker too moves its promise date instead of sending a delay.
    delayed = _reported_date(wire_order, DELAY_TAG, "new_date") or _reported_date(
        wire_order, PROMISE_TAG, "promise_date"
    )
    if delayed is None:
        if env.action is Action.ON_CONFIRM and po.state == "ordered":
            sales_store.update_purchase_order(connection, po.id, now, state="confirmed")
        return []
    due, why = delayed
    cause = f"{po.supplier_id} delayed {po.item_id} to {due} ({why})"
    return _move_due(node, connection, po, due=due, cause=cause, now=now)


def _reported_date(wire_order: s.Order, group: str, key: str) -> tuple[date, str] | None:
    """A new date a supplier or carrier reports in tag group ``group``, and its reason."""
    text = tag_value(wire_order.tags, group, key)
    if text is None:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise DomainError(f"delay new_date is not a date: {text!r}") from None
    return day, tag_value(wire_order.tags, group, "reason") or "no reason given"


def _move_due(
    node: NodeService,
    connection: Connection,
    po: PurchaseOrder,
    *,
    due: date,
    cause: str,
    now: float,
) -> list[Outgoing]:
    sale = sales_store.sale(connection, po.sale_tx) if po.sale_tx else None
    if sale is None or sale.state != "open":
        sales_store.update_purchase_order(
            connection, po.id, now, due=due, state="delayed", note=cause
        )
        return []
    previous = plan(sale_inputs(connection, sale, today(now)))
    sales_store.update_purchase_order(connection, po.id, now, due=due, state="delayed", note=cause)
    return _replanned(node, connection, sale, previous, cause, now)


def _replanned(  # noqa: PLR0917 - one re-plan's every fact
    node: NodeService,
    connection: Connection,
    sale: Sale,
    previous: Plan,
    cause: str,
    now: float,
) -> list[Outgoing]:
    """A sale's supplies changed since ``previous`` was planned: plan it again, book its
    capacity anew, tell the buyer a moved promise and move its carrier's pickup if it must."""
    moved = replan(previous, sale_inputs(connection, sale, today(now)))
    store.unbook(connection, sale.transaction_id)
    store.book(connection, sale.transaction_id, plan_load(moved.plan))
    promise = at_door(connection, moved.plan.promises[0], sale.transaction_id)
    return [
        *_promise_moved(node, connection, sale, promise, cause, moved.moves, now),
        *_rebook(node, connection, sale, promise, now),
    ]


def _promise_moved(  # noqa: PLR0917 - one move's every fact
    node: NodeService,
    connection: Connection,
    sale: Sale,
    promise: Delivered,
    cause: str,
    moves: tuple[PromiseMove, ...],
    now: float,
) -> list[Outgoing]:
    """Record a sale's new promise; when its date moved, tell the buyer the date and why."""
    if promise.date == sale.promise_date:
        sales_store.update_sale(
            connection, sale.transaction_id, now, explanation=promise.explanation
        )
        return []
    reason = f"{cause}; " + (moves[0].reason if moves else promise.explanation)
    sales_store.update_sale(
        connection,
        sale.transaction_id,
        now,
        promise_date=promise.date,
        explanation=promise.explanation,
    )
    return _tell_buyer(
        node,
        connection,
        sale,
        tag_group(
            PROMISE_TAG,
            [
                ("promise_date", promise.date.isoformat()),
                ("previous_date", sale.promise_date.isoformat()),
                ("reason", reason),
                ("critical_path", promise.explanation),
            ],
        ),
        now,
    )


def _tell_buyer(
    node: NodeService, connection: Connection, sale: Sale, group: s.TagGroup, now: float
) -> list[Outgoing]:
    order = node.store.order_by_id(connection, sale.order_id, SELLER)
    about = node.store.first_incoming(connection, sale.transaction_id, Action.CONFIRM.value)
    if order is None or about is None:
        return []
    request = decode(about)
    current = sales_store.sale(connection, sale.transaction_id) or sale
    wire_order = msgspec.structs.replace(
        wire.order(order, node.identity.subscriber_id),
        fulfillments=(stage_fulfillment(current.stage),),
        tags=(group,),
    )
    return [
        node.unsolicited(request.context, Action.ON_STATUS, OrderMessage(order=wire_order), now)
    ]


def report_delay(node: NodeService, order_id: str, new_date: date, reason: str) -> Order:
    """A seller's order will be late: tell its buyer the new date and why (on_status)."""
    now = node.clock()
    with node.store.engine.begin() as connection:
        order = node.store.order_by_id(connection, order_id, SELLER)
        if order is None:
            raise DomainError(f"no order {order_id!r} here")
        if order.state.is_final:
            raise DomainError(f"order {order_id} is {order.state.value}; it cannot be delayed")
        about = node.store.first_incoming(connection, order.transaction_id, Action.CONFIRM.value)
        if about is None:
            raise DomainError(f"order {order_id} has no confirm message to answer")
        request = decode(about)
        wire_order = msgspec.structs.replace(
            wire.order(order, node.identity.subscriber_id),
            tags=(tag_group(DELAY_TAG, [("new_date", new_date.isoformat()), ("reason", reason)]),),
        )
        node.enqueue(
            connection,
            node.unsolicited(
                request.context, Action.ON_STATUS, OrderMessage(order=wire_order), now
            ),
            now,
        )
    return order


# -- cancellation -----------------------------------------------------------------------------


def cancel_sale(
    node: NodeService, connection: Connection, order: Order, now: float
) -> list[Outgoing]:
    """The sale's order was cancelled: free its capacity and stock; before production, cancel
    its purchase orders at the suppliers (once each)."""
    sale = sales_store.sale(connection, order.transaction_id)
    if sale is None or sale.state != "open":
        return []
    before_production = order.state in (OrderState.CREATED, OrderState.ACCEPTED)
    sales_store.update_sale(connection, sale.transaction_id, now, state="cancelled")
    store.unbook(connection, sale.transaction_id)
    store.release_for(connection, sale.transaction_id)
    out = []
    for po in sales_store.purchase_orders(connection, sale_tx=sale.transaction_id):
        if po.transaction_id is None:  # imported open order: free again
            sales_store.update_purchase_order(connection, po.id, now, sale_tx=None)
            continue
        if not before_production or po.state not in sales_store.OPEN_PO_STATES:
            continue
        supplier_order = node.store.order_for(connection, po.transaction_id, BUYER)
        if supplier_order is None:  # not confirmed yet: cancel when its on_confirm comes
            sales_store.update_purchase_order(connection, po.id, now, state="cancelling")
            continue
        out.append(_cancel_po(node, connection, po, supplier_order.id, now))
    shipment = sales_store.shipment(connection, sale.transaction_id)
    if shipment is not None and shipment.state in ("booking", "booked"):
        booked = node.store.order_for(connection, shipment.transaction_id, BUYER)
        if booked is None:  # not confirmed yet: cancel when its on_confirm comes
            sales_store.update_shipment(connection, sale.transaction_id, now, state="cancelling")
        else:
            out.append(_cancel_shipment(node, connection, shipment, booked.id, now))
    return out


def _cancel_po(
    node: NodeService, connection: Connection, po: PurchaseOrder, supplier_order_id: str, now: float
) -> Outgoing:
    sales_store.update_purchase_order(connection, po.id, now, state="cancel-sent")
    confirmed = node.store.first_incoming(connection, str(po.transaction_id), "on_confirm")
    uri = decode(confirmed).context.bpp_uri if confirmed is not None else None
    if uri is None:
        source = next(
            (x for x in store.sources(connection) if x.supplier_id == po.supplier_id), None
        )
        uri = source.url if source is not None else None
    message = CancelMessage(
        order_id=supplier_order_id,
        cancellation_reason_id="001",
        descriptor=s.Descriptor(short_desc="the customer's order was cancelled"),
    )
    return node.request(
        Action.CANCEL,
        (str(po.supplier_id), str(uri)),
        message,
        now,
        transaction_id=str(po.transaction_id),
        message_id=str(uuid.uuid5(PO_NAMESPACE, f"{po.transaction_id}/cancel")),
    )


def _cancel_shipment(
    node: NodeService, connection: Connection, shipment: Shipment, carrier_order_id: str, now: float
) -> Outgoing:
    sales_store.update_shipment(connection, shipment.sale_tx, now, state="cancel-sent")
    message = CancelMessage(
        order_id=carrier_order_id,
        cancellation_reason_id="001",
        descriptor=s.Descriptor(short_desc="the customer's order was cancelled"),
    )
    return node.request(
        Action.CANCEL,
        (shipment.carrier_id, shipment.url),
        message,
        now,
        transaction_id=shipment.transaction_id,
        message_id=str(uuid.uuid5(PO_NAMESPACE, f"{shipment.transaction_id}/cancel")),
        domain=LOGISTICS_DOMAIN,
    )


# -- the maker's own stages, and its carrier's news -------------------------------------------

PRODUCTION_TAG = "production"


def stage_fulfillment(stage: str) -> s.Fulfillment:
    """The fulfillment of a made-to-order sale, its state the sale's stage."""
    return s.Fulfillment(
        id=carrier.FULFILLMENT_ID, state=s.State(descriptor=s.Descriptor(code=stage))
    )


def _stage_group(sale: Sale, stage: str, detail: str) -> s.TagGroup:
    return tag_group(
        PRODUCTION_TAG,
        [("stage", stage), ("detail", detail), ("promise_date", sale.promise_date.isoformat())],
    )


def _tell_stage(  # noqa: PLR0917 - one stage's every fact
    node: NodeService, connection: Connection, sale: Sale, stage: str, detail: str, now: float
) -> list[Outgoing]:
    """Move a sale to ``stage`` and tell its buyer (once per stage)."""
    if sale.stage == stage or sale.state != "open":
        return []
    sales_store.update_sale(connection, sale.transaction_id, now, stage=stage)
    return _tell_buyer(node, connection, sale, _stage_group(sale, stage, detail), now)


def _materials_in(
    node: NodeService, connection: Connection, sale_tx: str, now: float
) -> list[Outgoing]:
    """A PO was received: when it was the sale's last, production can start as planned."""
    sale = sales_store.sale(connection, sale_tx)
    if sale is None or sale.stage != WAITING:
        return []
    still = [
        po
        for po in sales_store.purchase_orders(connection, sale_tx=sale_tx)
        if po.state in sales_store.OPEN_PO_STATES
    ]
    if still:
        return []
    return _tell_stage(node, connection, sale, SCHEDULED, "every material received", now)


def seller_moved(connection: Connection, order: Order, wire_order: s.Order, now: float) -> s.Order:
    """The maker moved its order: a made-to-order sale's on_status also carries the stage
    this puts it in (``wire_order`` as it is for any other order)."""
    sale = sales_store.sale(connection, order.transaction_id)
    if sale is None or sale.state != "open":
        return wire_order
    if order.state is OrderState.IN_PROGRESS:
        stage, detail = IN_PRODUCTION, "production started"
    elif order.state is OrderState.COMPLETED:
        stage, detail = DELIVERED, "delivered"
    else:
        return wire_order
    sales_store.update_sale(connection, sale.transaction_id, now, stage=stage)
    return msgspec.structs.replace(
        wire_order,
        tags=(_stage_group(sale, stage, detail),),
        fulfillments=(stage_fulfillment(stage),),
    )


def mark_ready(node: NodeService, order_id: str) -> Sale:
    """The maker finished a made-to-order sale's goods: tell the buyer they are ready."""
    now = node.clock()
    with node.store.engine.begin() as connection:
        order = node.store.order_by_id(connection, order_id, SELLER)
        sale = sales_store.sale(connection, order.transaction_id) if order else None
        if order is None or sale is None:
            raise DomainError(f"no made-to-order sale with order {order_id!r} here")
        if order.state is not OrderState.IN_PROGRESS:
            raise DomainError(
                f"order {order_id} is {order.state.value}; start its production first"
            )
        shipment = sales_store.shipment(connection, sale.transaction_id)
        detail = "ready for collection"
        if shipment is not None and shipment.state in ("booking", "booked"):
            detail = f"ready for pickup by {shipment.carrier_id}"
        for out in _tell_stage(node, connection, sale, READY, detail, now):
            node.enqueue(connection, out, now)
        return sales_store.sale(connection, sale.transaction_id) or sale


def carrier_report(
    node: NodeService, connection: Connection, shipment: Shipment, env: Envelope, now: float
) -> list[Outgoing]:
    """The carrier confirmed, picked up, delivered, delayed or cancelled a sale's shipment."""
    if not isinstance(env.message, OrderMessage):
        return []
    wire_order = env.message.order
    status = wire_order.status
    sale = sales_store.sale(connection, shipment.sale_tx)
    if shipment.state == "cancelling" and wire_order.id is not None:
        return [_cancel_shipment(node, connection, shipment, wire_order.id, now)]
    if status == OrderState.CANCELLED.value:
        sales_store.update_shipment(connection, shipment.sale_tx, now, state="cancelled")
        return []
    if sale is None or sale.state != "open":
        return []
    if status == OrderState.IN_PROGRESS.value and shipment.state != "picked-up":
        sales_store.update_shipment(connection, shipment.sale_tx, now, state="picked-up")
        detail = f"picked up by {shipment.carrier_id}; delivery {sale.promise_date}"
        return _tell_stage(node, connection, sale, SHIPPED, detail, now)
    if status == OrderState.COMPLETED.value and shipment.state != "delivered":
        sales_store.update_shipment(connection, shipment.sale_tx, now, state="delivered")
        return _deliver(node, connection, sale, f"delivered by {shipment.carrier_id}", now)
    delayed = _reported_date(wire_order, DELAY_TAG, "new_date")
    if delayed is not None:
        day, why = delayed
        sales_store.update_shipment(connection, shipment.sale_tx, now, delivery=day)
        cause = f"{shipment.carrier_id} now delivers on {day} ({why})"
        return _moved_delivery(node, connection, sale, cause, now)
    if env.action in (Action.ON_CONFIRM, Action.ON_UPDATE):
        try:
            answer = carrier.read_answer(wire_order)
        except DomainError:
            return []
        sales_store.update_shipment(
            connection,
            shipment.sale_tx,
            now,
            state="booked",
            pickup=answer.pickup,
            delivery=answer.delivery,
        )
        if delivered(shipment.ready, answer.pickup, answer.delivery) != sale.promise_date:
            cause = (
                f"{shipment.carrier_id} booked pickup {answer.pickup}, delivery {answer.delivery}"
            )
            return _moved_delivery(node, connection, sale, cause, now)
    return []


def _moved_delivery(
    node: NodeService, connection: Connection, sale: Sale, cause: str, now: float
) -> list[Outgoing]:
    promise = at_door(
        connection, plan(sale_inputs(connection, sale, today(now))).promises[0], sale.transaction_id
    )
    return _promise_moved(node, connection, sale, promise, cause, (), now)


def _deliver(
    node: NodeService, connection: Connection, sale: Sale, detail: str, now: float
) -> list[Outgoing]:
    """The goods reached the buyer: the maker's order is completed, and the buyer told."""
    order = node.store.order_by_id(connection, sale.order_id, SELLER)
    if order is None:
        return []
    if order.state.is_final:
        return []
    at = datetime.fromtimestamp(now, UTC)
    while (step := order.state.following) is not None:  # each step on the record
        order = order.advance(step, at)
    node.store.save_order(connection, order, role=SELLER, counterparty=order.buyer_id, now=now)
    return _tell_stage(node, connection, sale, DELIVERED, detail, now)


# -- a refused purchase order goes to the next source -----------------------------------------


def resource_refused(
    node: NodeService, connection: Connection, po: PurchaseOrder, why: str, now: float
) -> list[Outgoing]:
    """A supplier refused a sale's PO: place it with the next-ranked supplier of the item and
    re-plan the sale (the buyer hears a moved promise); with no supplier left, say so."""
    note = f"{po.supplier_id}: {why}"
    sources = [src for src in store.sources(connection) if src.item_id == po.item_id]
    ranks = [src.rank for src in sources if src.supplier_id == po.supplier_id]
    later = [src for src in sources if not ranks or src.rank > ranks[0]]
    sale = sales_store.sale(connection, po.sale_tx) if po.sale_tx else None
    if sale is None or sale.state != "open" or not later:
        if sale is not None and sale.state == "open":
            note = f"{note}; no other supplier of {po.item_id}"
        sales_store.update_purchase_order(connection, po.id, now, state="refused", note=note)
        return []
    day = today(now)
    previous = plan(sale_inputs(connection, sale, day))
    sales_store.update_purchase_order(connection, po.id, now, state="refused", note=note)
    source = later[0]
    po_tx = str(
        uuid.uuid5(PO_NAMESPACE, f"{sale.transaction_id}/{po.item_id}/{source.supplier_id}")
    )
    replacement = PurchaseOrder(
        id=f"PO-{po_tx[:8]}",
        item_id=po.item_id,
        quantity=po.quantity,
        due=max(po.due, day + timedelta(days=source.lead_time_days)),
        state="ordered",
        sale_tx=sale.transaction_id,
        supplier_id=source.supplier_id,
        supplier_item_id=source.supplier_item_id,
        transaction_id=po_tx,
        note=f"instead of {po.id} ({note})",
    )
    sales_store.add_purchase_order(connection, replacement, now)
    cause = f"{po.supplier_id} refused {po.item_id} ({why}); ordered from {source.supplier_id}"
    return [
        place_purchase(node, connection, replacement, source, now),
        *_replanned(node, connection, sale, previous, cause, now),
    ]


def _rebook(
    node: NodeService, connection: Connection, sale: Sale, promise: Delivered, now: float
) -> list[Outgoing]:
    """The goods will be ready after the booked pickup: ask the carrier to move the booking
    (``update`` of the fulfillment); its answer moves the promise again if it must."""
    shipment = sales_store.shipment(connection, sale.transaction_id)
    ready = promise.ready.date
    if shipment is None or shipment.state != "booked" or ready <= shipment.pickup:
        return []
    booked = node.store.order_for(connection, shipment.transaction_id, BUYER)
    about = node.store.first_incoming(connection, sale.transaction_id, Action.CONFIRM.value)
    if booked is None or about is None:
        return []
    request = shipment_request(
        node, connection, decode(about), now, sale.transaction_id, ready_on=ready
    )
    if request is None:
        return []
    sales_store.update_shipment(connection, sale.transaction_id, now, ready=ready)
    order = msgspec.structs.replace(
        carrier.request_order(shipment.carrier_id, request), id=booked.id
    )
    message = UpdateMessage(update_target="fulfillment", order=order)
    return [
        node.request(
            Action.UPDATE,
            (shipment.carrier_id, shipment.url),
            message,
            now,
            transaction_id=shipment.transaction_id,
            message_id=str(uuid.uuid5(PO_NAMESPACE, f"{shipment.transaction_id}/ready/{ready}")),
            domain=LOGISTICS_DOMAIN,
        )
    ]
