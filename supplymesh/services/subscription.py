"""Putting a node on the network: its signed registry record, subscribing, the challenge, revoking.

A node describes itself once (:class:`SubscriberSettings`), signs that description with its own
key (and, when it rotates to a new key, with the previous key too, so that registries and peers
accept the change), and sends it to one or more registries. Each registry then proves the node
holds its encryption key and controls its URL with an ONDC-style challenge posted to
``{subscriber_url}/on_subscribe``; :func:`answer_challenge` is what that endpoint calls.

Versions default to the signing time in Unix milliseconds, so a node needs no stored counter
to make each new record version higher than the last (registries refuse a version that is not
newer than the one they hold).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import msgspec
from nacl.public import PublicKey

from supplymesh.adapters.registry_client import RegistryError
from supplymesh.protocol.codec import convert, encode_json
from supplymesh.protocol.context import format_timestamp
from supplymesh.protocol.errors import ErrorCode, LocalProtocolError, ProtocolError
from supplymesh.protocol.keys import (
    EncryptionKeyPair,
    KeyFormatError,
    SigningKeyPair,
    encryption_public_key_from_text,
)
from supplymesh.protocol.registry import (
    OnSubscribeRequest,
    OnSubscribeResponse,
    RecordPayload,
    SignedRecord,
    SubscribeResponse,
    SubscriberType,
    decode_registry_body,
    decrypt_challenge,
    sign_record,
)

DEFAULT_VALIDITY = timedelta(days=365)

SubscribeOutcome = tuple[str, SubscribeResponse | RegistryError]
"""One registry's answer: its URL, and its SubscribeResponse or why it failed."""


class RegistryPublisher(Protocol):
    """Sends a signed record to a registry's /subscribe (``RegistryClient`` is one)."""

    async def submit(self, registry_url: str, record: SignedRecord) -> SubscribeResponse:
        """The registry's answer; raises RegistryError when it refuses or cannot be reached."""
        ...


@dataclass(frozen=True, slots=True)
class SubscriberSettings:
    """Who a node is on the network, as its registry record says."""

    subscriber_id: str
    subscriber_url: str
    type: SubscriberType
    domains: tuple[str, ...]
    city: str
    country: str
    unique_key_id: str | None = None
    valid_for: timedelta = DEFAULT_VALIDITY


def key_id_for(key: SigningKeyPair) -> str:
    """A unique_key_id derived from the public key, so a new key always gets a new id."""
    return "k-" + hashlib.blake2b(key.public_key_bytes, digest_size=8).hexdigest()


def version_at(now: datetime) -> int:
    """A record version that grows with time: Unix milliseconds."""
    return int(now.timestamp() * 1000)


def build_record(
    settings: SubscriberSettings,
    signing: SigningKeyPair,
    encryption: EncryptionKeyPair,
    *,
    now: datetime,
    version: int | None = None,
) -> RecordPayload:
    """The record a node signs, checked against the wire schema; LocalProtocolError if not."""
    payload = RecordPayload(
        subscriber_id=settings.subscriber_id,
        subscriber_url=settings.subscriber_url,
        type=settings.type,
        domains=tuple(settings.domains),
        city=settings.city,
        country=settings.country,
        signing_public_key=signing.public_key_b64,
        encr_public_key=encryption.public_key_b64,
        unique_key_id=settings.unique_key_id or key_id_for(signing),
        valid_from=format_timestamp(now),
        valid_until=format_timestamp(now + settings.valid_for),
        version=version if version is not None else version_at(now),
    )
    return _checked(payload)


def sign_subscription(
    settings: SubscriberSettings,
    signing: SigningKeyPair,
    encryption: EncryptionKeyPair,
    *,
    now: datetime,
    version: int | None = None,
    previous: tuple[str, SigningKeyPair] | None = None,
) -> SignedRecord:
    """The node's record signed by its key; ``previous`` (key id, key) endorses a key change."""
    payload = build_record(settings, signing, encryption, now=now, version=version)
    if previous is not None and previous[0] == payload.unique_key_id:
        raise LocalProtocolError(
            f"the new key needs a unique_key_id of its own; {previous[0]!r} is the previous key's"
        )
    return sign_record(payload, signing, previous)


def revoke(
    current: RecordPayload, key: SigningKeyPair, *, now: datetime, version: int | None = None
) -> SignedRecord:
    """A new version of ``current`` marked revoked, signed by its own (current) key."""
    if key.public_key_b64 != current.signing_public_key:
        raise LocalProtocolError("a revocation is signed by the record's current signing key")
    next_version = max(current.version + 1, version if version is not None else version_at(now))
    payload = msgspec.structs.replace(current, version=next_version, revoked=True)
    return sign_record(_checked(payload), key)


async def subscribe(
    record: SignedRecord, registries: Sequence[str], publisher: RegistryPublisher
) -> list[SubscribeOutcome]:
    """Send ``record`` to every registry at once; each one's answer or error, in order."""

    async def one(url: str) -> SubscribeOutcome:
        try:
            return url, await publisher.submit(url, record)
        except RegistryError as exc:
            return url, exc

    return list(await asyncio.gather(*(one(url) for url in registries)))


def answer_challenge(
    own: EncryptionKeyPair,
    body: bytes,
    *,
    registry_key: PublicKey | None = None,
    subscriber_id: str | None = None,
) -> bytes:
    """The /on_subscribe answer (OnSubscribeResponse JSON) to a registry's challenge body.

    The registry's X25519 key comes from the request (``registry_encr_public_key``) or, as
    ONDC sends none, from ``registry_key``. A body that is not a challenge for us raises
    ProtocolError: the endpoint answers it with a NACK.
    """
    request = decode_registry_body(body, OnSubscribeRequest)
    if subscriber_id is not None and request.subscriber_id != subscriber_id:
        raise ProtocolError(
            ErrorCode.INVALID_REQUEST,
            f"the challenge is for {request.subscriber_id!r}; this node is {subscriber_id!r}",
            "$.subscriber_id",
        )
    peer = registry_key
    if request.registry_encr_public_key is not None:
        try:
            peer = encryption_public_key_from_text(request.registry_encr_public_key)
        except KeyFormatError as exc:
            raise ProtocolError(
                ErrorCode.INVALID_REQUEST, str(exc), "$.registry_encr_public_key"
            ) from None
    if peer is None:
        raise ProtocolError(
            ErrorCode.INVALID_REQUEST,
            "the challenge names no registry_encr_public_key and none is configured",
            "$.registry_encr_public_key",
        )
    answer = decrypt_challenge(own, peer, request.challenge)
    return encode_json(OnSubscribeResponse(answer=answer))


def _checked(payload: RecordPayload) -> RecordPayload:
    """The payload after the wire schema's checks (lengths, URL shape, version range)."""
    try:
        return convert(msgspec.to_builtins(payload), RecordPayload, "$")
    except ProtocolError as exc:
        raise LocalProtocolError(f"the record is invalid: {exc.message} (at {exc.path})") from None
