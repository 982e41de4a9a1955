"""Pools on the host's node, and a member node's own memberships (with its secret nonce)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy import (
    Column,
    Float,
    Integer,
    String,
    Table,
    Text,
    and_,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection

from supplymesh.adapters.node_store import metadata
from supplymesh.domain.pools import Member, Pool

pools = Table(
    "pools",
    metadata,
    Column("pool_id", String(255), primary_key=True),
    Column("body", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("deadline", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    # Running totals of the pool's members (kept by add_member / remove_member, which run
    # while the pool's row is locked): reading them does not grow with the pool.
    Column("units", Integer, nullable=False, server_default="0"),
    Column("members", Integer, nullable=False, server_default="0"),
)
pool_members = Table(
    "pool_members",
    metadata,
    Column("order_ref", String(255), primary_key=True),
    Column("pool_id", String(255), nullable=False),
    Column("member_id", String(255), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("commitment", String(64), nullable=False),
    Column("joined_at", Float, nullable=False),
)
pool_memberships = Table(
    "pool_memberships",
    metadata,
    Column("order_ref", String(255), primary_key=True),
    Column("pool_id", String(255), nullable=False),
    Column("host_id", String(255), nullable=False),
    Column("body", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("alarms", Text, nullable=True),
    Column("updated_at", Float, nullable=False),
)


@dataclass(frozen=True, slots=True)
class HostedPool:
    """A pool as its host keeps it: the pool and the host's signature over its terms."""

    pool: Pool
    terms_signature: bytes


_HOSTED = msgspec.json.Decoder(HostedPool)


def save_pool(connection: Connection, hosted: HostedPool, now: float) -> None:
    """Insert or replace a hosted pool's terms, state and outcome (members live in their table)."""
    header = replace(hosted, pool=replace(hosted.pool, members=()))
    body = msgspec.json.encode(header).decode()
    values = {
        "body": body,
        "state": hosted.pool.state.value,
        "deadline": hosted.pool.terms.deadline.timestamp(),
        "updated_at": now,
    }
    changed = connection.execute(
        update(pools).where(pools.c.pool_id == hosted.pool.terms.pool_id).values(**values)
    ).rowcount
    if not changed:
        connection.execute(insert(pools).values(pool_id=hosted.pool.terms.pool_id, **values))


def load_pool(
    connection: Connection, pool_id: str, *, lock: bool = False, members: bool = False
) -> HostedPool | None:
    """A hosted pool by id (``lock``: hold its row on PostgreSQL until the transaction ends;
    ``members``: with every member, for closing and proofs)."""
    query = select(pools.c.body).where(pools.c.pool_id == pool_id)
    if lock and connection.dialect.name == "postgresql":
        query = query.with_for_update()
    body = connection.execute(query).scalar_one_or_none()
    if body is None:
        return None
    hosted = _HOSTED.decode(body)
    if not members:
        return hosted
    rows = connection.execute(
        select(pool_members)
        .where(pool_members.c.pool_id == pool_id)
        .order_by(pool_members.c.joined_at)
    ).mappings()
    return replace(hosted, pool=replace(hosted.pool, members=tuple(_member(r) for r in rows)))


def _member(row: Any) -> Member:
    return Member(
        member_id=row["member_id"],
        order_ref=row["order_ref"],
        quantity=row["quantity"],
        commitment=bytes.fromhex(row["commitment"]),
        joined_at=datetime.fromtimestamp(row["joined_at"], UTC),
    )


def totals(
    connection: Connection, pool_id: str, member_id: str | None = None
) -> tuple[int, int, int]:
    """(units in the pool, members' orders, units of ``member_id``'s orders)."""
    row = connection.execute(
        select(pools.c.units, pools.c.members).where(pools.c.pool_id == pool_id)
    ).first()
    units, count = row if row is not None else (0, 0)
    mine = 0
    if member_id is not None:
        mine = connection.execute(
            select(func.coalesce(func.sum(pool_members.c.quantity), 0)).where(
                and_(pool_members.c.pool_id == pool_id, pool_members.c.member_id == member_id)
            )
        ).scalar_one()
    return int(units), int(count), int(mine)


def member(connection: Connection, order_ref: str) -> Member | None:
    """A member's order by its reference."""
    row = (
        connection.execute(select(pool_members).where(pool_members.c.order_ref == order_ref))
        .mappings()
        .first()
    )
    return _member(row) if row is not None else None


def add_member(connection: Connection, pool_id: str, joined: Member) -> None:
    """Record a member's order in a pool (and count it in the pool's totals)."""
    connection.execute(
        update(pools)
        .where(pools.c.pool_id == pool_id)
        .values(units=pools.c.units + joined.quantity, members=pools.c.members + 1)
    )
    connection.execute(
        insert(pool_members).values(
            order_ref=joined.order_ref,
            pool_id=pool_id,
            member_id=joined.member_id,
            quantity=joined.quantity,
            commitment=joined.commitment.hex(),
            joined_at=joined.joined_at.timestamp(),
        )
    )


def remove_member(connection: Connection, pool_id: str, order_ref: str) -> bool:
    """Forget a member's order (and take it off the pool's totals); True if it was there."""
    quantity = connection.execute(
        delete(pool_members)
        .where(and_(pool_members.c.pool_id == pool_id, pool_members.c.order_ref == order_ref))
        .returning(pool_members.c.quantity)
    ).scalar_one_or_none()
    if quantity is None:
        return False
    connection.execute(
        update(pools)
        .where(pools.c.pool_id == pool_id)
        .values(units=pools.c.units - quantity, members=pools.c.members - 1)
    )
    return True


def due_pools(connection: Connection, now: float) -> list[str]:
    """Open pools whose deadline has come, and open pools that may close early."""
    rows = connection.execute(
        select(pools.c.pool_id).where(pools.c.state == "open").order_by(pools.c.deadline)
    )
    return [str(pool_id) for pool_id in rows.scalars()]


def all_pools(connection: Connection) -> list[HostedPool]:
    """Every hosted pool."""
    rows = connection.execute(select(pools.c.body).order_by(pools.c.deadline))
    return [_HOSTED.decode(body) for body in rows.scalars()]


def save_membership(
    connection: Connection,
    order_ref: str,
    *,
    pool_id: str,
    host_id: str,
    body: dict[str, Any],
    state: str,
    alarms: list[str] | None,
    now: float,
) -> None:
    """Insert or replace this node's membership in a pool."""
    values = {
        "pool_id": pool_id,
        "host_id": host_id,
        "body": msgspec.json.encode(body).decode(),
        "state": state,
        "alarms": msgspec.json.encode(alarms).decode() if alarms is not None else None,
        "updated_at": now,
    }
    changed = connection.execute(
        update(pool_memberships).where(pool_memberships.c.order_ref == order_ref).values(**values)
    ).rowcount
    if not changed:
        connection.execute(insert(pool_memberships).values(order_ref=order_ref, **values))


def membership(connection: Connection, order_ref: str) -> dict[str, Any] | None:
    """One membership with its body decoded."""
    row = (
        connection.execute(
            select(pool_memberships).where(pool_memberships.c.order_ref == order_ref)
        )
        .mappings()
        .first()
    )
    return _membership_view(row) if row is not None else None


def memberships(connection: Connection, pool_id: str | None = None) -> list[dict[str, Any]]:
    """This node's memberships."""
    query = select(pool_memberships).order_by(pool_memberships.c.updated_at)
    if pool_id is not None:
        query = query.where(and_(pool_memberships.c.pool_id == pool_id))
    return [_membership_view(row) for row in connection.execute(query).mappings()]


def _membership_view(row: Any) -> dict[str, Any]:
    return {
        "order_ref": row["order_ref"],
        "pool_id": row["pool_id"],
        "host_id": row["host_id"],
        "state": row["state"],
        "alarms": msgspec.json.decode(row["alarms"]) if row["alarms"] else [],
        "body": msgspec.json.decode(row["body"]),
    }
