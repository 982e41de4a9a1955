"""An in-memory registry behind an ``httpx.MockTransport``, honest or malicious on demand.

It speaks the registry server's HTTP contract (``/identity``, ``/lookup`` signed by the
registry's key, ``/subscribe``) with real keys and real signatures from the protocol core, so
a client under test cannot tell it from a server. Switches make it misbehave the ways a client
must survive: down (connection refused), slow, an error status, an unsigned or wrongly signed
answer, or records rewritten in transit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import msgspec

from supplymesh.protocol import signing
from supplymesh.protocol.ack import nack_body
from supplymesh.protocol.codec import encode_json
from supplymesh.protocol.context import format_timestamp
from supplymesh.protocol.errors import ProtocolError, ReceiverRole
from supplymesh.protocol.keys import EncryptionKeyPair, SigningKeyPair
from supplymesh.protocol.registry import (
    LookupItem,
    LookupRequest,
    RecordPayload,
    SignedRecord,
    SubscribeResponse,
    SubscriberType,
    SubscriptionStatus,
    Suspension,
    decode_registry_body,
    matches,
    sign_record,
)

Rewrite = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]


@dataclass
class FakeRegistry:
    """One registry: its identity, the records it serves, and how it misbehaves."""

    registry_id: str
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    signing: SigningKeyPair = field(default_factory=SigningKeyPair.generate)
    encryption: EncryptionKeyPair = field(default_factory=EncryptionKeyPair.generate)
    unique_key_id: str = "reg-k1"
    records: list[SignedRecord] = field(default_factory=list)
    suspensions: dict[str, Suspension] = field(default_factory=dict)
    # Misbehaviour switches.
    down: bool = False
    delay: float = 0.0
    status: int = 200
    unsigned: bool = False
    response_key: SigningKeyPair | None = None  # sign lookup answers with another key
    rewrite: Rewrite | None = None  # change the items after the subjects signed them
    body: bytes | None = None  # serve (and sign) these bytes instead of the items
    subscribe_error: tuple[int, ProtocolError] | None = None
    # What it was asked.
    lookups: list[LookupRequest] = field(default_factory=list)
    identity_requests: int = 0
    subscriptions: list[SignedRecord] = field(default_factory=list)

    def identity(self) -> SignedRecord:
        """The registry's self-signed BREG record."""
        now = self.clock()
        payload = RecordPayload(
            subscriber_id=self.registry_id,
            subscriber_url=f"http://{self.registry_id}",
            type=SubscriberType.BREG,
            domains=("*",),
            city="*",
            country="IND",
            signing_public_key=self.signing.public_key_b64,
            encr_public_key=self.encryption.public_key_b64,
            unique_key_id=self.unique_key_id,
            valid_from=format_timestamp(now - timedelta(days=1)),
            valid_until=format_timestamp(now + timedelta(days=365)),
            version=1,
        )
        return sign_record(payload, self.signing)

    def publish(self, *records: SignedRecord) -> None:
        """Serve these records (a record replaces the one with the same subject and key id)."""
        for record in records:
            self.records = [
                r
                for r in self.records
                if (r.subscriber_id, r.unique_key_id)
                != (record.subscriber_id, record.unique_key_id)
            ]
            self.records.append(record)

    async def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer one HTTP request as this registry would."""
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        if self.delay:
            await asyncio.sleep(self.delay)
        if request.url.path == "/identity":
            self.identity_requests += 1
            return httpx.Response(200, content=encode_json(self.identity()))
        if request.url.path == "/lookup":
            return self._lookup(request.content)
        if request.url.path == "/subscribe":
            return self._subscribe(request.content)
        return httpx.Response(404)

    def _lookup(self, raw: bytes) -> httpx.Response:
        query = decode_registry_body(raw, LookupRequest)
        self.lookups.append(query)
        if self.status != 200:
            return httpx.Response(self.status, content=b'{"message":{"ack":{"status":"NACK"}}}')
        items = [
            msgspec.to_builtins(self._item(record))
            for record in self.records
            if matches(record.payload, query)
        ]
        if self.rewrite is not None:
            items = self.rewrite(items)
        body = encode_json(items) if self.body is None else self.body
        headers: dict[str, str] = {}
        if not self.unsigned:
            created = int(self.clock().timestamp())
            headers[signing.AUTHORIZATION] = signing.sign(
                body,
                self.response_key or self.signing,
                subscriber_id=self.registry_id,
                unique_key_id=self.unique_key_id,
                created=created,
                expires=created + 60,
            )
        return httpx.Response(200, content=body, headers=headers)

    def _item(self, record: SignedRecord) -> LookupItem:
        fields = msgspec.structs.asdict(record)
        return LookupItem(
            **fields,
            status=SubscriptionStatus.SUBSCRIBED,
            ukId=record.unique_key_id,
            br_id=self.registry_id,
            suspension=self.suspensions.get(record.subscriber_id),
        )

    def _subscribe(self, raw: bytes) -> httpx.Response:
        if self.subscribe_error is not None:
            status, error = self.subscribe_error
            return httpx.Response(status, content=nack_body(error, ReceiverRole.REGISTRY))
        try:
            record = decode_registry_body(raw, SignedRecord)
        except ProtocolError as exc:
            return httpx.Response(400, content=nack_body(exc, ReceiverRole.REGISTRY))
        self.subscriptions.append(record)
        answer = SubscribeResponse(
            status=SubscriptionStatus.INITIATED,
            subscriber_id=record.subscriber_id,
            unique_key_id=record.unique_key_id,
            version=record.version,
            reason="the on_subscribe challenge is pending",
        )
        return httpx.Response(200, content=encode_json(answer))


def registry_transport(registries: Mapping[str, FakeRegistry]) -> httpx.MockTransport:
    """One transport routing ``http://{host}`` to the fake registry registered for that URL."""
    by_host = {httpx.URL(url).host: registry for url, registry in registries.items()}

    async def route(request: httpx.Request) -> httpx.Response:
        registry = by_host.get(request.url.host)
        if registry is None:
            raise httpx.ConnectError(f"no host {request.url.host}", request=request)
        return await registry.handle(request)

    return httpx.MockTransport(route)


def fake_registries(names: Sequence[str], clock: Callable[[], datetime]) -> dict[str, FakeRegistry]:
    """Fake registries by URL (``http://{name}.test``), sharing ``clock``."""
    return {f"http://{name}.test": FakeRegistry(f"{name}.test", clock=clock) for name in names}
