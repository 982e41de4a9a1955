"""Registry records that their subjects sign, so no registry can forge or alter one.

A participant's record (who it is, where it listens, its keys, where it trades) is signed by
the participant itself; a registry only stores and serves it, next to its own verdict
(``status``) and its own, separately signed statements (suspensions). Anyone holding a record
can check it without trusting the registry that served it:

- the **self-signature**: the record's own signing key signed its canonical bytes, so a
  rewritten URL or key is caught;
- the **succession**: a record with a *new* key carries an endorsement signed by the
  subject's previous key, so a registry cannot replace a subject's key with one it made;
- versions only go up, so an old record cannot be replayed over a newer one.

The wire shapes follow the Beckn registry API (``registry.yaml``: subscribe, on_subscribe,
lookup) and ONDC's lookup items (``subscriber_url``, ``ukId``, ``br_id``), with supplymesh's
signature fields added beside them. The on_subscribe challenge follows ONDC: X25519 shared
key, AES-256-ECB with PKCS#7, base64.
"""

from __future__ import annotations

import base64
import binascii
import enum
from datetime import datetime
from typing import Annotated, TypeVar

import msgspec
from nacl.public import PublicKey
from nacl.signing import VerifyKey

from supplymesh.protocol.codec import convert, decode_json
from supplymesh.protocol.context import format_timestamp
from supplymesh.protocol.errors import ErrorCode, ProtocolError
from supplymesh.protocol.keys import (
    EncryptionKeyPair,
    KeyFormatError,
    SigningKeyPair,
    b64encode,
    encryption_public_key_from_text,
    verify_key_from_text,
    verify_signature,
)

RECORD_DOMAIN = b"supplymesh.registry.record.v1\n"
SUSPENSION_DOMAIN = b"supplymesh.registry.suspension.v1\n"
MAX_REGISTRY_BODY_BYTES = 64 * 1024
T = TypeVar("T")

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
Url = Annotated[str, msgspec.Meta(pattern=r"^https?://[^\s/?#]+[^\s]*$", max_length=2048)]


class SubscriberType(enum.StrEnum):
    """What a participant is: buyer app, seller app, gateway or registry."""

    BAP = "BAP"
    BPP = "BPP"
    BG = "BG"
    BREG = "BREG"


class SubscriptionStatus(enum.StrEnum):
    """A registry's verdict on a record (Beckn registry.yaml's enum)."""

    INITIATED = "INITIATED"
    UNDER_SUBSCRIPTION = "UNDER_SUBSCRIPTION"
    SUBSCRIBED = "SUBSCRIBED"
    EXPIRED = "EXPIRED"
    UNSUBSCRIBED = "UNSUBSCRIBED"
    INVALID_SSL = "INVALID_SSL"


class RecordError(enum.StrEnum):
    """Why a record was refused; each is a stable code a registry or client reports."""

    BAD_SIGNATURE = "bad-record-signature"
    BAD_ENDORSEMENT = "bad-endorsement"
    NOT_ENDORSED = "key-change-not-endorsed"
    STALE_VERSION = "stale-version"
    BAD_KEY = "bad-key"
    BAD_VALIDITY = "bad-validity"


class RecordRefused(ProtocolError):
    """A record failed a check; ``reason`` says which."""

    def __init__(self, reason: RecordError, message: str, path: str = "$") -> None:
        super().__init__(
            ErrorCode.INVALID_SIGNATURE
            if reason in _SIGNATURE_REASONS
            else ErrorCode.INVALID_REQUEST,
            f"{reason.value}: {message}",
            path,
        )
        self.reason = reason


_SIGNATURE_REASONS = {RecordError.BAD_SIGNATURE, RecordError.BAD_ENDORSEMENT}


class _Wire(msgspec.Struct, kw_only=True, omit_defaults=True, frozen=True):
    pass


class RecordPayload(_Wire, frozen=True, kw_only=True):
    """What the subject signs: its identity, address, keys, markets and validity."""

    subscriber_id: Name
    subscriber_url: Url
    type: SubscriberType
    domains: tuple[Name, ...]
    city: Name
    country: Name
    signing_public_key: Name
    encr_public_key: Name
    unique_key_id: Name
    valid_from: Name
    valid_until: Name
    version: Annotated[int, msgspec.Meta(ge=1, le=2**53)]
    revoked: bool = False

    def signing_bytes(self) -> bytes:
        """The canonical bytes that are signed: a domain label, then sorted compact JSON."""
        return RECORD_DOMAIN + msgspec.json.encode(self, order="sorted")

    def valid_range(self) -> tuple[datetime, datetime]:
        """valid_from and valid_until as aware datetimes."""
        return parse_time(self.valid_from, "valid_from"), parse_time(
            self.valid_until, "valid_until"
        )

    def verify_key(self) -> VerifyKey:
        """The record's own signing key."""
        try:
            return verify_key_from_text(self.signing_public_key)
        except KeyFormatError as exc:
            raise RecordRefused(RecordError.BAD_KEY, str(exc), "$.signing_public_key") from None

    def encryption_key(self) -> PublicKey:
        """The record's X25519 key, to which the registry encrypts its challenge."""
        try:
            return encryption_public_key_from_text(self.encr_public_key)
        except KeyFormatError as exc:
            raise RecordRefused(RecordError.BAD_KEY, str(exc), "$.encr_public_key") from None


PAYLOAD_FIELDS = frozenset(RecordPayload.__struct_fields__)


class Endorsement(_Wire, frozen=True, kw_only=True):
    """The previous key's signature over a record that changes the subject's key."""

    unique_key_id: Name
    signature: str


class SignedRecord(RecordPayload, frozen=True, kw_only=True):
    """A record with its subject's signature(s), as sent to /subscribe and served by /lookup."""

    signature: str
    endorsement: Endorsement | None = None

    @property
    def payload(self) -> RecordPayload:
        """The signed part, without the signatures."""
        return RecordPayload(
            **{name: getattr(self, name) for name in RecordPayload.__struct_fields__}
        )


class Suspension(_Wire, frozen=True, kw_only=True):
    """A registry's own signed statement that it suspends a participant (never a record edit)."""

    registry_id: Name
    subscriber_id: Name
    reason: str
    at: Name
    lifted: bool = False
    signature: str = ""

    def signing_bytes(self) -> bytes:
        """Canonical bytes of the statement without its signature."""
        body = msgspec.structs.replace(self, signature="")
        return SUSPENSION_DOMAIN + msgspec.json.encode(body, order="sorted")


class LookupItem(SignedRecord, frozen=True, kw_only=True):
    """One record in a lookup answer: the signed record, the registry's verdict beside it."""

    status: SubscriptionStatus
    ukId: str | None = None  # ONDC calls unique_key_id ukId
    domain: str | None = None  # Beckn lookup items carry one domain
    br_id: str | None = None
    created: str | None = None
    updated: str | None = None
    suspension: Suspension | None = None

    @property
    def record(self) -> SignedRecord:
        """The subject-signed record alone."""
        return SignedRecord(
            **{name: getattr(self, name) for name in SignedRecord.__struct_fields__}
        )


class LookupRequest(_Wire, frozen=True, kw_only=True):
    """Beckn lookup filters; every given field must match."""

    subscriber_id: str | None = None
    type: SubscriberType | None = None
    domain: str | None = None
    city: str | None = None
    country: str | None = None
    unique_key_id: str | None = None
    ukId: str | None = None

    @property
    def key_id(self) -> str | None:
        """The unique_key_id filter, by either name."""
        return self.unique_key_id or self.ukId


class OnSubscribeRequest(_Wire, frozen=True, kw_only=True):
    """The registry's challenge to a subscriber (ONDC: subscriber_id + challenge)."""

    subscriber_id: str
    challenge: str
    registry_id: str | None = None
    registry_encr_public_key: str | None = None


class OnSubscribeResponse(_Wire, frozen=True, kw_only=True):
    """The subscriber's answer: the decrypted challenge."""

    answer: str


class SubscribeResponse(_Wire, frozen=True, kw_only=True):
    """What /subscribe answers once the record's signatures checked out."""

    status: SubscriptionStatus
    subscriber_id: str
    unique_key_id: str
    version: int
    reason: str | None = None


class FeedEntry(_Wire, frozen=True, kw_only=True):
    """One change in a registry's feed: a subscribed record version, in the order applied."""

    seq: int
    record: SignedRecord


class Feed(_Wire, frozen=True, kw_only=True):
    """A page of a registry's change feed (``GET /feed?after=SEQ``)."""

    entries: tuple[FeedEntry, ...]
    last_seq: int


def parse_time(text: str, name: str) -> datetime:
    """An RFC 3339 timestamp with an offset; naive ones are refused."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise RecordRefused(
            RecordError.BAD_VALIDITY, f"{name} is not RFC 3339: {text!r}", f"$.{name}"
        ) from None
    if moment.tzinfo is None:
        raise RecordRefused(RecordError.BAD_VALIDITY, f"{name} has no UTC offset", f"$.{name}")
    return moment


def sign_record(
    payload: RecordPayload, key: SigningKeyPair, previous: tuple[str, SigningKeyPair] | None = None
) -> SignedRecord:
    """Sign ``payload`` with its own key; on a key change, also with the previous one."""
    if key.public_key_b64 != payload.signing_public_key:
        raise ValueError("a record is signed with its own signing key")
    data = payload.signing_bytes()
    endorsement = None
    if previous is not None:
        endorsement = Endorsement(
            unique_key_id=previous[0], signature=b64encode(previous[1].sign(data))
        )
    return SignedRecord(
        **msgspec.structs.asdict(payload),
        signature=b64encode(key.sign(data)),
        endorsement=endorsement,
    )


def _check(key: VerifyKey, data: bytes, signature_b64: str) -> bool:
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except (binascii.Error, ValueError):
        return False
    return verify_signature(key, data, signature)


def verify_record(record: SignedRecord) -> RecordPayload:
    """Check the record's self-signature and validity range; return the signed payload."""
    payload = record.payload
    start, end = payload.valid_range()
    if end <= start:
        raise RecordRefused(
            RecordError.BAD_VALIDITY, "valid_until is not after valid_from", "$.valid_until"
        )
    if not _check(payload.verify_key(), payload.signing_bytes(), record.signature):
        raise RecordRefused(
            RecordError.BAD_SIGNATURE,
            f"{payload.subscriber_id}'s record (key {payload.unique_key_id}, version "
            f"{payload.version}) is not signed by its own signing key",
            "$.signature",
        )
    payload.encryption_key()
    return payload


def check_succession(current: RecordPayload | None, new: SignedRecord) -> None:
    """Refuse ``new`` unless it may follow ``current``: newer, and endorsed if the key changes.

    ``new``'s own signature must already have been checked with :func:`verify_record`.
    """
    if current is None:
        return
    if new.version <= current.version:
        raise RecordRefused(
            RecordError.STALE_VERSION,
            f"version {new.version} is not newer than the current version {current.version}",
            "$.version",
        )
    if new.signing_public_key == current.signing_public_key:
        return
    if new.endorsement is None:
        raise RecordRefused(
            RecordError.NOT_ENDORSED,
            f"{new.subscriber_id} is held by key {current.unique_key_id}; a new key must be "
            "endorsed by it",
            "$.endorsement",
        )
    if new.endorsement.unique_key_id != current.unique_key_id or not _check(
        current.verify_key(), new.payload.signing_bytes(), new.endorsement.signature
    ):
        raise RecordRefused(
            RecordError.BAD_ENDORSEMENT,
            f"the endorsement is not a signature by the current key {current.unique_key_id}",
            "$.endorsement",
        )


def sign_suspension(statement: Suspension, key: SigningKeyPair) -> Suspension:
    """The statement with the registry's signature."""
    return msgspec.structs.replace(
        statement, signature=b64encode(key.sign(statement.signing_bytes()))
    )


def verify_suspension(statement: Suspension, registry_key: VerifyKey) -> bool:
    """True when the registry whose key is given signed the statement."""
    return _check(registry_key, statement.signing_bytes(), statement.signature)


def matches(payload: RecordPayload, query: LookupRequest) -> bool:
    """True when the record satisfies every filter the query gives."""
    return (
        (query.subscriber_id is None or payload.subscriber_id == query.subscriber_id)
        and (query.type is None or payload.type == query.type)
        and (query.domain is None or query.domain in payload.domains or "*" in payload.domains)
        and (query.city is None or payload.city in (query.city, "*"))
        and (query.country is None or payload.country == query.country)
        and (query.key_id is None or payload.unique_key_id == query.key_id)
    )


# The on_subscribe challenge, as ONDC does it: AES-256-ECB under the raw X25519 shared secret.


def encrypt_challenge(own: EncryptionKeyPair, peer: PublicKey, challenge: str) -> str:
    """Encrypt ``challenge`` for ``peer`` (base64 of AES-256-ECB, PKCS#7)."""
    # Imported on first use (~7 MB): a node that is already subscribed never needs AES.
    from cryptography.hazmat.primitives import padding  # noqa: PLC0415
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes  # noqa: PLC0415

    padder = padding.PKCS7(128).padder()
    data = padder.update(challenge.encode()) + padder.finalize()
    encryptor = Cipher(algorithms.AES256(own.shared_secret(peer)), modes.ECB()).encryptor()  # noqa: S305 - ONDC's scheme
    return b64encode(encryptor.update(data) + encryptor.finalize())


def decrypt_challenge(own: EncryptionKeyPair, peer: PublicKey, ciphertext_b64: str) -> str:
    """Decrypt a challenge sent by ``peer``; raise ProtocolError if it is not one."""
    # Imported on first use (~7 MB): a node that is already subscribed never needs AES.
    from cryptography.hazmat.primitives import padding  # noqa: PLC0415
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes  # noqa: PLC0415

    try:
        data = base64.b64decode(ciphertext_b64, validate=True)
        decryptor = Cipher(algorithms.AES256(own.shared_secret(peer)), modes.ECB()).decryptor()  # noqa: S305
        padded = decryptor.update(data) + decryptor.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        return (unpadder.update(padded) + unpadder.finalize()).decode()
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise ProtocolError(
            ErrorCode.INVALID_REQUEST, "the challenge does not decrypt with our key", "$.challenge"
        ) from None


def decode_registry_body(raw: bytes, type_: type[T], max_bytes: int = MAX_REGISTRY_BODY_BYTES) -> T:
    """Decode a registry API body into ``type_``; faults raise ProtocolError with their path."""
    tree = decode_json(raw, max_bytes)
    if not isinstance(tree, dict):
        raise ProtocolError(ErrorCode.SCHEMA_VIOLATION, "the body must be a JSON object", "$")
    return convert(tree, type_, "$")


def now_text(now: datetime) -> str:
    """A timestamp for a registry field."""
    return format_timestamp(now)
