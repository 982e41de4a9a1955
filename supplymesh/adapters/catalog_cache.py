"""A buyer's cache of sellers' catalogs, and the seller's side of incremental pulls.

ONDC moved from broadcast search to catalog pulls: a buyer asks each seller for what changed
since a time (``intent.tags`` group ``catalog_inc`` with ``start_time``/``end_time``) and keeps
the answers. Here every ``on_search`` a buyer node receives, live or pulled, refreshes its cache,
so a later search answers from the cache at once while live sellers reply.
"""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import Column, Float, String, Table, Text, and_, delete, insert, select, update
from sqlalchemy.engine import Connection

from supplymesh.adapters.node_store import Delivery, catalog_items, inbox, metadata, outbox
from supplymesh.domain.catalog import CatalogItem

catalog_cache = Table(
    "catalog_cache",
    metadata,
    Column("seller_id", String(255), primary_key=True),
    Column("item_id", String(255), primary_key=True),
    Column("provider_id", String(255), nullable=True),
    Column("body", Text, nullable=False),
    Column("fetched_at", Float, nullable=False),
)
catalog_sync = Table(
    "catalog_sync",
    metadata,
    Column("seller_id", String(255), primary_key=True),
    Column("pulled_from", Float, nullable=True),
    Column("requested_at", Float, nullable=True),
    Column("answered_at", Float, nullable=True),
)

_ITEM = msgspec.json.Decoder(CatalogItem)
PULL_PREFIX = "catalog-pull-"
"""Transaction ids of incremental pulls: housekeeping, kept out of the owner's transactions."""


def changed_since(connection: Connection, since: float) -> list[CatalogItem]:
    """The seller's items changed at or after ``since`` (Unix seconds)."""
    rows = connection.execute(
        select(catalog_items.c.body)
        .where(catalog_items.c.updated_at >= since)
        .order_by(catalog_items.c.id)
    )
    return [_ITEM.decode(body) for body in rows.scalars()]


def remember(
    connection: Connection,
    seller_id: str,
    *,
    provider_id: str | None,
    items: list[dict[str, Any]],
    now: float,
    seller_time: float | None = None,
) -> None:
    """Upsert a seller's offered items (their JSON as the seller sent it).

    ``seller_time`` is the answer's own timestamp: the next pull asks for changes since a
    minute before it, on the seller's clock, so clock skew between nodes loses no change.
    """
    for item in items:
        item_id = item.get("id")
        if not isinstance(item_id, str):
            continue
        body = msgspec.json.encode(item).decode()
        key = and_(catalog_cache.c.seller_id == seller_id, catalog_cache.c.item_id == item_id)
        changed = connection.execute(
            update(catalog_cache)
            .where(key)
            .values(body=body, provider_id=provider_id, fetched_at=now)
        ).rowcount
        if not changed:
            connection.execute(
                insert(catalog_cache).values(
                    seller_id=seller_id,
                    item_id=item_id,
                    provider_id=provider_id,
                    body=body,
                    fetched_at=now,
                )
            )
    if seller_time is not None:
        _touch_sync(connection, seller_id, answered_at=now, pulled_from=seller_time - 60.0)
    else:
        _touch_sync(connection, seller_id, answered_at=now)


def cached(connection: Connection) -> list[tuple[str, dict[str, Any], float]]:
    """Every cached item: (seller, item JSON, when fetched)."""
    rows = connection.execute(
        select(
            catalog_cache.c.seller_id, catalog_cache.c.body, catalog_cache.c.fetched_at
        ).order_by(catalog_cache.c.seller_id, catalog_cache.c.item_id)
    )
    return [(seller, msgspec.json.decode(body), float(at)) for seller, body, at in rows]


def pull_from(connection: Connection, seller_id: str) -> float | None:
    """The time the next pull from ``seller_id`` asks changes since (None: everything)."""
    value = connection.execute(
        select(catalog_sync.c.pulled_from).where(catalog_sync.c.seller_id == seller_id)
    ).scalar_one_or_none()
    return float(value) if value is not None else None


def _touch_sync(connection: Connection, seller_id: str, **values: float) -> None:
    changed = connection.execute(
        update(catalog_sync).where(catalog_sync.c.seller_id == seller_id).values(**values)
    ).rowcount
    if not changed:
        connection.execute(insert(catalog_sync).values(seller_id=seller_id, **values))


def requested(connection: Connection, seller_id: str, now: float) -> None:
    """Record that a pull was queued now."""
    _touch_sync(connection, seller_id, requested_at=now)


def prune_pulls(connection: Connection, before: float) -> int:
    """Forget settled pull messages older than ``before``: their items are in the cache."""
    pulls = inbox.c.transaction_id.startswith(PULL_PREFIX)
    removed = connection.execute(
        delete(inbox).where(and_(pulls, inbox.c.received_at < before))
    ).rowcount
    settled = outbox.c.state.in_(
        [Delivery.ACKED.value, Delivery.NACKED.value, Delivery.FAILED.value]
    )
    removed += connection.execute(
        delete(outbox).where(
            and_(
                outbox.c.transaction_id.startswith(PULL_PREFIX),
                settled,
                outbox.c.updated_at < before,
            )
        )
    ).rowcount
    return int(removed)
