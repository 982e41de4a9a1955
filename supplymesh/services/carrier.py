"""The logistics role: a carrier node quotes and books shipments on its lanes.

A shipment request is an ordinary ``select``/``init``/``confirm`` in a logistics domain
(:data:`~supplymesh.domain.logistics.LOGISTICS_DOMAINS`): one item whose count is the number of
packages, and one fulfillment whose ``start`` stop gives the origin city and, in
``time.range.start``, the day the goods are ready, and whose ``end`` stop gives the destination
city. The carrier answers with the lane, its tariff in the quote, and pickup and delivery days in
the stops' time ranges and in a ``shipping`` tag group. A ``confirm`` books the shipment on the
lane (re-quoted against the bookings of the moment, under the lanes' lock, so capacity is never
sold twice); the carrier's owner then moves the order as any seller does: ``start`` is the
pickup, ``complete`` the delivery, and a cancellation frees the capacity.

The maker's side of the same wire (building the request, reading the answer) is here too, so
both ends read one format.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import msgspec
from sqlalchemy.engine import Connection

from supplymesh.adapters import logistics_store
from supplymesh.adapters.logistics_store import Booking
from supplymesh.domain.catalog import BreakupLine, Quote
from supplymesh.domain.errors import DomainError
from supplymesh.domain.logistics import (
    LOGISTICS_DOMAINS,
    Lane,
    ShipmentQuote,
    ShipmentRequest,
    quote_shipment,
)
from supplymesh.domain.orders import Order, OrderLine, OrderState
from supplymesh.protocol import schema as s
from supplymesh.protocol.context import City
from supplymesh.protocol.envelope import Envelope
from supplymesh.protocol.errors import ErrorCode, ProtocolError
from supplymesh.protocol.messages import OrderMessage, UpdateMessage
from supplymesh.services import wire
from supplymesh.services.node import NodeService, Outgoing

SHIPPING_TAG = "shipping"
FULFILLMENT_ID = "F1"
SELLER = "seller"
PATH = "$.message.order.fulfillments[0].stops"


def is_shipment(env: Envelope) -> bool:
    """Whether a request is addressed to this node as a carrier."""
    return env.context.domain in LOGISTICS_DOMAINS


# -- the wire, both ends -----------------------------------------------------------------------


def _stop(kind: str, city: str, start: date | None, end: date | None = None) -> s.Stop:
    window: dict[str, str] = {}
    if start is not None:
        window["start"] = start.isoformat()
    if end is not None:
        window["end"] = end.isoformat()
    return s.Stop(
        type=kind,
        location=s.Location(city=City(code=city)),
        time=s.Time(range=window) if window else None,
    )


def request_order(carrier_id: str, request: ShipmentRequest, item_id: str = "standard") -> s.Order:
    """The order a shipper sends a carrier for ``request``."""
    return s.Order(
        provider=s.Provider(id=carrier_id),
        items=(
            s.Item(
                id=item_id,
                quantity=s.ItemQuantity(selected=s.QuantityValue(count=request.packages)),
            ),
        ),
        fulfillments=(
            s.Fulfillment(
                id=FULFILLMENT_ID,
                type="Delivery",
                stops=(
                    _stop("start", request.origin, request.ready),
                    _stop("end", request.destination, None),
                ),
            ),
        ),
    )


def _stop_date(stop: s.Stop, index: int) -> date | None:
    window = stop.time.range if stop.time is not None else None
    text = window.get("start") if isinstance(window, dict) else None
    if text is None and stop.time is not None and stop.time.timestamp is not None:
        return stop.time.timestamp.astimezone(UTC).date()
    if text is None:
        return None
    try:
        return date.fromisoformat(str(text)[:10])
    except ValueError:
        raise ProtocolError(
            ErrorCode.INVALID_REQUEST,
            f"time.range.start {text!r} is not a date",
            f"{PATH}[{index}].time.range.start",
        ) from None


def stop_city(stop: s.Stop) -> str | None:
    """A stop's city code (or area code), if its location gives one."""
    location = stop.location
    if location is None:
        return None
    code = location.city.code if location.city is not None else None
    return code or location.area_code


def _city(stop: s.Stop, index: int) -> str:
    code = stop_city(stop)
    if not code:
        raise ProtocolError(
            ErrorCode.INVALID_REQUEST,
            f"the {stop.type} stop needs a location with a city code",
            f"{PATH}[{index}].location.city.code",
        )
    return code


def shipment_request(order: s.Order, today: date) -> ShipmentRequest:
    """What a shipper asks for: origin, destination, ready day (today when not given), size."""
    [(_, packages)] = _one_selection(order)
    stops = order.fulfillments[0].stops if order.fulfillments else None
    kinds = {stop.type: (index, stop) for index, stop in enumerate(stops or ())}
    if "start" not in kinds or "end" not in kinds:
        raise ProtocolError(
            ErrorCode.INVALID_REQUEST, "a shipment needs a start and an end stop", PATH
        )
    start_index, start = kinds["start"]
    end_index, end = kinds["end"]
    ready = _stop_date(start, start_index) or today
    return ShipmentRequest(
        origin=_city(start, start_index),
        destination=_city(end, end_index),
        ready=max(ready, today),
        packages=packages,
    )


def _one_selection(order: s.Order) -> list[tuple[str, int]]:
    chosen = wire.selection(order)
    if len(chosen) != 1:
        raise DomainError("a shipment request selects exactly one service")
    return chosen


def answer_order(carrier_id: str, request: ShipmentRequest, quoted: ShipmentQuote) -> s.Order:
    """The carrier's quote: the lane, its tariff, pickup and delivery days."""
    return s.Order(
        provider=s.Provider(id=carrier_id),
        items=(
            s.Item(
                id=quoted.lane_id,
                quantity=s.ItemQuantity(selected=s.QuantityValue(count=quoted.packages)),
            ),
        ),
        fulfillments=(
            s.Fulfillment(
                id=FULFILLMENT_ID,
                type="Delivery",
                stops=(
                    _stop("start", request.origin, quoted.pickup, quoted.pickup),
                    _stop("end", request.destination, quoted.delivery, quoted.delivery),
                ),
            ),
        ),
        quote=wire.quote(_breakup(request, quoted)),
        tags=(_tags(quoted),),
    )


def _tags(quoted: ShipmentQuote) -> s.TagGroup:
    values = [
        ("lane_id", quoted.lane_id),
        ("pickup_date", quoted.pickup.isoformat()),
        ("delivery_date", quoted.delivery.isoformat()),
    ]
    return s.TagGroup(
        descriptor=s.Descriptor(code=SHIPPING_TAG),
        entries=tuple(s.Tag(descriptor=s.Descriptor(code=k), value=v) for k, v in values),
    )


def _breakup(request: ShipmentRequest, quoted: ShipmentQuote) -> Quote:
    title = f"Shipping {request.origin} → {request.destination}, {quoted.packages} packages"
    return Quote(
        currency=quoted.currency,
        lines=(BreakupLine(title, quoted.price, item_id=quoted.lane_id, quantity=quoted.packages),),
    )


@dataclass(frozen=True, slots=True)
class CarrierAnswer:
    """What a carrier quoted or confirmed, as the shipper reads it."""

    lane_id: str
    pickup: date
    delivery: date
    price: Decimal
    currency: str


def read_answer(order: s.Order) -> CarrierAnswer:
    """The shipper's reading of a carrier's on_select / on_confirm; DomainError if unusable."""
    values = {}
    for group in order.tags or ():
        if group.key == SHIPPING_TAG:
            values = {k: group.get(k) for k in ("lane_id", "pickup_date", "delivery_date")}
    if not all(values.values()) or len(values) != 3:
        raise DomainError("the carrier's answer has no shipping tags")
    price = order.quote.price if order.quote is not None else None
    if price is None or not price.value:
        raise DomainError("the carrier's answer has no price")
    try:
        pickup = date.fromisoformat(str(values["pickup_date"]))
        delivery = date.fromisoformat(str(values["delivery_date"]))
    except ValueError:
        raise DomainError(f"the carrier's dates are not dates: {values}") from None
    return CarrierAnswer(
        lane_id=str(values["lane_id"]),
        pickup=pickup,
        delivery=delivery,
        price=wire.decimal(price.value),
        currency=price.currency or "INR",
    )


# -- the carrier ------------------------------------------------------------------------------


def _today(now: float) -> date:
    return datetime.fromtimestamp(now, UTC).date()


@dataclass(frozen=True, slots=True)
class _Quoted:
    """A request, the quote for it, and the lane quoted."""

    request: ShipmentRequest
    quote: ShipmentQuote
    lane: Lane

    def lines(self) -> tuple[OrderLine, ...]:
        """The order's line: the packages at the lane's package price (its base price is the
        order's extra charge)."""
        return (OrderLine(self.lane.id, self.quote.packages, self.lane.package_price),)


def _quote(
    connection: Connection, order: s.Order, now: float, moving: Booking | None = None
) -> _Quoted:
    today = _today(now)
    request = shipment_request(order, today)
    lanes = logistics_store.lanes(connection)
    if not lanes:
        raise DomainError("this node carries nothing: it has no lanes")
    load = dict(logistics_store.load(connection, today))
    if moving is not None:  # a booking that moves does not compete with itself
        key = (moving.lane_id, moving.pickup)
        load[key] = load.get(key, 0) - moving.packages
    quoted = quote_shipment(lanes, request, load)
    return _Quoted(request, quoted, next(lane for lane in lanes if lane.id == quoted.lane_id))


def quote(node: NodeService, connection: Connection, order: s.Order, now: float) -> s.Order:
    """A carrier's answer to select or init: lane, price, pickup and delivery."""
    quoted = _quote(connection, order, now)
    return answer_order(node.identity.subscriber_id, quoted.request, quoted.quote)


def _booked(node: NodeService, order: Order, quoted: _Quoted) -> s.Order:
    """A booked shipment's order as on_confirm and on_update send it: the order, with the
    quote's breakup, stops and shipping tags."""
    answer = answer_order(node.identity.subscriber_id, quoted.request, quoted.quote)
    return msgspec.structs.replace(
        wire.order(order, node.identity.subscriber_id, _breakup(quoted.request, quoted.quote)),
        fulfillments=answer.fulfillments,
        tags=answer.tags,
    )


def confirm(node: NodeService, connection: Connection, env: Envelope, now: float) -> list[Outgoing]:
    """Book the shipment on its lane (once per transaction) and confirm it with its days."""
    assert isinstance(env.message, OrderMessage)  # noqa: S101 - typed by action
    ctx = env.context
    tx = str(ctx.transaction_id)
    logistics_store.lock_lanes(connection)
    quoted = _quote(connection, env.message.order, now)
    shipment = quoted.quote
    order = Order(
        id=f"S-{uuid.uuid4().hex[:12]}",
        transaction_id=tx,
        buyer_id=str(ctx.bap_id),
        seller_id=node.identity.subscriber_id,
        lines=quoted.lines(),
        currency=shipment.currency,
        created_at=datetime.fromtimestamp(now, UTC),
        extra_charges=quoted.lane.base_price,
    )
    node.store.save_order(connection, order, role=SELLER, counterparty=order.buyer_id, now=now)
    logistics_store.add_booking(
        connection,
        Booking(
            transaction_id=tx,
            order_id=order.id,
            lane_id=shipment.lane_id,
            pickup=shipment.pickup,
            delivery=shipment.delivery,
            packages=shipment.packages,
            state=logistics_store.BOOKED,
        ),
        now,
    )
    confirmed = msgspec.structs.replace(
        _booked(node, order, quoted), billing=env.message.order.billing
    )
    return [node.reply(env, OrderMessage(order=confirmed), now)]


def update(node: NodeService, connection: Connection, env: Envelope, now: float) -> list[Outgoing]:
    """The shipper's goods will be ready later: move the booking to the first pickup after."""
    assert isinstance(env.message, UpdateMessage)  # noqa: S101 - typed by action
    targets = {t.strip() for t in env.message.update_target.split(",")}
    if not targets <= {"fulfillment", "item"}:
        raise ProtocolError(
            ErrorCode.INVALID_UPDATE_TARGET,
            f"a shipment changes by update_target 'fulfillment', got {env.message.update_target!r}",
            "$.message.update_target",
        )
    order_id = env.message.order.id
    order = node.store.order_by_id(connection, order_id, SELLER) if order_id else None
    booking = logistics_store.booking(connection, order.transaction_id) if order else None
    if order is None or booking is None:
        raise DomainError(f"no shipment {order_id!r} booked here")
    if booking.state != logistics_store.BOOKED:
        raise ShipmentMoving(f"shipment {order.id} is {booking.state}; it can no longer move")
    logistics_store.lock_lanes(connection)
    quoted = _quote(connection, env.message.order, now, moving=booking)
    shipment = quoted.quote
    logistics_store.move_booking(
        connection,
        booking.transaction_id,
        (shipment.lane_id, shipment.pickup, shipment.delivery),
        now,
    )
    moved = dataclasses.replace(order, lines=quoted.lines(), extra_charges=quoted.lane.base_price)
    node.store.save_order(connection, moved, role=SELLER, counterparty=order.buyer_id, now=now)
    return [node.reply(env, OrderMessage(order=_booked(node, moved, quoted)), now)]


class ShipmentMoving(DomainError):
    """A shipment already on its way cannot be re-booked."""

    code = ErrorCode.UPDATE_NOT_POSSIBLE


BOOKING_STATES = {
    OrderState.IN_PROGRESS: "picked-up",
    OrderState.COMPLETED: "delivered",
    OrderState.CANCELLED: "cancelled",
}


def follow_order(connection: Connection, order: Order, now: float) -> None:
    """A carrier's order moved: its booking follows (a cancellation frees the capacity)."""
    state = BOOKING_STATES.get(order.state)
    if state is not None and logistics_store.booking(connection, order.transaction_id):
        logistics_store.set_state(connection, order.transaction_id, state, now)
