"""The seller's side (BPP): answer search, select, init, confirm, status, track, update,
cancel, rating and support, and tell the buyer when the seller moves an order on.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import msgspec
from sqlalchemy.engine import Connection

from supplymesh.adapters.catalog_cache import changed_since
from supplymesh.domain.catalog import CatalogItem, Quote, build_quote
from supplymesh.domain.demand import Demand, can_make
from supplymesh.domain.errors import DomainError, IllegalTransition, UnknownItem
from supplymesh.domain.orders import (
    DEFAULT_CANCELLATION_TERMS,
    Order,
    OrderLine,
    OrderState,
    Party,
)
from supplymesh.protocol import schema as s
from supplymesh.protocol.actions import Action
from supplymesh.protocol.envelope import Envelope, decode
from supplymesh.protocol.errors import ErrorCode, ProtocolError
from supplymesh.protocol.messages import (
    CancelMessage,
    OnRatingMessage,
    OnSearchMessage,
    OnTrackMessage,
    OptionalOrderMessage,
    OrderMessage,
    RatingMessage,
    SearchMessage,
    StatusMessage,
    SupportMessage,
    TrackMessage,
    UpdateMessage,
)
from supplymesh.services import (
    carrier,
    chain,
    chain_status,
    demand,
    pools,
    supplier_quotes,
    wire,
)
from supplymesh.services.node import Handler, NodeService, Outgoing

SELLER = "seller"


class OrderNotFound(DomainError):
    """No such order on this node."""

    code = ErrorCode.ORDER_NOT_FOUND


class PriceMismatch(DomainError):
    """The buyer confirms a price that is not the public price now."""

    code = ErrorCode.QUOTE_UNAVAILABLE


class AlreadyConfirmed(IllegalTransition):
    """A transaction's order is confirmed once."""


class UpdateRefused(DomainError):
    """The order can no longer change."""

    code = ErrorCode.UPDATE_NOT_POSSIBLE


class RatingCategoryUnsupported(DomainError):
    """Beckn's 50003."""

    code = ErrorCode.RATING_CATEGORY_UNSUPPORTED


def _matches(item: CatalogItem, intent: s.Intent | None) -> bool:
    if intent is None:
        return True
    words = [
        d.name.lower()
        for d in (
            intent.descriptor,
            intent.item.descriptor if intent.item else None,
        )
        if d is not None and d.name
    ]
    if any(word not in item.name.lower() for word in words):
        return False
    if intent.category is not None and intent.category.id and item.category != intent.category.id:
        return False
    return not (intent.item is not None and intent.item.id and intent.item.id != item.id)


def on_search(
    node: NodeService, connection: Connection, env: Envelope, now: float
) -> list[Outgoing]:
    """The items matching the intent, or (an incremental pull) those changed since a time."""
    assert isinstance(env.message, SearchMessage)  # noqa: S101 - decode typed it by action
    intent = env.message.intent
    since = incremental_since(intent)
    other_provider = (
        intent is not None
        and intent.provider is not None
        and intent.provider.id not in (None, node.identity.subscriber_id)
    )
    items: list[CatalogItem]
    wanted = demand.demand_of(intent)
    if other_provider:
        items = []
    elif since is not None:
        items = changed_since(connection, since)
    elif wanted is not None:
        return [
            node.reply(
                env, OnSearchMessage(catalog=_made_to_order(node, connection, wanted, now)), now
            )
        ]
    else:
        items = [i for i in node.store.catalog(connection).values() if _matches(i, intent)]
    name = node.identity.display_name or node.identity.subscriber_id
    catalog = wire.catalog(node.identity.subscriber_id, name, items)
    if not other_provider and since is None:
        words = _words(intent)
        offered = [
            p
            for p in pools.pool_items(node, connection)
            if all(w in ((p.descriptor.name or "") if p.descriptor else "").lower() for w in words)
        ]
        if offered:
            provider = catalog.providers[0] if catalog.providers else s.Provider()
            catalog = msgspec.structs.replace(
                catalog,
                providers=(
                    msgspec.structs.replace(provider, items=(*(provider.items or ()), *offered)),
                ),
            )
    return [node.reply(env, OnSearchMessage(catalog=catalog), now)]


def _made_to_order(
    node: NodeService, connection: Connection, wanted: Demand, now: float
) -> s.Catalog:
    """Made-to-order offers for a consumer's demand, and open pools for the same items."""
    today = datetime.fromtimestamp(now, UTC).date()
    offers = [
        offer
        for item in node.store.catalog(connection).values()
        if (offer := can_make(item, wanted, today)) is not None
    ]
    made = [demand.offer_item(offer) for offer in offers]
    ids = {offer.item.id for offer in offers}
    pooled = [p for p in pools.pool_items(node, connection) if p.id in ids]
    name = node.identity.display_name or node.identity.subscriber_id
    return s.Catalog(
        descriptor=s.Descriptor(name=name),
        providers=(
            s.Provider(
                id=node.identity.subscriber_id,
                descriptor=s.Descriptor(name=name),
                items=(*made, *pooled),
            ),
        ),
    )


def _words(intent: s.Intent | None) -> list[str]:
    if intent is None:
        return []
    return [
        d.name.lower()
        for d in (intent.descriptor, intent.item.descriptor if intent.item else None)
        if d is not None and d.name
    ]


CATALOG_INC = "catalog_inc"


def incremental_since(intent: s.Intent | None) -> float | None:
    """The start_time of an ONDC incremental catalog pull (``catalog_inc`` tags), if it is one."""
    for group in (intent.tags if intent is not None else None) or ():
        if group.key != CATALOG_INC:
            continue
        start = group.get("start_time")
        if start is None:
            return 0.0
        try:
            moment = datetime.fromisoformat(start.replace("Z", "+00:00"))
        except ValueError:
            raise ProtocolError(
                ErrorCode.INVALID_REQUEST,
                f"catalog_inc start_time is not RFC 3339: {start!r}",
                "$.message.intent.tags",
            ) from None
        if moment.tzinfo is None:
            raise ProtocolError(
                ErrorCode.INVALID_REQUEST,
                "catalog_inc start_time needs a UTC offset",
                "$.message.intent.tags",
            )
        return moment.timestamp()
    return None


def _quote(
    node: NodeService,
    connection: Connection,
    order: s.Order | None,
    now: float,
    transaction_id: str | None = None,
) -> tuple[s.Order, Quote]:
    if order is not None and chain.made_selection(connection, order) is not None:
        # made to order: priced and planned
        return chain.quote(node, connection, order, now, transaction_id)
    items = node.store.catalog(connection)
    chosen = wire.selection(order)
    quoted = build_quote(
        items,
        chosen,
        delivery_charge=node.identity.delivery_charge,
        tax_percent=node.identity.tax_percent,
    )
    answer = s.Order(
        provider=s.Provider(id=node.identity.subscriber_id),
        items=tuple(
            s.Item(
                id=item_id,
                price=wire.price(items[item_id].unit_price, items[item_id].currency),
                quantity=s.ItemQuantity(selected=s.QuantityValue(count=count)),
            )
            for item_id, count in chosen
        ),
        quote=wire.quote(quoted),
    )
    return answer, quoted


def on_select(
    node: NodeService, connection: Connection, env: Envelope, now: float
) -> list[Outgoing]:
    """A quote at public prices, with its breakup."""
    assert isinstance(env.message, OrderMessage)  # noqa: S101
    if pools.joining(env.message.order) is not None:
        return [
            node.reply(
                env, OptionalOrderMessage(order=pools.quote_pool(node, connection, env, now)), now
            )
        ]
    if carrier.is_shipment(env):
        answer = carrier.quote(node, connection, env.message.order, now)
        return [node.reply(env, OptionalOrderMessage(order=answer), now)]
    asked = supplier_quotes.ask(node, connection, env, now)  # made to order: suppliers asked
    if asked is not None:
        return asked  # on_select follows once they answer (supplier_quotes)
    answer, _ = _quote(node, connection, env.message.order, now, str(env.context.transaction_id))
    return [node.reply(env, OptionalOrderMessage(order=answer), now)]


def on_init(node: NodeService, connection: Connection, env: Envelope, now: float) -> list[Outgoing]:
    """The quote again with payment and cancellation terms, billing echoed."""
    assert isinstance(env.message, OrderMessage)  # noqa: S101
    if pools.joining(env.message.order) is not None:
        return [
            node.reply(env, OrderMessage(order=pools.quote_pool(node, connection, env, now)), now)
        ]
    if carrier.is_shipment(env):
        shipment = carrier.quote(node, connection, env.message.order, now)
        shipment = msgspec.structs.replace(shipment, billing=env.message.order.billing)
        return [node.reply(env, OrderMessage(order=shipment), now)]
    answer, _ = _quote(node, connection, env.message.order, now, str(env.context.transaction_id))
    answer = s.Order(
        provider=answer.provider,
        items=answer.items,
        quote=answer.quote,
        billing=env.message.order.billing,
        fulfillments=env.message.order.fulfillments,
        payments=(s.Payment(type="ON-FULFILLMENT", status="NOT-PAID", collected_by="BPP"),),
        cancellation_terms=wire.cancellation_terms(DEFAULT_CANCELLATION_TERMS),
        tags=answer.tags,
    )
    return [node.reply(env, OrderMessage(order=answer), now)]


def on_confirm(
    node: NodeService, connection: Connection, env: Envelope, now: float
) -> list[Outgoing]:
    """Create the order, reserve its stock, and confirm it (once per transaction)."""
    assert isinstance(env.message, OrderMessage)  # noqa: S101
    joined = pools.joining(env.message.order)
    if joined is not None:
        return pools.host_join(node, connection, env, joined, now)
    ctx = env.context
    existing = node.store.order_for(connection, str(ctx.transaction_id), SELLER)
    if existing is not None:
        raise AlreadyConfirmed(
            f"transaction {ctx.transaction_id} already has order {existing.id} "
            f"({existing.state.value}); confirm once"
        )
    if carrier.is_shipment(env):
        return carrier.confirm(node, connection, env, now)  # a carrier books a shipment
    if chain.made_selection(connection, env.message.order) is not None:
        return chain.confirm(node, connection, env, now)  # made to order: book, reserve, buy
    items = node.store.catalog(connection, lock=True)
    chosen = wire.selection(env.message.order)
    quoted = build_quote(
        items,
        chosen,
        delivery_charge=node.identity.delivery_charge,
        tax_percent=node.identity.tax_percent,
    )
    confirmed = _quoted_total(env.message.order)
    if confirmed is not None and confirmed != quoted.total:
        raise PriceMismatch(
            f"the order is confirmed at {confirmed} but the public price now is "
            f"{quoted.total}; select again"
        )
    reserved = []
    for item_id, count in chosen:
        reserved.append(items[item_id].reserve(count))
        items[item_id] = reserved[-1]
    order = Order(
        id=f"O-{uuid.uuid4().hex[:12]}",
        transaction_id=str(ctx.transaction_id),
        buyer_id=str(ctx.bap_id),
        seller_id=node.identity.subscriber_id,
        lines=tuple(OrderLine(i, c, items[i].unit_price) for i, c in chosen),
        currency=quoted.currency,
        created_at=datetime.fromtimestamp(now, UTC),
        extra_charges=sum((b.amount for b in quoted.lines if b.kind != "item"), Decimal(0)),
    )
    node.store.save_items(connection, reserved, now)
    node.store.save_order(connection, order, role=SELLER, counterparty=order.buyer_id, now=now)
    message = wire.order(order, node.identity.subscriber_id, quoted)
    return [node.reply(env, OrderMessage(order=_with_billing(message, env.message.order)), now)]


def _quoted_total(order: s.Order) -> Decimal | None:
    if order.quote is None or order.quote.price is None or not order.quote.price.value:
        return None
    return wire.decimal(order.quote.price.value)


def _with_billing(order: s.Order, request: s.Order) -> s.Order:
    return msgspec.structs.replace(
        order, billing=request.billing, fulfillments=request.fulfillments
    )


def _order(node: NodeService, connection: Connection, order_id: str) -> Order:
    order = node.store.order_by_id(connection, order_id, SELLER)
    if order is None:
        raise OrderNotFound(f"no order {order_id!r} here")
    return order


def on_status(
    node: NodeService, connection: Connection, env: Envelope, now: float
) -> list[Outgoing]:
    """The order's current state."""
    assert isinstance(env.message, StatusMessage)  # noqa: S101
    if env.message.order_id.startswith(pools.REF_PREFIX):
        order = node.store.order_by_id(connection, env.message.order_id, SELLER)
        if order is None:  # still pending, or released
            return pools.host_status(node, connection, env, env.message.order_id, now)
        return [
            node.reply(env, OrderMessage(order=wire.order(order, node.identity.subscriber_id)), now)
        ]
    order = _order(node, connection, env.message.order_id)
    return [
        node.reply(env, OrderMessage(order=wire.order(order, node.identity.subscriber_id)), now)
    ]


def on_track(
    node: NodeService, connection: Connection, env: Envelope, now: float
) -> list[Outgoing]:
    """Tracking is active while the order is being made or delivered."""
    assert isinstance(env.message, TrackMessage)  # noqa: S101
    order = _order(node, connection, env.message.order_id)
    active = order.state is OrderState.IN_PROGRESS
    tracking = s.Tracking(id=order.id, status="active" if active else "inactive")
    return [node.reply(env, OnTrackMessage(tracking=tracking), now)]


def on_update(
    node: NodeService, connection: Connection, env: Envelope, now: float
) -> list[Outgoing]:
    """Change item quantities while the order is still Created; stock follows."""
    assert isinstance(env.message, UpdateMessage)  # noqa: S101
    if carrier.is_shipment(env):
        return carrier.update(node, connection, env, now)  # a shipper's goods ready later
    targets = {t.strip() for t in env.message.update_target.split(",")}
    if targets != {"item"}:
        raise ProtocolError(
            ErrorCode.INVALID_UPDATE_TARGET,
            f"only update_target 'item' is supported, got {env.message.update_target!r}",
            "$.message.update_target",
        )
    order_id = env.message.order.id
    if order_id is None:
        raise ProtocolError(
            ErrorCode.ORDER_NOT_FOUND, "the update names no order id", "$.message.order.id"
        )
    order = _order(node, connection, order_id)
    if order.state is not OrderState.CREATED:
        raise UpdateRefused(
            f"order {order.id} is {order.state.value}; items change only while Created"
        )
    items = node.store.catalog(connection, lock=True)
    wanted = dict(wire.selection(env.message.order))
    current = {line.item_id: line.quantity for line in order.lines}
    changed = []
    for item_id in set(wanted) | set(current):
        if item_id not in items:
            raise UnknownItem(f"no item {item_id!r} in this catalog")
        delta = wanted.get(item_id, 0) - current.get(item_id, 0)
        if delta > 0:
            items[item_id] = items[item_id].reserve(delta)
        elif delta < 0:
            items[item_id] = items[item_id].release(-delta)
        if delta:
            changed.append(items[item_id])
    lines = tuple(OrderLine(i, c, items[i].unit_price) for i, c in sorted(wanted.items()) if c > 0)
    if not lines:
        raise DomainError("an update cannot remove every item; cancel the order instead")
    updated = dataclasses.replace(order, lines=lines)
    node.store.save_items(connection, changed, now)
    node.store.save_order(connection, updated, role=SELLER, counterparty=order.buyer_id, now=now)
    return [
        node.reply(env, OrderMessage(order=wire.order(updated, node.identity.subscriber_id)), now)
    ]


def on_cancel(
    node: NodeService, connection: Connection, env: Envelope, now: float
) -> list[Outgoing]:
    """Cancel under the order's terms and release its stock."""
    assert isinstance(env.message, CancelMessage)  # noqa: S101
    pooled = env.message.order_id.startswith(pools.REF_PREFIX)
    if pooled and node.store.order_by_id(connection, env.message.order_id, SELLER) is None:
        return pools.host_leave(node, connection, env, env.message.order_id, now)
    order = _order(node, connection, env.message.order_id)
    reason = env.message.cancellation_reason_id
    if env.message.descriptor is not None and env.message.descriptor.short_desc:
        reason = env.message.descriptor.short_desc
    cancelled = order.cancel(datetime.fromtimestamp(now, UTC), Party.CONSUMER, reason)
    _release(node, connection, order, now)
    node.store.save_order(connection, cancelled, role=SELLER, counterparty=order.buyer_id, now=now)
    carrier.follow_order(connection, cancelled, now)  # a carrier's booking frees its capacity
    downstream = chain_status.cancel_sale(node, connection, order, now)  # a made sale's POs
    return [
        node.reply(
            env, OrderMessage(order=wire.order(cancelled, node.identity.subscriber_id)), now
        ),
        *downstream,
    ]


def _release(node: NodeService, connection: Connection, order: Order, now: float) -> None:
    items = node.store.catalog(connection, lock=True)
    released = [
        items[line.item_id].release(line.quantity) for line in order.lines if line.item_id in items
    ]
    node.store.save_items(connection, released, now)


RATING_CATEGORIES = {"Item", "Order", "Fulfillment", "Provider", "Agent", "Support"}


def on_rating(
    node: NodeService, connection: Connection, env: Envelope, now: float
) -> list[Outgoing]:
    """Accept ratings from 1 to 5 for the core categories (kept in the inbox)."""
    assert isinstance(env.message, RatingMessage)  # noqa: S101
    for index, rating in enumerate(env.message.ratings or ()):
        if rating.rating_category not in RATING_CATEGORIES:
            raise RatingCategoryUnsupported(
                f"rating category {rating.rating_category!r} is not supported"
            )
        if rating.value not in {"1", "2", "3", "4", "5"}:
            raise ProtocolError(
                ErrorCode.INVALID_REQUEST,
                f"a rating is 1 to 5, got {rating.value!r}",
                f"$.message.ratings[{index}].value",
            )
    return [node.reply(env, OnRatingMessage(), now)]


def on_support(
    node: NodeService, connection: Connection, env: Envelope, now: float
) -> list[Outgoing]:
    """How to reach the seller."""
    assert isinstance(env.message, SupportMessage)  # noqa: S101
    ref = env.message.support.ref_id if env.message.support else None
    support = s.Support(
        ref_id=ref, email=node.identity.support_email or None, url=node.identity.url
    )
    return [node.reply(env, SupportMessage(support=support), now)]


SELLER_HANDLERS: dict[Action, Handler] = {
    Action.SEARCH: on_search,
    Action.SELECT: on_select,
    Action.INIT: on_init,
    Action.CONFIRM: on_confirm,
    Action.STATUS: on_status,
    Action.TRACK: on_track,
    Action.UPDATE: on_update,
    Action.CANCEL: on_cancel,
    Action.RATING: on_rating,
    Action.SUPPORT: on_support,
}


# -- the seller moves its own orders on -------------------------------------------------------


def move_order(
    node: NodeService, order_id: str, to: OrderState, reason: str | None = None
) -> Order:
    """Accept, start, complete or cancel an order; the buyer hears it as on_status/on_cancel."""
    now = node.clock()
    at = datetime.fromtimestamp(now, UTC)
    with node.store.engine.begin() as connection:
        order = _order(node, connection, order_id)
        if to is OrderState.CANCELLED:
            moved = order.cancel(at, Party.PROVIDER, reason or "cancelled by the seller")
            _release(node, connection, order, now)
            for out in chain_status.cancel_sale(node, connection, order, now):  # a made sale's POs
                node.enqueue(connection, out, now)
            action = Action.ON_CANCEL
        else:
            moved = order.advance(to, at)
            if to is OrderState.COMPLETED:
                items = node.store.catalog(connection, lock=True)
                shipped = [
                    items[line.item_id].ship(line.quantity)
                    for line in order.lines
                    if line.item_id in items
                ]
                node.store.save_items(connection, shipped, now)
            action = Action.ON_STATUS
        node.store.save_order(connection, moved, role=SELLER, counterparty=order.buyer_id, now=now)
        carrier.follow_order(connection, moved, now)
        about = node.store.first_incoming(connection, order.transaction_id, Action.CONFIRM.value)
        if about is None:
            raise DomainError(f"order {order_id} has no confirm message to answer")
        request = decode(about)
        wire_order = chain_status.seller_moved(  # a made sale's stage goes with it
            connection, moved, wire.order(moved, node.identity.subscriber_id), now
        )
        message = OrderMessage(order=wire_order)
        node.enqueue(connection, node.unsolicited(request.context, action, message, now), now)
        node.store.touch_transaction(
            connection,
            transaction_id=order.transaction_id,
            role=SELLER,
            counterparty=order.buyer_id,
            domain=request.context.domain,
            action=action.value,
            now=now,
        )
    return moved
