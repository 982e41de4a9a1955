"""Subscribing a node: its signed record, key rotation, revocation and the on_subscribe answer."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from supplymesh.adapters.registry_client import (
    RegistryClient,
    RegistryRejected,
    RegistryUnavailable,
)
from supplymesh.protocol.codec import encode_json
from supplymesh.protocol.errors import ErrorCode, LocalProtocolError, ProtocolError
from supplymesh.protocol.keys import EncryptionKeyPair, SigningKeyPair
from supplymesh.protocol.registry import (
    OnSubscribeRequest,
    OnSubscribeResponse,
    RecordError,
    RecordRefused,
    SubscriberType,
    SubscriptionStatus,
    check_succession,
    encrypt_challenge,
    verify_record,
)
from supplymesh.services.subscription import (
    SubscriberSettings,
    answer_challenge,
    build_record,
    key_id_for,
    revoke,
    sign_subscription,
    subscribe,
    version_at,
)
from supplymesh.testing.fake_registry import fake_registries, registry_transport

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
SETTINGS = SubscriberSettings(
    subscriber_id="maker.example",
    subscriber_url="https://maker.example/beckn",
    type=SubscriberType.BPP,
    domains=("supplymesh:MFG10",),
    city="std:080",
    country="IND",
)


def test_a_signed_subscription_verifies_and_carries_the_nodes_keys() -> None:
    """The record is signed by the node's key and names its keys, validity and version."""
    signing, encryption = SigningKeyPair.generate(), EncryptionKeyPair.generate()
    record = sign_subscription(SETTINGS, signing, encryption, now=NOW)
    payload = verify_record(record)
    assert payload.signing_public_key == signing.public_key_b64
    assert payload.encr_public_key == encryption.public_key_b64
    assert payload.unique_key_id == key_id_for(signing)
    assert payload.version == version_at(NOW)
    assert payload.valid_range() == (NOW, NOW + timedelta(days=365))


def test_a_later_subscription_gets_a_higher_version_without_a_stored_counter() -> None:
    """Versions follow the signing time, so each new record replaces the last."""
    signing, encryption = SigningKeyPair.generate(), EncryptionKeyPair.generate()
    first = sign_subscription(SETTINGS, signing, encryption, now=NOW)
    later = sign_subscription(SETTINGS, signing, encryption, now=NOW + timedelta(seconds=1))
    check_succession(first.payload, later)


def test_a_key_rotation_is_endorsed_by_the_previous_key() -> None:
    """A new key's record passes the succession check against the previous record."""
    old, new, encryption = (
        SigningKeyPair.generate(),
        SigningKeyPair.generate(),
        EncryptionKeyPair.generate(),
    )
    current = sign_subscription(SETTINGS, old, encryption, now=NOW)
    rotated = sign_subscription(
        SETTINGS,
        new,
        encryption,
        now=NOW + timedelta(minutes=1),
        previous=(current.unique_key_id, old),
    )
    verify_record(rotated)
    check_succession(current.payload, rotated)
    assert rotated.unique_key_id != current.unique_key_id


def test_a_key_rotation_without_the_previous_key_is_refused_by_the_succession_check() -> None:
    """Without the endorsement, registries and peers refuse the new key."""
    old, new, encryption = (
        SigningKeyPair.generate(),
        SigningKeyPair.generate(),
        EncryptionKeyPair.generate(),
    )
    current = sign_subscription(SETTINGS, old, encryption, now=NOW)
    rotated = sign_subscription(SETTINGS, new, encryption, now=NOW + timedelta(minutes=1))
    with pytest.raises(RecordRefused) as caught:
        check_succession(current.payload, rotated)
    assert caught.value.reason is RecordError.NOT_ENDORSED


def test_an_invalid_setting_is_refused_before_anything_is_signed() -> None:
    """A URL without a scheme, say, is our own mistake: LocalProtocolError, not a bad record."""
    settings = dataclasses.replace(SETTINGS, subscriber_url="maker.example")
    with pytest.raises(LocalProtocolError, match="subscriber_url"):
        build_record(settings, SigningKeyPair.generate(), EncryptionKeyPair.generate(), now=NOW)


def test_a_revocation_is_a_newer_version_signed_by_the_current_key() -> None:
    """revoke() marks the record revoked, raises the version and keeps the subject's signature."""
    signing, encryption = SigningKeyPair.generate(), EncryptionKeyPair.generate()
    current = sign_subscription(SETTINGS, signing, encryption, now=NOW)
    revoked = revoke(current.payload, signing, now=NOW + timedelta(seconds=5))
    assert verify_record(revoked).revoked
    check_succession(current.payload, revoked)
    with pytest.raises(LocalProtocolError):
        revoke(current.payload, SigningKeyPair.generate(), now=NOW)


def test_answer_challenge_returns_the_plain_challenge_the_registry_encrypted() -> None:
    """The ONDC challenge round trip: registry encrypts to our key, we answer the plaintext."""
    registry, node = EncryptionKeyPair.generate(), EncryptionKeyPair.generate()
    challenge = encrypt_challenge(registry, node.private_key.public_key, "nonce-42")
    body = encode_json(
        OnSubscribeRequest(
            subscriber_id="maker.example",
            challenge=challenge,
            registry_id="reg.example",
            registry_encr_public_key=registry.public_key_b64,
        )
    )
    answer = answer_challenge(node, body, subscriber_id="maker.example")
    assert msgspec.json.decode(answer, type=OnSubscribeResponse).answer == "nonce-42"


def test_answer_challenge_uses_a_configured_registry_key_when_the_request_names_none() -> None:
    """ONDC's challenge carries no registry key: the node's configuration supplies it."""
    registry, node = EncryptionKeyPair.generate(), EncryptionKeyPair.generate()
    challenge = encrypt_challenge(registry, node.private_key.public_key, "hello")
    body = encode_json(OnSubscribeRequest(subscriber_id="maker.example", challenge=challenge))
    with pytest.raises(ProtocolError, match="registry_encr_public_key"):
        answer_challenge(node, body)
    answer = answer_challenge(node, body, registry_key=registry.private_key.public_key)
    assert msgspec.json.decode(answer, type=OnSubscribeResponse).answer == "hello"


@pytest.mark.parametrize(
    ("body", "subscriber_id"),
    [
        (b"not json", None),
        (b'{"subscriber_id": "maker.example"}', None),
        (
            b'{"subscriber_id": "maker.example", "challenge": "!!", '
            b'"registry_encr_public_key": "AAAA"}',
            None,
        ),
        (b'{"subscriber_id": "someone.else", "challenge": "x"}', "maker.example"),
    ],
)
def test_answer_challenge_refuses_a_body_that_is_not_our_challenge(
    body: bytes, subscriber_id: str | None
) -> None:
    """Garbage, a missing challenge, a bad key or another node's challenge raise ProtocolError."""
    with pytest.raises(ProtocolError):
        answer_challenge(EncryptionKeyPair.generate(), body, subscriber_id=subscriber_id)


def test_answer_challenge_refuses_a_challenge_encrypted_for_another_key() -> None:
    """A challenge we cannot decrypt is refused, never answered with garbage."""
    registry = EncryptionKeyPair.generate()
    challenge = encrypt_challenge(
        registry, EncryptionKeyPair.generate().private_key.public_key, "x" * 40
    )
    body = encode_json(
        OnSubscribeRequest(
            subscriber_id="maker.example",
            challenge=challenge,
            registry_encr_public_key=registry.public_key_b64,
        )
    )
    with pytest.raises(ProtocolError) as caught:
        answer_challenge(EncryptionKeyPair.generate(), body)
    assert caught.value.code is ErrorCode.INVALID_REQUEST


@pytest.mark.anyio
async def test_subscribe_sends_the_record_to_every_registry_and_reports_each_answer() -> None:
    """One accepts, one refuses with a NACK, one is down: three outcomes, none raised."""
    registries = fake_registries(["reg-a", "reg-b", "reg-c"], lambda: NOW)
    registries["http://reg-b.test"].subscribe_error = (
        409,
        ProtocolError(ErrorCode.INVALID_REQUEST, "key-change-not-endorsed: held by another key"),
    )
    registries["http://reg-c.test"].down = True
    record = sign_subscription(
        SETTINGS, SigningKeyPair.generate(), EncryptionKeyPair.generate(), now=NOW
    )
    async with RegistryClient(list(registries), transport=registry_transport(registries)) as client:
        outcomes = dict(await subscribe(record, list(registries), client))
    accepted = outcomes["http://reg-a.test"]
    assert not isinstance(accepted, Exception)
    assert accepted.status is SubscriptionStatus.INITIATED
    assert registries["http://reg-a.test"].subscriptions == [record]
    refused = outcomes["http://reg-b.test"]
    assert isinstance(refused, RegistryRejected)
    assert (refused.http_status, refused.code) == (409, "30000")
    assert "not-endorsed" in refused.message
    assert isinstance(outcomes["http://reg-c.test"], RegistryUnavailable)
