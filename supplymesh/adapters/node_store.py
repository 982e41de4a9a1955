"""A node's database: inbox, outbox, transactions, orders and catalog.

The inbox's unique (sender, action, message_id) is what makes a replay harmless: the raw
body, that row and the message's effects are written in one transaction, so a duplicate fails
the insert and changes nothing. The outbox holds every message a change causes, written in the
same transaction as the change; the dispatcher claims rows (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so several node workers can share one database) and records each delivery's fate.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import (
    Boolean,
    Column,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    delete,
    exists,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from supplymesh.domain.catalog import CatalogItem
from supplymesh.domain.orders import Order

metadata = MetaData()

inbox = Table(
    "inbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sender", String(255), nullable=False),
    Column("action", String(32), nullable=False),
    Column("message_id", String(255), nullable=False),
    Column("transaction_id", String(255), nullable=False, index=True),
    Column("body", Text, nullable=False),
    Column("late", Boolean, nullable=False),
    Column("received_at", Float, nullable=False),
    UniqueConstraint("sender", "action", "message_id", name="uq_inbox_message"),
)
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("transaction_id", String(255), nullable=False, index=True),
    Column("message_id", String(255), nullable=False),
    Column("action", String(32), nullable=False),
    Column("peer_id", String(255), nullable=False),
    Column("peer_uri", String(2048), nullable=False),
    Column("body", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", Float, nullable=False),
    Column("deadline", Float, nullable=False),
    Column("claimed_until", Float, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("delivered_at", Float, nullable=True),
)
transactions = Table(
    "transactions",
    metadata,
    Column("transaction_id", String(255), primary_key=True),
    Column("role", String(8), nullable=False),
    Column("counterparty", String(255), nullable=True),
    Column("domain", String(64), nullable=True),
    Column("last_action", String(32), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)
orders = Table(
    "orders",
    metadata,
    Column("id", String(255), primary_key=True),
    Column("transaction_id", String(255), nullable=False),
    Column("role", String(8), nullable=False),
    Column("counterparty", String(255), nullable=False),
    Column("state", String(16), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    UniqueConstraint("transaction_id", "role", name="uq_orders_transaction_role"),
)
catalog_items = Table(
    "catalog_items",
    metadata,
    Column("id", String(255), primary_key=True),
    Column("body", Text, nullable=False),
    Column("updated_at", Float, nullable=False),
)

_ORDER = msgspec.json.Decoder(Order)
_ITEM = msgspec.json.Decoder(CatalogItem)


class Delivery(enum.StrEnum):
    """Where an outgoing message is: waiting, in flight, or settled one way or another."""

    QUEUED = "queued"
    SENDING = "sending"
    ACKED = "acked"
    NACKED = "nacked"
    FAILED = "failed"


PENDING = (Delivery.QUEUED.value, Delivery.SENDING.value)


class Duplicate(Exception):
    """This (sender, action, message_id) was already received: acknowledge, change nothing."""


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """An outbox row as the dispatcher and the owner see it."""

    id: int
    transaction_id: str
    message_id: str
    action: str
    peer_id: str
    peer_uri: str
    body: bytes
    state: Delivery
    attempts: int
    next_attempt_at: float
    deadline: float
    last_error: str | None
    created_at: float

    @classmethod
    def from_row(cls, row: Any) -> OutgoingMessage:
        """Rebuild from a row mapping."""
        return cls(
            id=row["id"],
            transaction_id=row["transaction_id"],
            message_id=row["message_id"],
            action=row["action"],
            peer_id=row["peer_id"],
            peer_uri=row["peer_uri"],
            body=row["body"].encode(),
            state=Delivery(row["state"]),
            attempts=row["attempts"],
            next_attempt_at=row["next_attempt_at"],
            deadline=row["deadline"],
            last_error=row["last_error"],
            created_at=row["created_at"],
        )


class NodeStore:
    """Table access for one node; methods taking a connection run in the caller's transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.is_postgres = engine.dialect.name == "postgresql"
        # The inbox's hot statements, built once: building and cache-keying a statement per
        # message cost more than SQLite executing it.
        dialect_insert = postgresql_insert if self.is_postgres else sqlite_insert
        self._record = (
            dialect_insert(inbox)
            .on_conflict_do_nothing(index_elements=["sender", "action", "message_id"])
            .returning(inbox.c.id)
        )
        upsert = dialect_insert(transactions)
        self._touch = upsert.on_conflict_do_update(
            index_elements=[transactions.c.transaction_id],
            set_={
                "last_action": upsert.excluded.last_action,
                "updated_at": upsert.excluded.updated_at,
            },
        )
        self._enqueue = insert(outbox).returning(outbox.c.id)

    # -- inbox --------------------------------------------------------------------------------

    def record_incoming(
        self,
        connection: Connection,
        *,
        sender: str,
        action: str,
        message_id: str,
        transaction_id: str,
        body: bytes,
        late: bool,
        now: float,
    ) -> None:
        """Remember a received message; raise Duplicate if it was received before.

        ``ON CONFLICT DO NOTHING`` rather than a savepoint around a plain insert: pysqlite
        does not begin a transaction before ``SAVEPOINT``, so on SQLite the savepoint was the
        outermost transaction and releasing it committed this row on its own, before the
        message's effects (a crash in between lost the effects; a NACKed message kept its row).
        """
        added = connection.execute(
            self._record,
            {
                "sender": sender,
                "action": action,
                "message_id": message_id,
                "transaction_id": transaction_id,
                "body": body.decode(),
                "late": late,
                "received_at": now,
            },
        ).first()
        if added is None:
            raise Duplicate(f"{action} {message_id} from {sender}")

    def first_incoming(
        self, connection: Connection, transaction_id: str, action: str
    ) -> bytes | None:
        """The body of the first ``action`` received in a transaction."""
        body = connection.execute(
            select(inbox.c.body)
            .where(and_(inbox.c.transaction_id == transaction_id, inbox.c.action == action))
            .order_by(inbox.c.id)
            .limit(1)
        ).scalar_one_or_none()
        return body.encode() if body is not None else None

    def incoming(self, transaction_id: str) -> list[dict[str, Any]]:
        """Every message received in a transaction, oldest first."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(inbox).where(inbox.c.transaction_id == transaction_id).order_by(inbox.c.id)
            ).mappings()
            return [dict(row) for row in rows]

    # -- outbox -------------------------------------------------------------------------------

    def enqueue(
        self,
        connection: Connection,
        *,
        transaction_id: str,
        message_id: str,
        action: str,
        peer_id: str,
        peer_uri: str,
        body: bytes,
        now: float,
        horizon: float,
    ) -> int:
        """Queue a message for delivery, in the caller's transaction."""
        queued = connection.execute(
            self._enqueue,
            {
                "transaction_id": transaction_id,
                "message_id": message_id,
                "action": action,
                "peer_id": peer_id,
                "peer_uri": peer_uri,
                "body": body.decode(),
                "state": Delivery.QUEUED.value,
                "attempts": 0,
                "next_attempt_at": now,
                "deadline": now + horizon,
                "created_at": now,
                "updated_at": now,
            },
        ).scalar_one()
        return int(queued)

    def claim(self, now: float, lease: float, limit: int = 32) -> list[OutgoingMessage]:
        """Due messages, each the oldest unsettled one of its (transaction, peer), leased to us.

        Expired leases (a worker that died mid-delivery) go back to the queue first; then the
        queue is read in the order of the (state, next_attempt_at) index, so a claim reads
        about as many rows as it takes instead of sorting the whole backlog each time.
        """
        earlier = outbox.alias("earlier")
        blocked = exists().where(
            and_(
                earlier.c.transaction_id == outbox.c.transaction_id,
                earlier.c.peer_id == outbox.c.peer_id,
                earlier.c.id < outbox.c.id,
                earlier.c.state.in_(PENDING),
            )
        )
        query = (
            select(outbox)
            .where(
                and_(
                    outbox.c.state == Delivery.QUEUED.value,
                    outbox.c.next_attempt_at <= now,
                    ~blocked,
                )
            )
            .order_by(outbox.c.state, outbox.c.next_attempt_at)
            .limit(limit)
        )
        if self.is_postgres:
            query = query.with_for_update(skip_locked=True, of=outbox)
        with self.engine.begin() as connection:
            connection.execute(
                update(outbox)
                .where(
                    and_(
                        outbox.c.state == Delivery.SENDING.value,
                        outbox.c.claimed_until < now,
                    )
                )
                .values(state=Delivery.QUEUED.value, claimed_until=None)
            )
            rows = [dict(row) for row in connection.execute(query).mappings()]
            if rows:
                connection.execute(
                    update(outbox)
                    .where(outbox.c.id.in_([row["id"] for row in rows]))
                    .values(state=Delivery.SENDING.value, claimed_until=now + lease, updated_at=now)
                )
        return [OutgoingMessage.from_row(row) for row in rows]

    def next_due(self) -> float | None:
        """When the outbox next needs the dispatcher: the earliest retry of a queued message or
        lease end of one being sent; None when nothing is pending. Read-only, by the index."""
        with self.engine.connect() as connection:
            queued = connection.execute(
                select(func.min(outbox.c.next_attempt_at)).where(
                    outbox.c.state == Delivery.QUEUED.value
                )
            ).scalar()
            sending = connection.execute(
                select(func.min(outbox.c.claimed_until)).where(
                    outbox.c.state == Delivery.SENDING.value
                )
            ).scalar()
        due = [float(value) for value in (queued, sending) if value is not None]
        return min(due) if due else None

    def settle(
        self,
        message_id: int,
        state: Delivery,
        *,
        now: float,
        error: str | None = None,
        retry_at: float | None = None,
        count: bool = True,
    ) -> None:
        """Record a delivery attempt's outcome (retry_at: back to the queue at that time)."""
        values: dict[str, Any] = {
            "attempts": outbox.c.attempts + (1 if count else 0),
            "last_error": error,
            "claimed_until": None,
            "updated_at": now,
        }
        if retry_at is not None:
            values.update(state=Delivery.QUEUED.value, next_attempt_at=retry_at)
        else:
            values.update(state=state.value)
            if state is Delivery.ACKED:
                values["delivered_at"] = now
        with self.engine.begin() as connection:
            connection.execute(update(outbox).where(outbox.c.id == message_id).values(**values))

    def sent_body(self, message_id: str, action: str) -> bytes | None:
        """The body of a request we queued, by its message_id and action."""
        with self.engine.connect() as connection:
            body = connection.execute(
                select(outbox.c.body)
                .where(and_(outbox.c.message_id == message_id, outbox.c.action == action))
                .limit(1)
            ).scalar_one_or_none()
        return body.encode() if body is not None else None

    def delivery_stats(self) -> dict[str, Any]:
        """Outbox depth by state and delivery latency totals, for /metrics."""
        with self.engine.connect() as connection:
            by_state: dict[str, int] = dict(
                connection.execute(
                    select(outbox.c.state, func.count()).group_by(outbox.c.state)
                ).all()
            )
            latency = connection.execute(
                select(
                    func.count(),
                    func.coalesce(func.sum(outbox.c.delivered_at - outbox.c.created_at), 0.0),
                ).where(outbox.c.delivered_at.is_not(None))
            ).one()
        return {
            "by_state": by_state,
            "delivered": int(latency[0]),
            "latency_sum": float(latency[1]),
        }

    def outgoing(
        self, transaction_id: str | None = None, limit: int = 200
    ) -> list[OutgoingMessage]:
        """Outgoing messages, newest first (for the owner)."""
        query = select(outbox).order_by(outbox.c.id.desc()).limit(limit)
        if transaction_id is not None:
            query = query.where(outbox.c.transaction_id == transaction_id)
        with self.engine.connect() as connection:
            return [OutgoingMessage.from_row(row) for row in connection.execute(query).mappings()]

    # -- transactions -------------------------------------------------------------------------

    def touch_transaction(
        self,
        connection: Connection,
        *,
        transaction_id: str,
        role: str,
        counterparty: str | None,
        domain: str | None,
        action: str,
        now: float,
    ) -> None:
        """Create or update the transaction's row with its latest action (one upsert)."""
        connection.execute(
            self._touch,
            {
                "transaction_id": transaction_id,
                "role": role,
                "counterparty": counterparty,
                "domain": domain,
                "last_action": action,
                "created_at": now,
                "updated_at": now,
            },
        )

    def transaction_list(self, limit: int = 200) -> list[dict[str, Any]]:
        """Recent transactions, newest first."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(transactions).order_by(transactions.c.updated_at.desc()).limit(limit)
            ).mappings()
            return [dict(row) for row in rows]

    def transaction(self, transaction_id: str) -> dict[str, Any] | None:
        """One transaction's row."""
        with self.engine.connect() as connection:
            row = (
                connection.execute(
                    select(transactions).where(transactions.c.transaction_id == transaction_id)
                )
                .mappings()
                .first()
            )
        return dict(row) if row is not None else None

    # -- orders -------------------------------------------------------------------------------

    def order_for(self, connection: Connection, transaction_id: str, role: str) -> Order | None:
        """This node's order in a transaction, as seller or buyer."""
        body = connection.execute(
            select(orders.c.body).where(
                and_(orders.c.transaction_id == transaction_id, orders.c.role == role)
            )
        ).scalar_one_or_none()
        return _ORDER.decode(body) if body is not None else None

    def order_by_id(self, connection: Connection, order_id: str, role: str) -> Order | None:
        """An order by id."""
        body = connection.execute(
            select(orders.c.body).where(and_(orders.c.id == order_id, orders.c.role == role))
        ).scalar_one_or_none()
        return _ORDER.decode(body) if body is not None else None

    def save_order(
        self, connection: Connection, order: Order, *, role: str, counterparty: str, now: float
    ) -> None:
        """Insert or replace an order."""
        body = msgspec.json.encode(order).decode()
        changed = connection.execute(
            update(orders)
            .where(and_(orders.c.id == order.id, orders.c.role == role))
            .values(state=order.state.value, body=body, updated_at=now)
        ).rowcount
        if not changed:
            connection.execute(
                insert(orders).values(
                    id=order.id,
                    transaction_id=order.transaction_id,
                    role=role,
                    counterparty=counterparty,
                    state=order.state.value,
                    body=body,
                    created_at=now,
                    updated_at=now,
                )
            )

    def order_list(self, role: str | None = None) -> list[Order]:
        """Orders, newest first."""
        query = select(orders.c.body).order_by(orders.c.created_at.desc())
        if role is not None:
            query = query.where(orders.c.role == role)
        with self.engine.connect() as connection:
            return [_ORDER.decode(body) for body in connection.execute(query).scalars()]

    # -- catalog ------------------------------------------------------------------------------

    def catalog(
        self, connection: Connection | None = None, *, lock: bool = False
    ) -> dict[str, CatalogItem]:
        """Every catalog item by id; ``lock`` holds the rows until the transaction ends."""
        if connection is None:
            with self.engine.connect() as own:
                return self.catalog(own)
        query = select(catalog_items.c.body).order_by(catalog_items.c.id)
        if lock and self.is_postgres:
            query = query.with_for_update()
        rows = connection.execute(query)
        items = [_ITEM.decode(body) for body in rows.scalars()]
        return {item.id: item for item in items}

    def save_items(self, connection: Connection, items: list[CatalogItem], now: float) -> None:
        """Insert or replace catalog items."""
        for item in items:
            body = msgspec.json.encode(item).decode()
            changed = connection.execute(
                update(catalog_items)
                .where(catalog_items.c.id == item.id)
                .values(body=body, updated_at=now)
            ).rowcount
            if not changed:
                connection.execute(
                    insert(catalog_items).values(id=item.id, body=body, updated_at=now)
                )

    def remove_item(self, connection: Connection, item_id: str) -> bool:
        """Delete a catalog item; True if it existed."""
        return bool(
            connection.execute(delete(catalog_items).where(catalog_items.c.id == item_id)).rowcount
        )
