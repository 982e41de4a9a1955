"""Demand pools across nodes: hosting a pool, joining one, and checking its outcome.

On the wire (Beckn extension points only):

- the host offers a pool as an item of its catalog whose ``tags`` carry a ``pool`` group:
  ``pool_id``, the canonical ``terms`` (tier table, deadline, promise date), the host's
  ``terms_signature`` and ``host_key_id``;
- a member joins with a ``confirm`` whose order carries a ``pool`` tag group (``pool_id`` and
  its ``commitment``); the host answers ``on_confirm`` with status ``pending-pool``; ``cancel``
  of that order id leaves; joins, leaves and duplicates are idempotent;
- at the close, the host sends every member an unsolicited ``on_status``: ``Created`` at the
  reached tier's unit price (filled) or ``Cancelled`` (not filled, nobody charged), with a
  ``pool_outcome`` tag group: the signed outcome and the member's Merkle inclusion proof. The
  member's node checks it (:func:`supplymesh.domain.pools.check_outcome`) and keeps any alarm.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgspec
from sqlalchemy.engine import Connection

from supplymesh.adapters import pool_store
from supplymesh.adapters.pool_store import HostedPool
from supplymesh.domain.errors import DomainError
from supplymesh.domain.orders import Order, OrderLine
from supplymesh.domain.pools import (
    Member,
    Outcome,
    Pool,
    PoolState,
    PoolTerms,
    Tier,
    admit,
    check_open,
    check_outcome,
    commitment,
)
from supplymesh.protocol import merkle
from supplymesh.protocol import schema as s
from supplymesh.protocol.actions import Action
from supplymesh.protocol.envelope import Envelope, decode
from supplymesh.protocol.errors import ErrorCode
from supplymesh.protocol.messages import OrderMessage
from supplymesh.services import chain, wire
from supplymesh.services.node import NodeService, Outgoing

log = logging.getLogger("supplymesh.pools")

POOL_TAG = "pool"
OUTCOME_TAG = "pool_outcome"
PENDING = "pending-pool"
REF_PREFIX = "pool:"
SELLER = "seller"
BUYER = "buyer"


class UnknownPool(DomainError):
    """No such pool on this host."""

    code = ErrorCode.ITEM_NOT_FOUND


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _tag(code: str, **values: str) -> s.TagGroup:
    return s.TagGroup(
        descriptor=s.Descriptor(code=code),
        entries=tuple(s.Tag(descriptor=s.Descriptor(code=k), value=v) for k, v in values.items()),
    )


def _group(tags: tuple[s.TagGroup, ...] | None, code: str) -> s.TagGroup | None:
    return next((g for g in tags or () if g.key == code), None)


def order_ref(pool_id: str, transaction_id: str) -> str:
    """The order id a member's pool order has on both sides."""
    return f"{REF_PREFIX}{pool_id}:{transaction_id}"


# -- the host ---------------------------------------------------------------------------------


def create_pool(
    node: NodeService,
    *,
    item_id: str,
    spec: dict[str, str],
    tiers: list[tuple[int, Decimal]],
    deadline: datetime,
    currency: str = "INR",
    promise_date: str | None = None,
    max_per_member: int = 1000,
    max_total: int | None = None,
    close_when_top_tier: bool = False,
) -> HostedPool:
    """Open a pool on this node; its tier table is signed now and fixed from the first join."""
    terms = PoolTerms(
        pool_id=f"P-{uuid.uuid4().hex[:10]}",
        host_id=node.identity.subscriber_id,
        item_id=item_id,
        spec=tuple(sorted(spec.items())),
        currency=currency,
        tiers=tuple(Tier(q, p) for q, p in sorted(tiers)),
        deadline=deadline,
        promise_date=promise_date,
        max_per_member=max_per_member,
        max_total=max_total,
        close_when_top_tier=close_when_top_tier,
    )
    hosted = HostedPool(Pool(terms), node.identity.signing.sign(terms.signing_bytes()))
    with node.store.engine.begin() as connection:
        pool_store.save_pool(connection, hosted, node.clock())
    return hosted


def pool_items(node: NodeService, connection: Connection) -> list[s.Item]:
    """Open pools as catalog items, each with its signed terms in tags."""
    items = []
    for hosted in pool_store.all_pools(connection):
        pool = hosted.pool
        if pool.state is not PoolState.OPEN:
            continue
        terms = pool.terms
        units, count, _ = pool_store.totals(connection, terms.pool_id)
        items.append(
            s.Item(
                id=terms.item_id,
                descriptor=s.Descriptor(
                    name=f"{terms.item_id} (pool {terms.pool_id}, {count} members)"
                ),
                price=wire.price(terms.tiers[0].unit_price, terms.currency),
                tags=(
                    _tag(
                        POOL_TAG,
                        pool_id=terms.pool_id,
                        terms=terms.canonical().decode(),
                        terms_signature=_b64(hosted.terms_signature),
                        host_key_id=node.identity.unique_key_id,
                        total=str(units),
                    ),
                ),
            )
        )
    return items


def joining(order: s.Order) -> tuple[str, bytes] | None:
    """(pool_id, commitment) when the order joins a pool."""
    group = _group(order.tags, POOL_TAG)
    if group is None:
        return None
    pool_id, digest = group.get("pool_id"), group.get("commitment")
    if not pool_id or not digest:
        raise DomainError("a pool join needs pool_id and commitment in its pool tags")
    try:
        return pool_id, bytes.fromhex(digest)
    except ValueError:
        raise DomainError("the pool commitment must be hex") from None


def host_join(
    node: NodeService, connection: Connection, env: Envelope, joined: tuple[str, bytes], now: float
) -> list[Outgoing]:
    """A member joins (a conditional order): on_confirm says pending-pool."""
    assert isinstance(env.message, OrderMessage)  # noqa: S101
    pool_id, digest = joined
    hosted = pool_store.load_pool(connection, pool_id, lock=True)
    if hosted is None:
        raise UnknownPool(f"no pool {pool_id!r} here")
    chosen = wire.selection(env.message.order)
    if len(chosen) != 1 or chosen[0][0] != hosted.pool.terms.item_id:
        raise DomainError(f"a pool order is for {hosted.pool.terms.item_id} alone")
    ctx = env.context
    joined_member = Member(
        member_id=str(ctx.bap_id),
        order_ref=str(ctx.transaction_id),
        quantity=chosen[0][1],
        commitment=digest,
        joined_at=datetime.fromtimestamp(now, UTC),
    )
    units, _, already = pool_store.totals(connection, pool_id, joined_member.member_id)
    existing = pool_store.member(connection, joined_member.order_ref)
    if admit(
        hosted.pool.terms,
        state=hosted.pool.state,
        total=units,
        already=already,
        existing=existing,
        member=joined_member,
    ):
        pool_store.add_member(connection, pool_id, joined_member)
        units += joined_member.quantity
    order = _pending(hosted.pool.terms, joined_member, units)
    return [node.reply(env, OrderMessage(order=order), now)]


def _pending(terms: PoolTerms, member: Member, total: int) -> s.Order:
    return s.Order(
        id=order_ref(terms.pool_id, member.order_ref),
        status=PENDING,
        provider=s.Provider(id=terms.host_id),
        items=(
            s.Item(
                id=terms.item_id,
                quantity=s.ItemQuantity(selected=s.QuantityValue(count=member.quantity)),
            ),
        ),
        tags=(_tag(POOL_TAG, pool_id=terms.pool_id, total=str(total)),),
    )


def quote_pool(node: NodeService, connection: Connection, env: Envelope, now: float) -> s.Order:
    """A pool order's quote: at most the first tier's price; the reached tier decides."""
    assert isinstance(env.message, OrderMessage)  # noqa: S101
    joined = joining(env.message.order)
    assert joined is not None  # noqa: S101 - callers check
    hosted = pool_store.load_pool(connection, joined[0])
    if hosted is None:
        raise UnknownPool(f"no pool {joined[0]!r} here")
    terms = hosted.pool.terms
    chosen = wire.selection(env.message.order)
    quantity = sum(q for _, q in chosen)
    ceiling = terms.tiers[0].unit_price * quantity
    return s.Order(
        provider=s.Provider(id=terms.host_id),
        items=(
            s.Item(
                id=terms.item_id,
                price=wire.price(terms.tiers[0].unit_price, terms.currency),
                quantity=s.ItemQuantity(selected=s.QuantityValue(count=quantity)),
            ),
        ),
        quote=s.Quote(
            price=s.Price(
                currency=terms.currency,
                value=f"{ceiling:.2f}",
                maximum_value=f"{ceiling:.2f}",
            ),
            breakup=tuple(
                s.BreakupLine(
                    title=f"from {t.min_quantity} units in the pool",
                    price=wire.price(t.unit_price * quantity, terms.currency),
                )
                for t in terms.tiers
            ),
        ),
        tags=(
            _tag(
                POOL_TAG,
                pool_id=terms.pool_id,
                terms=terms.canonical().decode(),
                terms_signature=_b64(hosted.terms_signature),
                host_key_id=node.identity.unique_key_id,
            ),
        ),
    )


def _split(ref: str) -> tuple[str, str]:
    pool_id, _, transaction_id = ref.removeprefix(REF_PREFIX).partition(":")
    return pool_id, transaction_id


def host_leave(
    node: NodeService, connection: Connection, env: Envelope, ref: str, now: float
) -> list[Outgoing]:
    """A member leaves before the deadline: on_cancel (leaving twice is the same)."""
    pool_id, transaction_id = _split(ref)
    hosted = pool_store.load_pool(connection, pool_id, lock=True)
    if hosted is None:
        raise UnknownPool(f"no pool {pool_id!r} here")
    check_open(hosted.pool.terms, hosted.pool.state, datetime.fromtimestamp(now, UTC))
    pool_store.remove_member(connection, pool_id, transaction_id)
    terms = hosted.pool.terms
    order = s.Order(
        id=ref,
        status="Cancelled",
        provider=s.Provider(id=terms.host_id),
        items=(s.Item(id=terms.item_id),),
    )
    return [node.reply(env, OrderMessage(order=order), now)]


def host_status(
    node: NodeService, connection: Connection, env: Envelope, ref: str, now: float
) -> list[Outgoing]:
    """Where a member's pool order is."""
    pool_id, transaction_id = _split(ref)
    hosted = pool_store.load_pool(connection, pool_id)
    if hosted is None:
        raise UnknownPool(f"no pool {pool_id!r} here")
    joined = pool_store.member(connection, transaction_id)
    if joined is None:
        order = s.Order(
            id=ref, status="Cancelled", provider=s.Provider(id=hosted.pool.terms.host_id)
        )
    else:
        units, _, _ = pool_store.totals(connection, pool_id)
        order = _pending(hosted.pool.terms, joined, units)
    return [node.reply(env, OrderMessage(order=order), now)]


def close_due(node: NodeService) -> int:
    """Close every pool that is due, atomically each; returns how many closed.

    Runs from the host's scheduler; a host that was down at a deadline closes its pools as
    soon as it is back.
    """
    now = node.clock()
    at = datetime.fromtimestamp(now, UTC)
    closed = 0
    with node.store.engine.connect() as connection:
        candidates = pool_store.due_pools(connection, now)
    for pool_id in candidates:
        with node.store.engine.connect() as connection:
            # Members are loaded only for a pool that closes now, not every second.
            header = pool_store.load_pool(connection, pool_id)
            units, _, _ = pool_store.totals(connection, pool_id)
        if header is None or not header.pool.due(at, units):
            continue
        with node.store.engine.begin() as connection:
            hosted = pool_store.load_pool(connection, pool_id, lock=True, members=True)
            if hosted is None or not hosted.pool.due(at):
                continue
            pool = hosted.pool.close(at, node.identity.signing)
            pool_store.save_pool(connection, replace(hosted, pool=pool), now)
            promise = _plan_batch(node, connection, pool, now)
            proofs = pool.proofs()
            for member in pool.members:
                _tell_member(
                    node,
                    connection,
                    pool,
                    member,
                    proof=proofs[member.order_ref],
                    now=now,
                    promise=promise,
                )
            closed += 1
    return closed


def _plan_batch(
    node: NodeService, connection: Connection, pool: Pool, now: float
) -> chain.Delivered | None:
    """A filled pool of an item made here is one production batch: planned by MRP, its POs
    placed; a plan that fails leaves the pool's outcome as it is (the owner plans by hand)."""
    if pool.outcome is None or pool.outcome.state is not PoolState.FILLED:
        return None
    units = sum(member.quantity for member in pool.members)
    try:
        with connection.begin_nested():
            return chain.plan_batch(
                node,
                connection,
                (f"pool:{pool.terms.pool_id}", pool.terms.pool_id),
                item_id=pool.terms.item_id,
                units=units,
                now=now,
            )
    except DomainError as exc:
        log.warning("pool %s filled but could not be planned: %s", pool.terms.pool_id, exc)
        return None


def _tell_member(
    node: NodeService,
    connection: Connection,
    pool: Pool,
    member: Member,
    *,
    proof: tuple[merkle.ProofStep, ...],
    now: float,
    promise: chain.Delivered | None = None,
) -> None:
    outcome = pool.outcome
    assert outcome is not None  # noqa: S101 - a closed pool has its outcome
    terms = pool.terms
    ref = order_ref(terms.pool_id, member.order_ref)
    about = node.store.first_incoming(connection, member.order_ref, Action.CONFIRM.value)
    if about is None:
        return
    proof_text = json.dumps([[step.sibling.hex(), step.sibling_is_left] for step in proof])
    tags: tuple[s.TagGroup, ...] = (
        _tag(
            OUTCOME_TAG,
            outcome=outcome.canonical().decode(),
            outcome_signature=_b64(outcome.signature),
            proof=proof_text,
        ),
    )
    if outcome.state is PoolState.FILLED and outcome.unit_price is not None:
        order = Order(
            id=ref,
            transaction_id=member.order_ref,
            buyer_id=member.member_id,
            seller_id=terms.host_id,
            lines=(OrderLine(terms.item_id, member.quantity, outcome.unit_price),),
            currency=terms.currency,
            created_at=datetime.fromtimestamp(now, UTC),
        )
        node.store.save_order(
            connection, order, role=SELLER, counterparty=member.member_id, now=now
        )
        if promise is not None:  # the batch's promise, from the maker's own plan
            tags = (
                *tags,
                chain.tag_group(
                    chain.PLAN_TAG,
                    [
                        ("promise_date", promise.date.isoformat()),
                        ("critical_path", promise.explanation),
                    ],
                ),
            )
        wire_order = msgspec.structs.replace(wire.order(order, terms.host_id), tags=tags)
    else:
        wire_order = s.Order(
            id=ref,
            status="Cancelled",
            provider=s.Provider(id=terms.host_id),
            items=(
                s.Item(
                    id=terms.item_id,
                    quantity=s.ItemQuantity(selected=s.QuantityValue(count=member.quantity)),
                ),
            ),
            tags=tags,
        )
    request = decode(about)
    node.enqueue(
        connection,
        node.unsolicited(request.context, Action.ON_STATUS, OrderMessage(order=wire_order), now),
        now,
    )


# -- the member ---------------------------------------------------------------------------------


def new_membership(
    terms: PoolTerms, terms_signature: bytes, host_key_id: str, member_id: str, quantity: int
) -> tuple[str, dict[str, Any], bytes]:
    """(transaction id, the membership record to keep, the commitment to send)."""
    transaction_id = str(uuid.uuid4())
    nonce = os.urandom(16)
    digest = commitment(terms.pool_id, transaction_id, member_id, quantity, nonce)
    record = {
        "terms": terms.canonical().decode(),
        "terms_signature": _b64(terms_signature),
        "host_key_id": host_key_id,
        "quantity": quantity,
        "nonce": nonce.hex(),
        "commitment": digest.hex(),
        "order_ref": order_ref(terms.pool_id, transaction_id),
    }
    return transaction_id, record, digest


def member_checks(
    record: dict[str, Any], group: s.TagGroup, host_key: Any, charged: Decimal | None
) -> tuple[Outcome, list[str]]:
    """The outcome in an on_status, and what this member finds wrong with it."""
    terms = PoolTerms.from_canonical(record["terms"].encode())
    outcome = Outcome.from_canonical(
        (group.get("outcome") or "").encode(),
        base64.b64decode(group.get("outcome_signature") or ""),
    )
    try:
        steps = [
            merkle.ProofStep(bytes.fromhex(sibling), bool(left))
            for sibling, left in json.loads(group.get("proof") or "[]")
        ]
    except (ValueError, TypeError):
        steps = []
    alarms = check_outcome(
        terms,
        terms_signature=base64.b64decode(record["terms_signature"]),
        outcome=outcome,
        host_key=host_key,
        own_commitment=bytes.fromhex(record["commitment"]),
        own_proof=steps,
        charged_unit_price=charged,
    )
    return outcome, alarms
