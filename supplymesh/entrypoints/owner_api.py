"""The owner API: the node's owner drives and reads its node over HTTP JSON (bearer token).

GET  /owner/info                       who this node is
GET  /owner/catalog                    catalog items with stock
POST /owner/catalog                    add or replace items  [{id, name, unit_price, ...}]
GET  /owner/orders?role=seller|buyer   orders
POST /owner/orders/{id}/{accept|start|complete|cancel}   the seller moves an order on
POST /owner/search|select|init|confirm|status|track|update|cancel|rating|support
GET  /owner/transactions               recent transactions
GET  /owner/transactions/{id}          one transaction: messages in and out, delivery, order
GET  /owner/outbox                     outgoing messages and their delivery state
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from supplymesh.adapters import pool_store
from supplymesh.adapters.pool_store import HostedPool
from supplymesh.domain.catalog import CatalogItem
from supplymesh.domain.demand import Demand
from supplymesh.domain.errors import DomainError
from supplymesh.domain.orders import OrderState
from supplymesh.domain.ranking import DEFAULT_WEIGHTS, Criterion, parse_gps, parse_weights
from supplymesh.entrypoints.node_app import Node
from supplymesh.protocol.actions import Action
from supplymesh.protocol.errors import ProtocolError
from supplymesh.services import pools, seller
from supplymesh.services.buyer import NothingToDo
from supplymesh.services.catalog_import import items_from_json, save_items
from supplymesh.services.offers import ranked_offers, ranked_view
from supplymesh.services.views import order_view, outgoing_view, transaction_view

JSON = "application/json"
MOVES = {
    "accept": OrderState.ACCEPTED,
    "start": OrderState.IN_PROGRESS,
    "complete": OrderState.COMPLETED,
    "cancel": OrderState.CANCELLED,
}
FOLLOW_UPS = {
    a.value: a
    for a in (
        Action.STATUS,
        Action.TRACK,
        Action.UPDATE,
        Action.CANCEL,
        Action.RATING,
        Action.SUPPORT,
    )
}


class ItemLine(msgspec.Struct, frozen=True):
    id: str
    quantity: int = 1


class SearchRequest(msgspec.Struct, frozen=True):
    text: str | None = None
    category: str | None = None
    city: str | None = None


class DemandRequest(msgspec.Struct, frozen=True):
    category: str | None = None
    spec: dict[str, str] = {}
    quantity: int = 1
    price_ceiling: str | None = None
    needed_by: str | None = None
    text: str | None = None


class SelectRequest(msgspec.Struct, frozen=True):
    transaction_id: str
    bpp_id: str
    items: list[ItemLine]


class InitRequest(msgspec.Struct, frozen=True):
    transaction_id: str
    name: str
    address: str
    email: str | None = None
    phone: str | None = None


class FollowUp(msgspec.Struct, frozen=True):
    transaction_id: str
    reason: str | None = None
    value: int | None = None
    items: list[ItemLine] | None = None


def _json(value: Any, status: int = 200) -> Response:
    return Response(msgspec.json.encode(value), status_code=status, media_type=JSON)


def _error(message: str, status: int, code: str | None = None) -> Response:
    return _json({"error": message, **({"code": code} if code else {})}, status)


def _body(raw: bytes, type_: type[Any]) -> Any:
    try:
        return msgspec.json.decode(raw or b"{}", type=type_)
    except msgspec.ValidationError as exc:
        raise ValueError(str(exc)) from None
    except msgspec.DecodeError as exc:
        raise ValueError(f"not JSON: {exc}") from None


Handler = Callable[[Node, Request], Awaitable[Response]]


def _owner(handler: Handler, node: Node) -> Callable[[Request], Awaitable[Response]]:
    async def guarded(request: Request) -> Response:
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not secrets.compare_digest(given.encode(), node.owner_token.encode()):
            return _error("the owner token is required (Authorization: Bearer …)", 401)
        try:
            return await handler(node, request)
        except ValueError as exc:
            return _error(str(exc), 400)
        except DomainError as exc:
            return _error(exc.message, 409, exc.code.code)
        except ProtocolError as exc:
            return _error(exc.message, 400, exc.code.code)

    return guarded


async def info(node: Node, _request: Request) -> Response:
    config = node.config
    return _json(
        {
            "subscriber_id": config.subscriber_id,
            "role": config.role.value,
            "url": config.url,
            "domain": config.domain,
            "city": config.city,
            "country": config.country,
            "registries": list(config.registries),
            "signing_public_key": node.service.identity.signing.public_key_b64,
        }
    )


async def catalog(node: Node, request: Request) -> Response:
    store = node.service.store
    if request.method == "POST":
        items = items_from_json(await request.body())
        await run_in_threadpool(save_items, node.service, items)
    listing = await run_in_threadpool(store.catalog)
    return _json([_item_view(item) for item in listing.values()])


def _item_view(item: CatalogItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "name": item.name,
        "unit_price": str(item.unit_price),
        "currency": item.currency,
        "category": item.category,
        "on_hand": item.on_hand,
        "reserved": item.reserved,
        "available": item.available,
        "attributes": dict(item.attributes),
    }


async def orders(node: Node, request: Request) -> Response:
    role = request.query_params.get("role")
    listing = await run_in_threadpool(node.service.store.order_list, role)
    return _json([order_view(o) for o in listing])


async def move(node: Node, request: Request) -> Response:
    verb = request.path_params["verb"]
    if verb not in MOVES:
        return _error(f"unknown move {verb!r}; use one of {sorted(MOVES)}", 404)
    reason = request.query_params.get("reason")
    moved = await run_in_threadpool(
        seller.move_order, node.service, request.path_params["order_id"], MOVES[verb], reason
    )
    node.dispatcher.wake()
    return _json(order_view(moved))


async def buy(node: Node, request: Request) -> Response:
    action = request.path_params["action"]
    raw = await request.body()
    try:
        if action == "search":
            query = _body(raw, SearchRequest)
            sent = await node.buyer.search(query.text, query.category, query.city)
        elif action == "demand":
            asked = _body(raw, DemandRequest)
            try:
                wanted = Demand(
                    category=asked.category,
                    spec=asked.spec,
                    quantity=asked.quantity,
                    price_ceiling=Decimal(asked.price_ceiling) if asked.price_ceiling else None,
                    needed_by=date.fromisoformat(asked.needed_by) if asked.needed_by else None,
                )
            except (ArithmeticError, ValueError) as exc:
                raise ValueError(f"bad demand: {exc}") from None
            sent = await node.buyer.publish_demand(wanted, asked.text)
        elif action == "select":
            chosen = _body(raw, SelectRequest)
            sent = await node.buyer.select(
                chosen.transaction_id, chosen.bpp_id, [(i.id, i.quantity) for i in chosen.items]
            )
        elif action == "init":
            details = _body(raw, InitRequest)
            billing = {
                "name": details.name,
                "email": details.email or "",
                "phone": details.phone or "",
            }
            sent = await node.buyer.init(details.transaction_id, billing, details.address)
        elif action == "confirm":
            sent = await node.buyer.confirm(_body(raw, FollowUp).transaction_id)
        elif action in FOLLOW_UPS:
            follow = _body(raw, FollowUp)
            sent = await node.buyer.about_order(
                follow.transaction_id,
                FOLLOW_UPS[action],
                reason=follow.reason,
                value=follow.value,
                items=[(i.id, i.quantity) for i in follow.items or []],
            )
        else:
            return _error(f"unknown action {action!r}", 404)
    except NothingToDo as exc:
        return _error(exc.message, 409)
    node.dispatcher.wake()
    return _json(
        {"transaction_id": sent.transaction_id, "message_id": sent.message_id, "peers": sent.peers}
    )


async def transactions(node: Node, _request: Request) -> Response:
    return _json(await run_in_threadpool(node.service.store.transaction_list))


async def transaction(node: Node, request: Request) -> Response:
    view = await run_in_threadpool(
        transaction_view, node.service.store, request.path_params["transaction_id"]
    )
    if view is None:
        return _error("no such transaction", 404)
    return _json(view)


async def offers(node: Node, request: Request) -> Response:
    """The transaction's offers ranked by the buyer's weights (query ?weights= overrides)."""
    weights = parse_weights(request.query_params.get("weights", ""), node_weights(node))
    wanted = dict(
        pair.split(":", 1) for pair in request.query_params.getlist("want") if ":" in pair
    )
    ranked = await run_in_threadpool(
        ranked_offers,
        node.service.store,
        request.path_params["transaction_id"],
        weights,
        wanted,
        parse_gps(node.config.gps),
    )
    return _json(ranked_view(ranked))


def node_weights(node: Node) -> dict[Criterion, float]:
    """The node's configured ranking weights over the defaults."""
    return parse_weights(node.config.weights) if node.config.weights else dict(DEFAULT_WEIGHTS)


async def outbox(node: Node, _request: Request) -> Response:
    listing = await run_in_threadpool(node.service.store.outgoing)
    return _json([outgoing_view(m) for m in listing])


class TierLine(msgspec.Struct, frozen=True):
    min_quantity: int
    unit_price: str


class PoolRequest(msgspec.Struct, frozen=True):
    item_id: str
    tiers: list[TierLine]
    deadline: str
    spec: dict[str, str] = {}
    currency: str = "INR"
    promise_date: str | None = None
    max_per_member: int = 1000
    max_total: int | None = None
    close_when_top_tier: bool = False


class JoinRequest(msgspec.Struct, frozen=True):
    bpp_id: str
    pool_id: str
    quantity: int = 1


class LeaveRequest(msgspec.Struct, frozen=True):
    order_ref: str


def _pool_view(hosted: HostedPool, units: int, count: int) -> dict[str, Any]:
    pool = hosted.pool
    terms = pool.terms
    outcome = pool.outcome
    return {
        "pool_id": terms.pool_id,
        "item_id": terms.item_id,
        "spec": dict(terms.spec),
        "tiers": [
            {"min_quantity": t.min_quantity, "unit_price": str(t.unit_price)} for t in terms.tiers
        ],
        "deadline": terms.deadline.isoformat(),
        "state": pool.state.value,
        "members": count,
        "total": units,
        "outcome": None
        if outcome is None
        else {
            "state": outcome.state.value,
            "unit_price": None if outcome.unit_price is None else str(outcome.unit_price),
            "total_quantity": outcome.total_quantity,
            "member_count": outcome.member_count,
            "merkle_root": outcome.merkle_root.hex(),
        },
    }


async def hosted_pools(node: Node, request: Request) -> Response:
    """GET: this node's pools; POST: open a pool (its terms signed now)."""
    if request.method == "POST":
        order = _body(await request.body(), PoolRequest)
        try:
            deadline = datetime.fromisoformat(order.deadline.replace("Z", "+00:00"))
            tiers = [(t.min_quantity, Decimal(t.unit_price)) for t in order.tiers]
        except (ValueError, ArithmeticError) as exc:
            raise ValueError(f"bad deadline or tier price: {exc}") from None
        hosted = await run_in_threadpool(
            lambda: pools.create_pool(
                node.service,
                item_id=order.item_id,
                spec=order.spec,
                tiers=tiers,
                deadline=deadline,
                currency=order.currency,
                promise_date=order.promise_date,
                max_per_member=order.max_per_member,
                max_total=order.max_total,
                close_when_top_tier=order.close_when_top_tier,
            )
        )
        return _json(_pool_view(hosted, 0, 0))
    with node.service.store.engine.connect() as connection:
        views = []
        for hosted in pool_store.all_pools(connection):
            units, count, _ = pool_store.totals(connection, hosted.pool.terms.pool_id)
            views.append(_pool_view(hosted, units, count))
    return _json(views)


async def pool_membership(node: Node, request: Request) -> Response:
    """GET: this node's memberships; POST join / leave."""
    verb = request.path_params.get("verb")
    try:
        if verb == "join":
            join = _body(await request.body(), JoinRequest)
            sent = await node.buyer.join_pool(join.bpp_id, join.pool_id, join.quantity)
        elif verb == "leave":
            sent = await node.buyer.leave_pool(_body(await request.body(), LeaveRequest).order_ref)
        else:
            with node.service.store.engine.connect() as connection:
                return _json(pool_store.memberships(connection))
    except NothingToDo as exc:
        return _error(exc.message, 409)
    node.dispatcher.wake()
    return _json({"transaction_id": sent.transaction_id, "message_id": sent.message_id})


def routes(node: Node) -> list[Route]:
    """The owner API's routes, each behind the owner token."""
    return [
        Route("/owner/info", _owner(info, node)),
        Route("/owner/catalog", _owner(catalog, node), methods=["GET", "POST"]),
        Route("/owner/orders", _owner(orders, node)),
        Route("/owner/orders/{order_id}/{verb}", _owner(move, node), methods=["POST"]),
        Route("/owner/transactions", _owner(transactions, node)),
        Route("/owner/transactions/{transaction_id}", _owner(transaction, node)),
        Route("/owner/transactions/{transaction_id}/offers", _owner(offers, node)),
        Route("/owner/outbox", _owner(outbox, node)),
        Route("/owner/pools", _owner(hosted_pools, node), methods=["GET", "POST"]),
        Route("/owner/memberships", _owner(pool_membership, node)),
        Route("/owner/memberships/{verb}", _owner(pool_membership, node), methods=["POST"]),
        Route("/owner/{action}", _owner(buy, node), methods=["POST"]),
    ]
