"""A maker asks its suppliers' nodes for quotes before it answers its own buyer's select.

When a made item's plan needs a purchase of an item whose sourcing rule says ``ask_quotes``,
the maker (acting as a buyer) sends ``select`` to the first-ranked supplier of each such item
and answers its buyer later: once every supplier asked has answered, or refused (a NACK), or
let ``quote_wait_seconds`` pass, each failure moving on to the next-ranked supplier. The
promise date then uses each answering supplier's own date (its ``plan`` tag's
``promise_date`` when it is a maker too, else the lead time in the sourcing rule); with no
supplier left for an item, the answer has no quote and its ``plan`` tags name the short
component and why. A confirm that follows places the POs with the suppliers that answered,
in the transactions the quotes were asked in.
"""

from __future__ import annotations

import math
import uuid
from datetime import date
from decimal import Decimal

import msgspec
from sqlalchemy.engine import Connection

from supplymesh.adapters import production_store, quote_store, sales_store
from supplymesh.adapters.production_store import SHIPPING
from supplymesh.adapters.quote_store import ANSWERED, ASKED, QuoteRequest
from supplymesh.domain.errors import DomainError
from supplymesh.domain.logistics import LOGISTICS_DOMAIN, ShipmentRequest
from supplymesh.domain.mrp import plan
from supplymesh.domain.planning import Demand
from supplymesh.protocol import schema as s
from supplymesh.protocol.actions import Action
from supplymesh.protocol.envelope import Envelope, decode
from supplymesh.protocol.messages import OptionalOrderMessage, OrderMessage
from supplymesh.services import carrier, chain, chain_status
from supplymesh.services.node import Handler, NodeService, Outgoing

_NAMESPACE = uuid.UUID("0b7f9d7e-3c55-4f0e-a2c1-5d0c3f6b2e90")


def ask(
    node: NodeService, connection: Connection, env: Envelope, now: float
) -> list[Outgoing] | None:
    """Ask suppliers for the components a made item's quote needs; None: answer at once."""
    assert isinstance(env.message, OrderMessage)  # noqa: S101 - typed by action
    chosen = chain.made_selection(connection, env.message.order)
    if chosen is None:
        return None
    asked = {src.item_id for src in production_store.sources(connection) if src.ask}
    shipping = production_store.shipping(connection)
    if not asked and shipping is None:
        return None
    item_id, count = chosen
    if count <= 0 or chain.made_item_price(connection, item_id) is None:
        return None  # the synchronous quote refuses it with the reason
    tx = str(env.context.transaction_id)
    result = plan(
        chain.quote_inputs(connection, Demand("quote", item_id, Decimal(count)), chain.today(now))
    )
    wanted = [p for p in result.purchases if p.item_id in asked]
    if not wanted and shipping is None:
        return None
    expires = env.context.expires_at()
    message_id = str(env.context.message_id)
    quote_store.open_round(
        connection, tx, message_id, expires.timestamp() if expires else now + 30.0
    )
    if not wanted:  # nothing to buy first: ask the carriers at once
        return _ask_carrier(node, connection, (tx, message_id), 0, now)
    return [
        _ask(node, connection, (tx, message_id), p.item_id, math.ceil(p.quantity), 0, now)
        for p in wanted
        if _source(connection, p.item_id, 0) is not None
    ]


def _sources(connection: Connection, item_id: str) -> tuple[production_store.Source, ...]:
    if item_id == SHIPPING:
        shipping = production_store.shipping(connection)
        return shipping.sources() if shipping is not None else ()
    return tuple(src for src in production_store.sources(connection) if src.item_id == item_id)


def _source(connection: Connection, item_id: str, rank: int) -> production_store.Source | None:
    later = [src for src in _sources(connection, item_id) if src.rank >= rank]
    return later[0] if later else None


def _ask_carrier(
    node: NodeService, connection: Connection, sale: tuple[str, str], rank: int, now: float
) -> list[Outgoing]:
    """Ask the carrier ranked ``rank`` (or the next one) to ship what the round quotes."""
    if _source(connection, SHIPPING, rank) is None:
        return []
    body = quote_store.request_body(connection, *sale)
    if body is None:  # pragma: no cover - the round was opened for this very request
        return []
    request = decode(body)
    assert isinstance(request.message, OrderMessage)  # noqa: S101
    shipment = chain.shipment_request(node, connection, request, now, sale[0])
    if shipment is None:
        return []
    return [_ask(node, connection, sale, SHIPPING, shipment.packages, rank, now, shipment)]


def _ask(  # noqa: PLR0917 - one request's every fact
    node: NodeService,
    connection: Connection,
    sale: tuple[str, str],
    item_id: str,
    quantity: int,
    rank: int,
    now: float,
    shipment: ShipmentRequest | None = None,
) -> Outgoing:
    """Ask the supplier ranked ``rank`` (or the next one) for ``quantity`` of ``item_id``, for
    the buyer's select ``sale`` (transaction, message)."""
    sale_tx, sale_message_id = sale
    source = _source(connection, item_id, rank)
    assert source is not None  # noqa: S101 - callers check
    wait = production_store.quote_wait_seconds(connection)
    identity = node.identity
    tx = str(uuid.uuid5(_NAMESPACE, f"{sale_tx}/{sale_message_id}/{item_id}/{source.supplier_id}"))
    message_id = str(uuid.uuid4())
    quote_store.add_request(
        connection,
        QuoteRequest(
            transaction_id=tx,
            sale_tx=sale_tx,
            sale_message_id=sale_message_id,
            message_id=message_id,
            item_id=item_id,
            quantity=quantity,
            rank=source.rank,
            supplier_id=source.supplier_id,
            state=ASKED,
            deadline=now + wait,
        ),
    )
    node.store.touch_transaction(
        connection,
        transaction_id=tx,
        role="buyer",
        counterparty=source.supplier_id,
        domain=identity.domain,
        action=Action.SELECT.value,
        now=now,
    )
    if shipment is not None:
        order = carrier.request_order(source.supplier_id, shipment)
    else:
        order = s.Order(
            provider=s.Provider(id=source.supplier_id),
            items=(
                s.Item(
                    id=source.supplier_item_id,
                    quantity=s.ItemQuantity(selected=s.QuantityValue(count=quantity)),
                ),
            ),
        )
    return node.request(
        Action.SELECT,
        (source.supplier_id, str(source.url)),
        OrderMessage(order=order),
        now,
        transaction_id=tx,
        message_id=message_id,
        domain=LOGISTICS_DOMAIN if shipment is not None else identity.domain,
        ttl=f"PT{max(1, math.ceil(wait))}S",
    )


def following_quotes(handler: Handler) -> Handler:
    """``handler`` (the buyer's on_select), plus a supplier's answer to a quote we asked."""

    def handle(
        node: NodeService, connection: Connection, env: Envelope, now: float
    ) -> list[Outgoing]:
        out = handler(node, connection, env, now)
        request = quote_store.request_by_tx(connection, str(env.context.transaction_id))
        if request is None or request.message_id != str(env.context.message_id):
            return out
        return [*out, *_answered(node, connection, request, env, now)]

    return handle


def _answered(
    node: NodeService, connection: Connection, request: QuoteRequest, env: Envelope, now: float
) -> list[Outgoing]:
    order = env.message.order if isinstance(env.message, OptionalOrderMessage) else None
    if env.error is not None or order is None:
        why = env.error.message if env.error is not None else "no order in its quote"
        return advance(node, connection, request, f"refused: {why}", now)
    if request.item_id == SHIPPING:
        try:
            shipped = carrier.read_answer(order)
        except DomainError as exc:
            return advance(node, connection, request, exc.message, now)
        answer = msgspec.json.encode(shipped).decode()
        if not quote_store.settle(connection, request.transaction_id, ANSWERED, answer=answer):
            return []
        return _finish(node, connection, request.sale_tx, request.sale_message_id, now)
    source = _source(connection, request.item_id, request.rank)
    lead = source.lead_time_days if source is not None else 0
    promised = chain.tag_value(order.tags, chain.PLAN_TAG, "promise_date")
    if promised is not None:
        try:
            lead = max(0, (date.fromisoformat(promised) - chain.today(now)).days)
        except ValueError:
            return advance(node, connection, request, f"unreadable date {promised!r}", now)
    elif chain.tag_value(order.tags, chain.PLAN_TAG, "short_component") is not None:
        short = chain.tag_value(order.tags, chain.PLAN_TAG, "short_reason") or "short"
        return advance(node, connection, request, f"cannot supply: {short}", now)
    if not quote_store.settle(connection, request.transaction_id, ANSWERED, lead_time_days=lead):
        return []
    return _finish(node, connection, request.sale_tx, request.sale_message_id, now)


def advance(
    node: NodeService, connection: Connection, request: QuoteRequest, why: str, now: float
) -> list[Outgoing]:
    """A supplier refused or did not answer: ask the next-ranked one, or finish the round."""
    if not quote_store.settle(connection, request.transaction_id, "failed", note=why):
        return []
    out = []
    if request.item_id == SHIPPING:
        out = _ask_carrier(
            node, connection, (request.sale_tx, request.sale_message_id), request.rank + 1, now
        )
    elif _source(connection, request.item_id, request.rank + 1) is not None:
        out.append(
            _ask(
                node,
                connection,
                (request.sale_tx, request.sale_message_id),
                request.item_id,
                request.quantity,
                request.rank + 1,
                now,
            )
        )
    return [*out, *_finish(node, connection, request.sale_tx, request.sale_message_id, now)]


def _finish(
    node: NodeService, connection: Connection, sale_tx: str, sale_message_id: str, now: float
) -> list[Outgoing]:
    asked = quote_store.requests(connection, sale_tx, sale_message_id)
    if any(r.state == ASKED for r in asked):
        return []
    short = {r.item_id for r in asked} - {r.item_id for r in asked if r.state == ANSWERED}
    if (
        not short
        and production_store.shipping(connection) is not None
        and not any(r.item_id == SHIPPING for r in asked)
    ):  # every component quoted: now the carriers, for the day the goods will be ready
        shipping = _ask_carrier(node, connection, (sale_tx, sale_message_id), 0, now)
        if shipping:
            return shipping
    if not quote_store.close_round(connection, sale_tx, sale_message_id):
        return []
    body = quote_store.request_body(connection, sale_tx, sale_message_id)
    if body is None:  # pragma: no cover - the round was opened by this very request
        return []
    request = decode(body)
    assert isinstance(request.message, OrderMessage)  # noqa: S101
    if short:
        reasons = "; ".join(
            f"{r.supplier_id}: {r.note}" for r in asked if r.item_id in short and r.note
        )
        short_names = sorted("shipping" if item == SHIPPING else item for item in short)
        answer = s.Order(
            provider=s.Provider(id=node.identity.subscriber_id),
            items=request.message.order.items,
            tags=(
                chain.tag_group(
                    chain.PLAN_TAG,
                    [
                        ("short_component", ", ".join(short_names)),
                        (
                            "short_reason",
                            f"no supplier could quote {', '.join(short_names)} ({reasons})",
                        ),
                    ],
                ),
            ),
        )
    else:
        answer, _ = chain.quote(node, connection, request.message.order, now, sale_tx)
    return [node.reply(request, OptionalOrderMessage(order=answer), now)]


def sweep(node: NodeService) -> int:
    """Move on from suppliers that refused or did not answer a quote in time, and record
    purchase orders a supplier refused; how many changed."""
    now = node.clock()
    with node.store.engine.connect() as connection:
        if not quote_store.overdue_or_refused(connection, now) and not (
            sales_store.refused_orders(connection)
        ):
            return 0
    with node.store.engine.begin() as connection:
        due = quote_store.overdue_or_refused(connection, now)
        for request, why in due:
            for out in advance(node, connection, request, why, now):
                node.enqueue(connection, out, now)
        refused = sales_store.refused_orders(connection)
        for po, why in refused:  # to the next source, the sale re-planned
            for out in chain_status.resource_refused(node, connection, po, why, now):
                node.enqueue(connection, out, now)
    return len(due) + len(refused)
