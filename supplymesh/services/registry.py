"""The registry's use-cases: accept a signed record, challenge it, answer lookups, mirror peers.

The registry can refuse a record, and it can vouch that a subscriber answered its challenge
(``status``), but it never writes into a record: every answer carries the subject's own
signature. The rules a record must pass live in ``supplymesh.protocol.registry``; this module
applies them against what the store holds, in one transaction per change.
"""

from __future__ import annotations

import logging
import random
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import msgspec
from sqlalchemy.exc import IntegrityError

from supplymesh.adapters.registry_peers import ChallengeFailed
from supplymesh.adapters.registry_store import RegistryStore, StoredRecord
from supplymesh.protocol import signing
from supplymesh.protocol.codec import encode_json
from supplymesh.protocol.errors import ErrorCode, ProtocolError
from supplymesh.protocol.keys import EncryptionKeyPair, SigningKeyPair
from supplymesh.protocol.registry import (
    Feed,
    LookupItem,
    LookupRequest,
    OnSubscribeRequest,
    RecordPayload,
    RecordRefused,
    SignedRecord,
    SubscribeResponse,
    SubscriberType,
    SubscriptionStatus,
    Suspension,
    check_succession,
    decode_registry_body,
    encrypt_challenge,
    matches,
    now_text,
    sign_record,
    sign_suspension,
    verify_record,
)

log = logging.getLogger("supplymesh.registry")

MAX_BACKOFF_SECONDS = 300.0
INDEX_RECHECK_SECONDS = 1.0
RESPONSE_SIGNATURE_TTL = 300

Challenger = Callable[[str, OnSubscribeRequest, bytes], Awaitable[str]]
"""Sends the challenge to ``{subscriber_url}/on_subscribe`` (body, its Authorization) -> answer."""


class SubscribeRefused(Exception):
    """/subscribe refuses a record: ``http_status`` and the protocol error for the NACK."""

    def __init__(self, http_status: int, error: ProtocolError) -> None:
        super().__init__(error.message)
        self.http_status = http_status
        self.error = error


@dataclass(frozen=True, slots=True)
class RegistryIdentity:
    """The registry's own identity: a BREG participant like any other."""

    subscriber_id: str
    unique_key_id: str
    url: str
    signing: SigningKeyPair
    encryption: EncryptionKeyPair

    def record(self, now: datetime, version: int = 1) -> SignedRecord:
        """The registry's self-signed BREG record."""
        payload = RecordPayload(
            subscriber_id=self.subscriber_id,
            subscriber_url=self.url,
            type=SubscriberType.BREG,
            domains=("*",),
            city="*",
            country="*",
            signing_public_key=self.signing.public_key_b64,
            encr_public_key=self.encryption.public_key_b64,
            unique_key_id=self.unique_key_id,
            valid_from=now_text(now),
            valid_until=now_text(now + timedelta(days=3650)),
            version=version,
        )
        return sign_record(payload, self.signing)

    def sign_response(self, body: bytes, now: float) -> str:
        """The Authorization header for a response body."""
        return signing.sign_at(
            body,
            self.signing,
            subscriber_id=self.subscriber_id,
            unique_key_id=self.unique_key_id,
            now=now,
            ttl=RESPONSE_SIGNATURE_TTL,
        )


@dataclass(frozen=True, slots=True)
class FeedApplied:
    """What applying one page of a peer's feed did."""

    applied: int
    refused: int
    entries: int
    last_seq: int


@dataclass(slots=True)
class _Index:
    """Live records grouped by subscriber, newest version last, with their encoded items."""

    by_subscriber: dict[str, list[StoredRecord]] = field(default_factory=dict)
    suspensions: dict[str, Suspension] = field(default_factory=dict)
    encoded: dict[tuple[int, str], bytes] = field(default_factory=dict)
    seq: int = -1
    checked_at: float = 0.0


class RegistryService:
    """Subscribe, challenge, lookup, feed, mirror and suspend, over one store."""

    def __init__(
        self,
        store: RegistryStore,
        identity: RegistryIdentity,
        challenger: Challenger,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.identity = identity
        self.challenger = challenger
        self.clock = clock
        self._index = _Index()

    # -- subscribe ----------------------------------------------------------------------------

    def publish_own_record(self) -> None:
        """Store the registry's own self-signed BREG record on first start."""
        current = self.store.current(self.identity.subscriber_id)
        if current is not None:
            if current.record.signing_public_key == self.identity.signing.public_key_b64:
                return
            raise RuntimeError(
                f"this database holds registry {self.identity.subscriber_id} with another key; "
                "start with that registry's home, or choose another --id"
            )
        own = self.identity.record(datetime.fromtimestamp(self.clock(), UTC))
        with self.store.engine.begin() as connection:
            self.store.insert(
                connection,
                own,
                body=encode_json(own),
                status=SubscriptionStatus.SUBSCRIBED,
                reason=None,
                now=self.clock(),
            )
        self._index.seq = -1

    def accept(self, raw: bytes) -> tuple[StoredRecord, bool]:
        """Check a /subscribe body and store it; returns the stored version and whether it is new.

        A revocation takes effect at once; any other version waits for its challenge.
        """
        record = decode_registry_body(raw, SignedRecord)
        try:
            verify_record(record)
        except RecordRefused as exc:
            raise SubscribeRefused(400, exc) from None
        now = self.clock()
        try:
            with self.store.engine.begin() as connection:
                existing = self.store.by_version(connection, record.subscriber_id, record.version)
                if existing is not None:
                    if existing.record.signature == record.signature:
                        return existing, False
                    raise SubscribeRefused(
                        409,
                        ProtocolError(
                            ErrorCode.INVALID_REQUEST,
                            f"version {record.version} of {record.subscriber_id} is already "
                            "taken by a different record; sign a newer version",
                            "$.version",
                        ),
                    )
                current = self.store.current(record.subscriber_id, connection)
                try:
                    check_succession(current.record.payload if current else None, record)
                except RecordRefused as exc:
                    raise SubscribeRefused(409, exc) from None
                if record.revoked and current is None:
                    raise SubscribeRefused(
                        400,
                        ProtocolError(ErrorCode.INVALID_REQUEST, "nothing to revoke", "$.revoked"),
                    )
                status = (
                    SubscriptionStatus.SUBSCRIBED
                    if record.revoked
                    else SubscriptionStatus.INITIATED
                )
                reason = None if record.revoked else "awaiting the on_subscribe challenge"
                record_id = self.store.insert(
                    connection, record, body=raw, status=status, reason=reason, now=now
                )
        except IntegrityError:
            raise SubscribeRefused(
                409,
                ProtocolError(
                    ErrorCode.INVALID_REQUEST,
                    f"version {record.version} of {record.subscriber_id} was taken concurrently",
                    "$.version",
                ),
            ) from None
        self._index.seq = -1
        stored = self.store.get(record_id)
        assert stored is not None  # noqa: S101 - inserted above in a committed transaction
        return stored, True

    async def challenge(self, stored: StoredRecord) -> StoredRecord:
        """Challenge the subscriber once: SUBSCRIBED, or why not and when to try again."""
        record = stored.record
        now = self.clock()
        valid_until = datetime.fromisoformat(record.valid_until.replace("Z", "+00:00")).timestamp()
        if valid_until <= now:
            self.store.mark_attempt(
                stored.id,
                "the record's valid_until passed before its challenge succeeded",
                None,
                now,
                SubscriptionStatus.EXPIRED,
            )
            return self.store.get(stored.id) or stored
        plain = secrets.token_urlsafe(24)
        request = OnSubscribeRequest(
            subscriber_id=record.subscriber_id,
            challenge=encrypt_challenge(
                self.identity.encryption, record.payload.encryption_key(), plain
            ),
            registry_id=self.identity.subscriber_id,
            registry_encr_public_key=self.identity.encryption.public_key_b64,
        )
        body = encode_json(request)
        try:
            answer = await self.challenger(record.subscriber_url, request, body)
            if not secrets.compare_digest(answer.encode(), plain.encode()):
                raise ChallengeFailed(
                    "the answer to the challenge is wrong: the subscriber does not hold the "
                    "private key of its encr_public_key"
                )
        except ChallengeFailed as exc:
            jitter = random.uniform(0.5, 1.5)  # noqa: S311 - spreads retries, guards nothing
            delay = min(MAX_BACKOFF_SECONDS, 2.0 ** min(stored.attempts, 16)) * jitter
            self.store.mark_attempt(
                stored.id, f"challenge failed: {exc}; retrying", now + delay, now
            )
            log.info("challenge to %s failed: %s", record.subscriber_id, exc)
        else:
            self.store.mark_subscribed(stored.id, self.clock())
            self._index.seq = -1
            log.info(
                "%s (key %s, version %s) SUBSCRIBED",
                record.subscriber_id,
                record.unique_key_id,
                record.version,
            )
        return self.store.get(stored.id) or stored

    async def run_due_challenges(self) -> int:
        """Retry every challenge that is due; returns how many were tried."""
        due = self.store.due_challenges(self.clock())
        for stored in due:
            await self.challenge(stored)
        return len(due)

    @staticmethod
    def response(stored: StoredRecord) -> SubscribeResponse:
        """The /subscribe answer for a stored version."""
        return SubscribeResponse(
            status=stored.status,
            subscriber_id=stored.record.subscriber_id,
            unique_key_id=stored.record.unique_key_id,
            version=stored.record.version,
            reason=stored.reason,
        )

    # -- lookup -------------------------------------------------------------------------------

    def _fresh_index(self) -> _Index:
        index = self._index
        now = self.clock()
        if index.seq >= 0 and now - index.checked_at < INDEX_RECHECK_SECONDS:
            return index
        seq = self.store.max_seq()
        suspensions = self.store.latest_suspensions()
        if seq != index.seq or suspensions != index.suspensions:
            grouped: dict[str, list[StoredRecord]] = {}
            for stored in self.store.live():
                grouped.setdefault(stored.record.subscriber_id, []).append(stored)
            for versions in grouped.values():
                versions.sort(key=lambda s: s.record.version)
            index = _Index(by_subscriber=grouped, suspensions=suspensions, seq=seq)
        index.checked_at = now
        self._index = index
        return index

    def lookup(self, raw: bytes) -> bytes:
        """The JSON array answering a /lookup body."""
        query = decode_registry_body(raw, LookupRequest)
        index = self._fresh_index()
        now = self.clock()
        if query.subscriber_id is not None:
            groups = [index.by_subscriber.get(query.subscriber_id, [])]
        else:
            groups = list(index.by_subscriber.values())
        items: list[bytes] = []
        for versions in groups:
            if not versions:
                continue
            chosen = self._choose(versions, query, now)
            if chosen is None:
                continue
            stored, status = chosen
            if not matches(stored.record.payload, query):
                continue
            items.append(self._encoded(index, stored, status))
        return b"[" + b",".join(items) + b"]"

    @staticmethod
    def _choose(
        versions: list[StoredRecord], query: LookupRequest, now: float
    ) -> tuple[StoredRecord, SubscriptionStatus] | None:
        current = versions[-1]
        named = query.subscriber_id is not None
        if current.record.revoked:
            return (
                (current, SubscriptionStatus.UNSUBSCRIBED)
                if named and query.key_id is None
                else None
            )
        if query.key_id is not None:
            for stored in reversed(versions):
                if stored.record.unique_key_id == query.key_id:
                    if _until(stored) > now:
                        return stored, SubscriptionStatus.SUBSCRIBED
                    return None
            return None
        if _until(current) <= now:
            return (current, SubscriptionStatus.EXPIRED) if named else None
        return current, SubscriptionStatus.SUBSCRIBED

    def _encoded(self, index: _Index, stored: StoredRecord, status: SubscriptionStatus) -> bytes:
        cache_key = (stored.id, status.value)
        cached = index.encoded.get(cache_key)
        if cached is None:
            record = stored.record
            item = LookupItem(
                **msgspec.structs.asdict(record),
                status=status,
                ukId=record.unique_key_id,
                domain=record.domains[0] if record.domains else None,
                br_id=self.identity.subscriber_id,
                created=now_text(datetime.fromtimestamp(stored.created_at, UTC)),
                updated=now_text(datetime.fromtimestamp(stored.updated_at, UTC)),
                suspension=index.suspensions.get(record.subscriber_id),
            )
            cached = index.encoded[cache_key] = encode_json(item)
        return cached

    # -- feed and mirroring -------------------------------------------------------------------

    def feed(self, after: int, limit: int) -> bytes:
        """A page of the change feed; each record exactly as its subject signed it."""
        page = self.store.feed_page(after, limit)
        last = page[-1][0] if page else max(after, 0)
        entries = b",".join(b'{"seq":%d,"record":%s}' % (seq, body.encode()) for seq, body in page)
        return b'{"entries":[' + entries + b'],"last_seq":%d}' % last

    def apply_feed(self, peer_url: str, raw: bytes) -> FeedApplied:
        """Apply a peer's feed page.

        Only records whose subject signature verifies, that are newer than the version held
        here and that may follow it (same key, or a new key endorsed by the held one) apply.
        """
        page = decode_registry_body(raw, Feed, max_bytes=16 * 1024 * 1024)
        applied = refused = 0
        now = self.clock()
        with self.store.engine.begin() as connection:
            for entry in page.entries:
                record = entry.record
                try:
                    verify_record(record)
                    current = self.store.current(record.subscriber_id, connection)
                    if current is not None and record.version <= current.record.version:
                        continue
                    check_succession(current.record.payload if current else None, record)
                except RecordRefused as exc:
                    refused += 1
                    log.warning(
                        "refused %s v%s from %s: %s",
                        record.subscriber_id,
                        record.version,
                        peer_url,
                        exc.message,
                    )
                    continue
                existing = self.store.by_version(connection, record.subscriber_id, record.version)
                if existing is not None:
                    if (
                        existing.record.signature == record.signature
                        and existing.status is SubscriptionStatus.INITIATED
                    ):
                        self.store.mark_subscribed(existing.id, now, connection)
                        applied += 1
                    continue
                body = encode_json(record)
                self.store.insert(
                    connection,
                    record,
                    body=body,
                    status=SubscriptionStatus.SUBSCRIBED,
                    reason=None,
                    now=now,
                )
                applied += 1
            if page.entries:
                self.store.set_cursor(connection, peer_url, page.last_seq, now)
        if applied:
            self._index.seq = -1
        return FeedApplied(
            applied=applied, refused=refused, entries=len(page.entries), last_seq=page.last_seq
        )

    # -- suspension ---------------------------------------------------------------------------

    def suspend(self, subscriber_id: str, reason: str, *, lifted: bool = False) -> Suspension:
        """Record the registry's own signed statement; the subject's record is not touched."""
        statement = sign_suspension(
            Suspension(
                registry_id=self.identity.subscriber_id,
                subscriber_id=subscriber_id,
                reason=reason,
                at=now_text(datetime.fromtimestamp(self.clock(), UTC)),
                lifted=lifted,
            ),
            self.identity.signing,
        )
        self.store.add_suspension(statement, self.clock())
        self._index.seq = -1
        return statement


def _until(stored: StoredRecord) -> float:
    return datetime.fromisoformat(stored.record.valid_until.replace("Z", "+00:00")).timestamp()
