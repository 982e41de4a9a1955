"""The buyer's side (BAP): the owner's requests out, and the sellers' callbacks in.

Each owner command builds one signed-later request, queues it in the outbox in the same
transaction that records it, and returns the transaction and message ids; the answer arrives
as a callback that :data:`BUYER_HANDLERS` apply to the buyer's copy of the order.
"""

from __future__ import annotations

import base64
import dataclasses
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from nacl.signing import VerifyKey
from sqlalchemy.engine import Connection

from supplymesh.adapters import catalog_cache, pool_store
from supplymesh.domain.demand import Demand
from supplymesh.domain.errors import DomainError
from supplymesh.domain.orders import Order, OrderState
from supplymesh.domain.pools import PoolTerms
from supplymesh.protocol import schema as s
from supplymesh.protocol.actions import Action
from supplymesh.protocol.context import format_timestamp
from supplymesh.protocol.envelope import Envelope, decode
from supplymesh.protocol.keys import verify_signature
from supplymesh.protocol.messages import (
    CancelMessage,
    Message,
    OnSearchMessage,
    OptionalOrderMessage,
    OrderMessage,
    RatingMessage,
    SearchMessage,
    StatusMessage,
    SupportMessage,
    TrackMessage,
    UpdateMessage,
)
from supplymesh.services import chain_status, pools, supplier_quotes, wire
from supplymesh.services.demand import demand_intent
from supplymesh.services.node import Handler, NodeService, Outgoing

BUYER = "buyer"
log = logging.getLogger("supplymesh.buyer")
CATALOG_INC = "catalog_inc"


def _rfc3339(unix: float) -> str:
    return format_timestamp(datetime.fromtimestamp(unix, UTC))


class Directory(Protocol):
    """Where sellers are: the registry client, or a fake in tests."""

    async def sellers(self, domain: str, city: str | None) -> list[tuple[str, str]]:
        """(subscriber_id, subscriber_url) of every seller in a market."""
        ...

    async def url_of(self, subscriber_id: str) -> str | None:
        """A participant's current URL."""
        ...

    async def live_gateway(self) -> str | None:
        """The URL of a configured gateway that answers now, if any."""
        ...

    async def verify_key(self, subscriber_id: str, unique_key_id: str) -> VerifyKey | None:
        """A participant's verified signing key."""
        ...


class NothingToDo(DomainError):
    """The command has nothing to act on (no seller, no quote yet, no order yet)."""


@dataclass(frozen=True, slots=True)
class Sent:
    """What an owner command queued."""

    transaction_id: str
    message_id: str
    peers: tuple[str, ...]


def _recorded(
    node: NodeService, connection: Connection, env: Envelope, now: float
) -> list[Outgoing]:
    return []


def _buyer_order(
    node: NodeService, connection: Connection, order_id: str | None, tx: str
) -> Order | None:
    order = node.store.order_for(connection, tx, BUYER)
    if order is None or (order_id is not None and order.id != order_id):
        return None
    return order


def on_confirm(
    node: NodeService, connection: Connection, env: Envelope, now: float
) -> list[Outgoing]:
    """Keep the buyer's copy of the confirmed order."""
    assert isinstance(env.message, OrderMessage)  # noqa: S101 - typed by action
    ctx = env.context
    tx = str(ctx.transaction_id)
    if env.message.order.status == pools.PENDING:
        _pool_update(
            node, connection, str(env.message.order.id), state="pending", alarms=None, now=now
        )
        return []
    if node.store.order_for(connection, tx, BUYER) is None:
        order = wire.buyer_order(
            env.message.order,
            transaction_id=tx,
            buyer_id=node.identity.subscriber_id,
            seller_id=str(ctx.bpp_id),
            now=datetime.fromtimestamp(now, UTC),
        )
        node.store.save_order(connection, order, role=BUYER, counterparty=str(ctx.bpp_id), now=now)
    return []


def on_order_state(
    node: NodeService, connection: Connection, env: Envelope, now: float
) -> list[Outgoing]:
    """Follow the seller's reported state (on_status, on_update, on_cancel)."""
    assert isinstance(env.message, OrderMessage)  # noqa: S101
    wire_order = env.message.order
    tx = str(env.context.transaction_id)
    if wire_order.id is not None and wire_order.id.startswith(pools.REF_PREFIX):
        _pool_report(node, connection, env, now)
        return []
    order = _buyer_order(node, connection, wire_order.id, tx)
    if order is None:
        return []  # a status about an order this node never had confirmed: recorded only
    lines = wire.order_lines(wire_order)
    if lines:  # an accepted update changes the items, and every report carries them
        order = dataclasses.replace(order, lines=lines)
    if wire_order.status is not None:
        try:
            state = OrderState(wire_order.status)
        except ValueError:
            raise DomainError(f"unknown order status {wire_order.status!r}") from None
        reason = None
        if wire_order.cancellation is not None and wire_order.cancellation.reason:
            reason = str(wire_order.cancellation.reason)
        order = order.observe(state, datetime.fromtimestamp(now, UTC), reason)
    node.store.save_order(connection, order, role=BUYER, counterparty=order.seller_id, now=now)
    return []


def on_search(
    node: NodeService, connection: Connection, env: Envelope, now: float
) -> list[Outgoing]:
    """Every catalog a seller sends refreshes this buyer's cache of it."""
    assert isinstance(env.message, OnSearchMessage)  # noqa: S101
    raw = env.tree.get("message", {}).get("catalog", {})
    providers = raw.get("providers") or raw.get("bpp/providers") or []
    seller_time = env.context.timestamp.timestamp() if env.context.timestamp else None
    for provider in providers if isinstance(providers, list) else []:
        if isinstance(provider, dict) and isinstance(provider.get("items"), list):
            catalog_cache.remember(
                connection,
                str(env.context.bpp_id),
                provider_id=provider.get("id"),
                items=[i for i in provider["items"] if isinstance(i, dict)],
                now=now,
                seller_time=seller_time,
            )
    return []


def _pool_update(
    node: NodeService,
    connection: Connection,
    ref: str,
    *,
    state: str,
    alarms: list[str] | None,
    now: float,
) -> dict[str, Any] | None:
    kept = pool_store.membership(connection, ref)
    if kept is None:
        return None
    pool_store.save_membership(
        connection,
        ref,
        pool_id=kept["pool_id"],
        host_id=kept["host_id"],
        body=kept["body"],
        state=state,
        alarms=alarms if alarms is not None else kept["alarms"],
        now=now,
    )
    return kept


def _pool_report(node: NodeService, connection: Connection, env: Envelope, now: float) -> None:
    """A pool's host reports on our membership: check its outcome ourselves."""
    assert isinstance(env.message, OrderMessage)  # noqa: S101
    wire_order = env.message.order
    ref = str(wire_order.id)
    kept = pool_store.membership(connection, ref)
    if kept is None:
        return
    group = next((g for g in wire_order.tags or () if g.key == pools.OUTCOME_TAG), None)
    if group is None:
        if wire_order.status == "Cancelled":
            _pool_update(node, connection, ref, state="left", alarms=None, now=now)
        return
    record = kept["body"]
    host_key = node.peer_key(kept["host_id"], record["host_key_id"])
    lines = wire.order_lines(wire_order)
    charged = lines[0].unit_price if lines and wire_order.status != "Cancelled" else None
    if host_key is None:
        _pool_update(
            node, connection, ref, state="unverified", alarms=["the host's key is unknown"], now=now
        )
        return
    try:
        outcome, alarms = pools.member_checks(record, group, host_key, charged)
    except (DomainError, ValueError) as exc:
        _pool_update(
            node,
            connection,
            ref,
            state="unverified",
            alarms=[f"unreadable outcome: {exc}"],
            now=now,
        )
        return
    if alarms:
        log.warning("pool %s: %s", kept["pool_id"], "; ".join(alarms))
    _pool_update(node, connection, ref, state=outcome.state.value, alarms=alarms, now=now)
    if (
        outcome.state.value == "filled"
        and node.store.order_for(connection, str(env.context.transaction_id), BUYER) is None
    ):
        order = wire.buyer_order(
            wire_order,
            transaction_id=str(env.context.transaction_id),
            buyer_id=node.identity.subscriber_id,
            seller_id=kept["host_id"],
            now=datetime.fromtimestamp(now, UTC),
        )
        node.store.save_order(connection, order, role=BUYER, counterparty=kept["host_id"], now=now)


BUYER_HANDLERS: dict[Action, Handler] = {
    Action.ON_SEARCH: on_search,
    Action.ON_SELECT: supplier_quotes.following_quotes(_recorded),  # a maker's supplier quote
    Action.ON_INIT: _recorded,
    # A callback about a purchase order a maker placed for a sale also updates its plan.
    Action.ON_CONFIRM: chain_status.following_purchases(on_confirm),
    Action.ON_STATUS: chain_status.following_purchases(on_order_state),
    Action.ON_TRACK: _recorded,
    Action.ON_UPDATE: chain_status.following_purchases(on_order_state),
    Action.ON_CANCEL: chain_status.following_purchases(on_order_state),
    Action.ON_RATING: _recorded,
    Action.ON_SUPPORT: _recorded,
}


class Buyer:
    """The owner's commands as a buyer."""

    def __init__(self, node: NodeService, directory: Directory) -> None:
        self.node = node
        self.directory = directory

    def _request(
        self,
        action: Action,
        message: Message,
        *,
        transaction_id: str,
        bpp_id: str | None = None,
        bpp_uri: str | None = None,
        message_id: str | None = None,
        city: str | None = None,
    ) -> Envelope:
        return self.node.request_envelope(
            action,
            message,
            self.node.clock(),
            transaction_id=transaction_id,
            peer=(bpp_id, bpp_uri) if bpp_id is not None and bpp_uri is not None else None,
            message_id=message_id,
            city=city,
        )

    def _queue(
        self, transaction_id: str, envelopes: Sequence[Envelope], via: str | None = None
    ) -> Sent:
        """Queue requests to their sellers, or (a broadcast search) to the gateway ``via``."""
        now = self.node.clock()
        with self.node.store.engine.begin() as connection:
            for env in envelopes:
                ctx = env.context
                peer = (via, via) if via is not None else (str(ctx.bpp_id), str(ctx.bpp_uri))
                self.node.enqueue(connection, Outgoing(peer[0], peer[1], env), now)
                self.node.store.touch_transaction(
                    connection,
                    transaction_id=transaction_id,
                    role=BUYER,
                    counterparty=ctx.bpp_id if len(envelopes) == 1 else None,
                    domain=ctx.domain,
                    action=ctx.action,
                    now=now,
                )
        return Sent(
            transaction_id=transaction_id,
            message_id=str(envelopes[0].context.message_id),
            peers=(via,) if via is not None else tuple(str(e.context.bpp_id) for e in envelopes),
        )

    async def search(
        self, text: str | None = None, category: str | None = None, city: str | None = None
    ) -> Sent:
        """Search the node's market: through a live gateway, else to every seller directly."""
        intent = s.Intent(
            item=s.Item(descriptor=s.Descriptor(name=text)) if text else None,
            category=s.Category(id=category) if category else None,
        )
        return await self.broadcast(intent, city)

    async def publish_demand(self, wanted: Demand, text: str | None = None) -> Sent:
        """Send a consumer's own demand (C2M) to every maker of the market."""
        return await self.broadcast(demand_intent(wanted, text))

    async def broadcast(self, intent: s.Intent, city: str | None = None) -> Sent:
        """A search with ``intent`` through a live gateway, else to every seller directly."""
        tx, mid = str(uuid.uuid4()), str(uuid.uuid4())
        gateway = await self.directory.live_gateway()
        if gateway is not None:
            env = self._request(
                Action.SEARCH,
                SearchMessage(intent=intent),
                transaction_id=tx,
                message_id=mid,
                city=city,
            )
            return self._queue(tx, [env], via=gateway)
        market = city or self.node.identity.city
        sellers = await self.directory.sellers(self.node.identity.domain, market)
        sellers = [(sid, url) for sid, url in sellers if sid != self.node.identity.subscriber_id]
        if not sellers:
            raise NothingToDo(
                f"no seller is subscribed for {self.node.identity.domain} in {market}"
            )
        envelopes = [
            self._request(
                Action.SEARCH,
                SearchMessage(intent=intent),
                transaction_id=tx,
                bpp_id=sid,
                bpp_uri=url,
                message_id=mid,
                city=market,
            )
            for sid, url in sellers
        ]
        return self._queue(tx, envelopes)

    async def pull_catalogs(self) -> int:
        """Ask every seller of the market for its catalog changes since the last pull."""
        sellers = await self.directory.sellers(self.node.identity.domain, self.node.identity.city)
        now = self.node.clock()
        envelopes = []
        with self.node.store.engine.connect() as connection:
            for seller_id, url in sellers:
                if seller_id == self.node.identity.subscriber_id:
                    continue
                since = catalog_cache.pull_from(connection, seller_id) or 0.0
                window = s.TagGroup(
                    descriptor=s.Descriptor(code=CATALOG_INC),
                    entries=(
                        s.Tag(descriptor=s.Descriptor(code="start_time"), value=_rfc3339(since)),
                        s.Tag(descriptor=s.Descriptor(code="end_time"), value=_rfc3339(now)),
                    ),
                )
                envelopes.append(
                    self._request(
                        Action.SEARCH,
                        SearchMessage(intent=s.Intent(tags=(window,))),
                        transaction_id=f"{catalog_cache.PULL_PREFIX}{uuid.uuid4()}",
                        bpp_id=seller_id,
                        bpp_uri=url,
                    )
                )
        with self.node.store.engine.begin() as connection:
            catalog_cache.prune_pulls(connection, now - 3600)
            for env in envelopes:
                ctx = env.context
                self.node.enqueue(connection, Outgoing(str(ctx.bpp_id), str(ctx.bpp_uri), env), now)
                catalog_cache.requested(connection, str(ctx.bpp_id), now)
        return len(envelopes)

    async def join_pool(self, bpp_id: str, pool_id: str, quantity: int) -> Sent:
        """Join a seller's pool: check its signed terms, commit, and send the conditional order.

        Joining a pool this node is already in (joining or pending) changes nothing.
        """
        with self.node.store.engine.connect() as connection:
            for kept in pool_store.memberships(connection, pool_id):
                if kept["host_id"] == bpp_id and kept["state"] in ("joining", "pending"):
                    transaction_id = (
                        kept["order_ref"].removeprefix(pools.REF_PREFIX).partition(":")[2]
                    )
                    return Sent(transaction_id=transaction_id, message_id="", peers=(bpp_id,))
        offer = self._pool_offer(bpp_id, pool_id)
        terms = PoolTerms.from_canonical(str(offer.get("terms")).encode())
        signature = base64.b64decode(str(offer.get("terms_signature")))
        key_id = str(offer.get("host_key_id"))
        host_key = await self.directory.verify_key(bpp_id, key_id)
        if host_key is None or not verify_signature(host_key, terms.signing_bytes(), signature):
            raise NothingToDo(f"pool {pool_id}'s terms are not signed by {bpp_id}; not joining")
        if terms.host_id != bpp_id or terms.pool_id != pool_id:
            raise NothingToDo(f"pool {pool_id}'s terms name another host or pool")
        transaction_id, record, digest = pools.new_membership(
            terms, signature, key_id, self.node.identity.subscriber_id, quantity
        )
        record["host_key_id"] = key_id
        order = s.Order(
            provider=s.Provider(id=bpp_id),
            items=(
                s.Item(
                    id=terms.item_id,
                    quantity=s.ItemQuantity(selected=s.QuantityValue(count=quantity)),
                ),
            ),
            tags=(
                s.TagGroup(
                    descriptor=s.Descriptor(code=pools.POOL_TAG),
                    entries=(
                        s.Tag(descriptor=s.Descriptor(code="pool_id"), value=pool_id),
                        s.Tag(descriptor=s.Descriptor(code="commitment"), value=digest.hex()),
                    ),
                ),
            ),
        )
        env = self._request(
            Action.CONFIRM,
            OrderMessage(order=order),
            transaction_id=transaction_id,
            bpp_id=bpp_id,
            bpp_uri=await self._seller_url(bpp_id),
        )
        with self.node.store.engine.begin() as connection:
            pool_store.save_membership(
                connection,
                str(record["order_ref"]),
                pool_id=pool_id,
                host_id=bpp_id,
                body=record,
                state="joining",
                alarms=None,
                now=self.node.clock(),
            )
        return self._queue(transaction_id, [env])

    def _pool_offer(self, bpp_id: str, pool_id: str) -> dict[str, Any]:
        with self.node.store.engine.connect() as connection:
            cached = catalog_cache.cached(connection)
        for seller, item, _ in cached:
            if seller != bpp_id:
                continue
            for group in item.get("tags") or []:
                code = (group.get("descriptor") or {}).get("code") or group.get("code")
                if code != pools.POOL_TAG:
                    continue
                values = {
                    (t.get("descriptor") or {}).get("code") or t.get("code"): t.get("value")
                    for t in group.get("list") or []
                }
                if values.get("pool_id") == pool_id:
                    return values
        raise NothingToDo(f"{bpp_id} has not offered pool {pool_id} to this node; search first")

    async def leave_pool(self, ref: str) -> Sent:
        """Leave a pool before its deadline (cancel the conditional order)."""
        with self.node.store.engine.connect() as connection:
            kept = pool_store.membership(connection, ref)
        if kept is None:
            raise NothingToDo(f"no pool membership {ref}")
        transaction_id = ref.removeprefix(pools.REF_PREFIX).partition(":")[2]
        env = self._request(
            Action.CANCEL,
            CancelMessage(order_id=ref, cancellation_reason_id="001"),
            transaction_id=transaction_id,
            bpp_id=kept["host_id"],
            bpp_uri=await self._seller_url(kept["host_id"]),
        )
        return self._queue(transaction_id, [env])

    async def _seller_url(self, bpp_id: str) -> str:
        url = await self.directory.url_of(bpp_id)
        if url is None:
            raise NothingToDo(f"{bpp_id} is not on any registry this node can reach")
        return url

    async def select(
        self, transaction_id: str, bpp_id: str, items: Sequence[tuple[str, int]]
    ) -> Sent:
        """Ask a seller to quote ``items`` (id, quantity)."""
        order = s.Order(
            provider=s.Provider(id=bpp_id),
            items=tuple(
                s.Item(id=i, quantity=s.ItemQuantity(selected=s.QuantityValue(count=q)))
                for i, q in items
            ),
        )
        env = self._request(
            Action.SELECT,
            OrderMessage(order=order),
            transaction_id=transaction_id,
            bpp_id=bpp_id,
            bpp_uri=await self._seller_url(bpp_id),
        )
        return self._queue(transaction_id, [env])

    def _latest(self, transaction_id: str, *actions: Action) -> Envelope:
        for row in reversed(self.node.store.incoming(transaction_id)):
            if row["action"] in {a.value for a in actions}:
                return decode(row["body"].encode())
        names = " or ".join(a.value for a in actions)
        raise NothingToDo(f"transaction {transaction_id} has no {names} yet")

    async def init(self, transaction_id: str, billing: dict[str, str], address: str) -> Sent:
        """Send billing and delivery details for the last quote."""
        quoted = self._latest(transaction_id, Action.ON_SELECT)
        assert isinstance(quoted.message, OptionalOrderMessage)  # noqa: S101
        if quoted.message.order is None:
            raise NothingToDo("the seller's on_select carried no order")
        order = s.Order(
            provider=quoted.message.order.provider,
            items=quoted.message.order.items,
            billing=s.Billing(
                name=billing.get("name"),
                email=billing.get("email"),
                phone=billing.get("phone"),
                address=address,
            ),
            fulfillments=(
                s.Fulfillment(
                    type="Delivery",
                    stops=(s.Stop(type="end", location=s.Location(address=address)),),
                ),
            ),
        )
        return self._queue(
            transaction_id,
            [
                self._request(
                    Action.INIT,
                    OrderMessage(order=order),
                    transaction_id=transaction_id,
                    bpp_id=str(quoted.context.bpp_id),
                    bpp_uri=str(quoted.context.bpp_uri),
                )
            ],
        )

    async def confirm(self, transaction_id: str) -> Sent:
        """Confirm the order the seller's on_init described, at its quoted price."""
        initialised = self._latest(transaction_id, Action.ON_INIT)
        assert isinstance(initialised.message, OrderMessage)  # noqa: S101
        wire_order = initialised.message.order
        order = s.Order(
            provider=wire_order.provider,
            items=wire_order.items,
            billing=wire_order.billing,
            fulfillments=wire_order.fulfillments,
            quote=wire_order.quote,
            payments=wire_order.payments,
        )
        return self._queue(
            transaction_id,
            [
                self._request(
                    Action.CONFIRM,
                    OrderMessage(order=order),
                    transaction_id=transaction_id,
                    bpp_id=str(initialised.context.bpp_id),
                    bpp_uri=str(initialised.context.bpp_uri),
                )
            ],
        )

    def _order(self, transaction_id: str) -> tuple[Order, Envelope]:
        with self.node.store.engine.connect() as connection:
            order = self.node.store.order_for(connection, transaction_id, BUYER)
        if order is None:
            raise NothingToDo(f"transaction {transaction_id} has no confirmed order yet")
        return order, self._latest(transaction_id, Action.ON_CONFIRM)

    async def about_order(self, transaction_id: str, action: Action, **fields: Any) -> Sent:
        """status, track, cancel, update, rating or support for the transaction's order."""
        order, confirmed = self._order(transaction_id)
        message: Message
        if action is Action.STATUS:
            message = StatusMessage(order_id=order.id)
        elif action is Action.TRACK:
            message = TrackMessage(order_id=order.id)
        elif action is Action.CANCEL:
            reason = fields.get("reason") or "cancelled by the buyer"
            message = CancelMessage(
                order_id=order.id,
                cancellation_reason_id="001",
                descriptor=s.Descriptor(short_desc=reason),
            )
        elif action is Action.UPDATE:
            items: Sequence[tuple[str, int]] = fields["items"]
            message = UpdateMessage(
                update_target="item",
                order=s.Order(
                    id=order.id,
                    items=tuple(
                        s.Item(id=i, quantity=s.ItemQuantity(selected=s.QuantityValue(count=q)))
                        for i, q in items
                    ),
                ),
            )
        elif action is Action.RATING:
            message = RatingMessage(
                ratings=(
                    s.Rating(rating_category="Order", id=order.id, value=str(fields["value"])),
                )
            )
        elif action is Action.SUPPORT:
            message = SupportMessage(support=s.Support(ref_id=order.id))
        else:
            raise NothingToDo(f"{action.value} is not an order follow-up")
        env = self._request(
            action,
            message,
            transaction_id=transaction_id,
            bpp_id=str(confirmed.context.bpp_id),
            bpp_uri=str(confirmed.context.bpp_uri),
        )
        return self._queue(transaction_id, [env])
