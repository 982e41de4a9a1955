"""The registry's database: record versions as their subjects signed them, and a change feed.

A record is stored as the exact JSON its subject signed (``body``), next to the registry's
verdict (``status``, ``reason``) and the columns lookups filter on. Nothing the registry adds
is ever written into ``body``. Each version that becomes SUBSCRIBED (or a revocation) gets a
row in ``feed``, whose autoincrement ``seq`` is what mirrors pull by.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import msgspec
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Engine,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection, RowMapping

from supplymesh.protocol.registry import SignedRecord, SubscriptionStatus, Suspension

metadata = MetaData()

records = Table(
    "records",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subscriber_id", String(255), nullable=False),
    Column("unique_key_id", String(255), nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("type", String(8), nullable=False),
    Column("signing_public_key", String(255), nullable=False),
    Column("valid_until", Float, nullable=False),
    Column("revoked", Boolean, nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(24), nullable=False),
    Column("reason", Text, nullable=True),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", Float, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    UniqueConstraint("subscriber_id", "version", name="uq_records_subscriber_version"),
)
feed = Table(
    "feed",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("record_id", Integer, ForeignKey("records.id"), nullable=False, unique=True),
)
suspensions = Table(
    "suspensions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subscriber_id", String(255), nullable=False, index=True),
    Column("body", Text, nullable=False),
    Column("created_at", Float, nullable=False),
)
mirror_cursors = Table(
    "mirror_cursors",
    metadata,
    Column("peer_url", String(2048), primary_key=True),
    Column("last_seq", Integer, nullable=False),
    Column("updated_at", Float, nullable=False),
)

_SIGNED_RECORD = msgspec.json.Decoder(SignedRecord)
_SUSPENSION = msgspec.json.Decoder(Suspension)
LIVE = (SubscriptionStatus.SUBSCRIBED.value,)


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """One stored record version and the registry's verdict on it."""

    id: int
    record: SignedRecord
    status: SubscriptionStatus
    reason: str | None
    attempts: int
    next_attempt_at: float | None
    created_at: float
    updated_at: float

    @classmethod
    def from_row(cls, row: RowMapping) -> StoredRecord:
        """Rebuild from a database row."""
        return cls(
            id=row["id"],
            record=_SIGNED_RECORD.decode(row["body"]),
            status=SubscriptionStatus(row["status"]),
            reason=row["reason"],
            attempts=row["attempts"],
            next_attempt_at=row["next_attempt_at"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )


class RegistryStore:
    """Reads and writes the registry's tables; every method is one short transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def current(
        self, subscriber_id: str, connection: Connection | None = None
    ) -> StoredRecord | None:
        """The subject's newest SUBSCRIBED version (a revocation counts), if any."""
        query = (
            select(records)
            .where(and_(records.c.subscriber_id == subscriber_id, records.c.status.in_(LIVE)))
            .order_by(records.c.version.desc())
            .limit(1)
        )
        if connection is not None:
            row = connection.execute(query).mappings().first()
        else:
            with self.engine.connect() as conn:
                row = conn.execute(query).mappings().first()
        return StoredRecord.from_row(row) if row is not None else None

    def by_version(
        self, connection: Connection, subscriber_id: str, version: int
    ) -> StoredRecord | None:
        """The stored record with this subscriber and version, whatever its status."""
        row = (
            connection.execute(
                select(records).where(
                    and_(records.c.subscriber_id == subscriber_id, records.c.version == version)
                )
            )
            .mappings()
            .first()
        )
        return StoredRecord.from_row(row) if row is not None else None

    def insert(
        self,
        connection: Connection,
        record: SignedRecord,
        *,
        body: bytes,
        status: SubscriptionStatus,
        reason: str | None,
        now: float,
    ) -> int:
        """Store a record version; a SUBSCRIBED one also enters the feed. Returns its id."""
        valid_until = datetime.fromisoformat(record.valid_until.replace("Z", "+00:00")).timestamp()
        result = connection.execute(
            insert(records).values(
                subscriber_id=record.subscriber_id,
                unique_key_id=record.unique_key_id,
                version=record.version,
                type=record.type.value,
                signing_public_key=record.signing_public_key,
                valid_until=valid_until,
                revoked=record.revoked,
                body=body.decode(),
                status=status.value,
                reason=reason,
                attempts=0,
                next_attempt_at=now if status is SubscriptionStatus.INITIATED else None,
                created_at=now,
                updated_at=now,
            )
        )
        primary_key = result.inserted_primary_key
        if primary_key is None:
            raise RuntimeError("the database returned no id for the inserted record")
        record_id = int(primary_key[0])
        if status is SubscriptionStatus.SUBSCRIBED:
            connection.execute(insert(feed).values(record_id=record_id))
        return record_id

    def mark_subscribed(
        self, record_id: int, now: float, connection: Connection | None = None
    ) -> None:
        """The challenge was answered: the version is SUBSCRIBED and enters the feed."""
        if connection is None:
            with self.engine.begin() as own:
                self.mark_subscribed(record_id, now, own)
            return
        changed = connection.execute(
            update(records)
            .where(
                and_(
                    records.c.id == record_id,
                    records.c.status == SubscriptionStatus.INITIATED.value,
                )
            )
            .values(
                status=SubscriptionStatus.SUBSCRIBED.value,
                reason=None,
                next_attempt_at=None,
                updated_at=now,
            )
        ).rowcount
        if changed:
            connection.execute(insert(feed).values(record_id=record_id))

    def mark_attempt(
        self,
        record_id: int,
        reason: str,
        next_attempt_at: float | None,
        now: float,
        status: SubscriptionStatus = SubscriptionStatus.INITIATED,
    ) -> None:
        """A challenge attempt failed: record why and when to try again (None: never)."""
        with self.engine.begin() as connection:
            connection.execute(
                update(records)
                .where(
                    and_(
                        records.c.id == record_id,
                        records.c.status == SubscriptionStatus.INITIATED.value,
                    )
                )
                .values(
                    status=status.value,
                    reason=reason,
                    attempts=records.c.attempts + 1,
                    next_attempt_at=next_attempt_at,
                    updated_at=now,
                )
            )

    def due_challenges(self, now: float, limit: int = 50) -> list[StoredRecord]:
        """INITIATED versions whose next challenge attempt is due."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(records)
                .where(
                    and_(
                        records.c.status == SubscriptionStatus.INITIATED.value,
                        records.c.next_attempt_at.is_not(None),
                        records.c.next_attempt_at <= now,
                    )
                )
                .order_by(records.c.next_attempt_at)
                .limit(limit)
            ).mappings()
            return [StoredRecord.from_row(row) for row in rows]

    def get(self, record_id: int) -> StoredRecord | None:
        """One stored version by id."""
        with self.engine.connect() as connection:
            row = (
                connection.execute(select(records).where(records.c.id == record_id))
                .mappings()
                .first()
            )
        return StoredRecord.from_row(row) if row is not None else None

    def live(self) -> list[StoredRecord]:
        """Every SUBSCRIBED version, oldest first (what lookups are answered from)."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(records).where(records.c.status.in_(LIVE)).order_by(records.c.id)
            ).mappings()
            return [StoredRecord.from_row(row) for row in rows]

    def max_seq(self) -> int:
        """The newest feed sequence number (0 when empty)."""
        with self.engine.connect() as connection:
            return int(
                connection.execute(select(func.coalesce(func.max(feed.c.seq), 0))).scalar_one()
            )

    def feed_page(self, after: int, limit: int) -> list[tuple[int, str]]:
        """Feed entries after ``after``: (seq, the record body as its subject signed it)."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(feed.c.seq, records.c.body)
                .join(records, records.c.id == feed.c.record_id)
                .where(feed.c.seq > after)
                .order_by(feed.c.seq)
                .limit(limit)
            )
            return [(int(seq), str(body)) for seq, body in rows]

    def add_suspension(self, statement: Suspension, now: float) -> None:
        """Store a registry-signed suspension (or lifting) statement."""
        with self.engine.begin() as connection:
            connection.execute(
                insert(suspensions).values(
                    subscriber_id=statement.subscriber_id,
                    body=msgspec.json.encode(statement).decode(),
                    created_at=now,
                )
            )

    def latest_suspensions(self) -> dict[str, Suspension]:
        """The newest statement per subscriber (a lifted one included, so it shows as lifted)."""
        with self.engine.connect() as connection:
            rows = connection.execute(select(suspensions).order_by(suspensions.c.id)).mappings()
            return {row["subscriber_id"]: _SUSPENSION.decode(row["body"]) for row in rows}

    def cursor(self, peer_url: str) -> int:
        """How far this registry has pulled ``peer_url``'s feed."""
        with self.engine.connect() as connection:
            value = connection.execute(
                select(mirror_cursors.c.last_seq).where(mirror_cursors.c.peer_url == peer_url)
            ).scalar_one_or_none()
        return int(value) if value is not None else 0

    def set_cursor(self, connection: Connection, peer_url: str, last_seq: int, now: float) -> None:
        """Remember how far ``peer_url``'s feed has been applied (in the caller's transaction)."""
        changed = connection.execute(
            update(mirror_cursors)
            .where(mirror_cursors.c.peer_url == peer_url)
            .values(last_seq=last_seq, updated_at=now)
        ).rowcount
        if not changed:
            connection.execute(
                insert(mirror_cursors).values(peer_url=peer_url, last_seq=last_seq, updated_at=now)
            )
