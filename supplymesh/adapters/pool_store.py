"""Pools on the host's node, and a member node's own memberships (with its secret nonce)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import Column, Float, String, Table, Text, and_, insert, select, update
from sqlalchemy.engine import Connection

from supplymesh.adapters.node_store import metadata
from supplymesh.domain.pools import Pool

pools = Table(
    "pools",
    metadata,
    Column("pool_id", String(255), primary_key=True),
    Column("body", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("deadline", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
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
    """Insert or replace a hosted pool."""
    body = msgspec.json.encode(hosted).decode()
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


def load_pool(connection: Connection, pool_id: str, *, lock: bool = False) -> HostedPool | None:
    """A hosted pool by id (``lock``: hold its row on PostgreSQL until the transaction ends)."""
    query = select(pools.c.body).where(pools.c.pool_id == pool_id)
    if lock and connection.dialect.name == "postgresql":
        query = query.with_for_update()
    body = connection.execute(query).scalar_one_or_none()
    return _HOSTED.decode(body) if body is not None else None


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
