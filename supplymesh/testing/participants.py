"""Participants for tests: key pairs and subject-signed registry records, built in one call."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import msgspec

from supplymesh.protocol.context import format_timestamp
from supplymesh.protocol.keys import EncryptionKeyPair, SigningKeyPair
from supplymesh.protocol.registry import (
    RecordPayload,
    SignedRecord,
    SubscriberType,
    sign_record,
)


@dataclass
class Participant:
    """A network participant's keys and the record it would subscribe with."""

    subscriber_id: str
    url: str
    type: SubscriberType = SubscriberType.BPP
    domains: tuple[str, ...] = ("supplymesh:MFG10",)
    city: str = "std:080"
    country: str = "IND"
    signing: SigningKeyPair = field(default_factory=SigningKeyPair.generate)
    encryption: EncryptionKeyPair = field(default_factory=EncryptionKeyPair.generate)
    unique_key_id: str = "k1"
    version: int = 1
    valid_for: timedelta = timedelta(days=365)

    def payload(self, now: datetime | None = None, **changes: object) -> RecordPayload:
        """The record this participant would sign now."""
        moment = now or datetime.now(UTC)
        payload = RecordPayload(
            subscriber_id=self.subscriber_id,
            subscriber_url=self.url,
            type=self.type,
            domains=self.domains,
            city=self.city,
            country=self.country,
            signing_public_key=self.signing.public_key_b64,
            encr_public_key=self.encryption.public_key_b64,
            unique_key_id=self.unique_key_id,
            valid_from=format_timestamp(moment - timedelta(minutes=1)),
            valid_until=format_timestamp(moment + self.valid_for),
            version=self.version,
        )
        return msgspec.structs.replace(payload, **changes) if changes else payload

    def signed(self, now: datetime | None = None, **changes: object) -> SignedRecord:
        """The record, signed by this participant's key."""
        return sign_record(self.payload(now, **changes), self.signing)

    def rotate(self) -> tuple[str, SigningKeyPair]:
        """Switch to a fresh signing key and version; returns the previous (key id, key)."""
        previous = (self.unique_key_id, self.signing)
        self.signing = SigningKeyPair.generate()
        self.unique_key_id = f"k{self.version + 1}"
        self.version += 1
        return previous
