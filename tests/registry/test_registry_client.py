"""The registry client against fake registries with real keys: failover, forgeries, key cache."""

from __future__ import annotations

import asyncio
import logging
import os
import stat
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest

from supplymesh.adapters.registry_cache import CacheEntry, FileKeyCache, InMemoryKeyCache
from supplymesh.adapters.registry_client import RegistryClient, RegistryUnavailable
from supplymesh.protocol.keys import SigningKeyPair
from supplymesh.protocol.registry import (
    LookupRequest,
    SignedRecord,
    Suspension,
    sign_record,
    sign_suspension,
)
from supplymesh.testing.fake_registry import FakeRegistry, fake_registries, registry_transport
from supplymesh.testing.participants import Participant

pytestmark = pytest.mark.anyio

A, B = "http://reg-a.test", "http://reg-b.test"
LOGGER = "supplymesh.registry_client"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    """A hand-moved clock shared by the registries and the client."""
    return Clock()


@pytest.fixture
def registries(clock: Clock) -> dict[str, FakeRegistry]:
    """Two honest fake registries, reg-a and reg-b."""
    return fake_registries(["reg-a", "reg-b"], clock)


@pytest.fixture
def peer(clock: Clock, registries: dict[str, FakeRegistry]) -> Participant:
    """A seller whose signed record both registries serve."""
    seller = Participant("seller.example", "https://seller.example/beckn")
    for registry in registries.values():
        registry.publish(seller.signed(clock.now))
    return seller


ClientFactory = Callable[..., RegistryClient]


@pytest.fixture
async def make_client(
    clock: Clock, registries: dict[str, FakeRegistry]
) -> AsyncIterator[ClientFactory]:
    """Builds clients on the fake registries' transport; closes them at the end."""
    clients: list[RegistryClient] = []

    def make(**options: Any) -> RegistryClient:
        options.setdefault("cache", InMemoryKeyCache())
        client = RegistryClient(
            options.pop("urls", [A, B]),
            transport=registry_transport(registries),
            clock=clock,
            **options,
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


def lookups(registry: FakeRegistry) -> int:
    return len(registry.lookups)


def dropped(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("dropped")]


# -- failover ------------------------------------------------------------------------------


async def test_lookup_returns_the_records_their_subjects_signed(
    make_client: ClientFactory, peer: Participant, registries: dict[str, FakeRegistry]
) -> None:
    """An honest registry's records come back whole, and only the first registry is asked."""
    items = await make_client().lookup(LookupRequest(subscriber_id=peer.subscriber_id))
    assert [i.record.signing_public_key for i in items] == [peer.signing.public_key_b64]
    assert items[0].subscriber_url == peer.url
    assert (lookups(registries[A]), lookups(registries[B])) == (1, 0)


async def test_lookup_fails_over_when_a_registry_refuses_connections(
    make_client: ClientFactory, peer: Participant, registries: dict[str, FakeRegistry]
) -> None:
    """A registry that is down is skipped and the next one answers."""
    registries[A].down = True
    items = await make_client().lookup(LookupRequest(subscriber_id=peer.subscriber_id))
    assert len(items) == 1
    assert lookups(registries[B]) == 1


async def test_lookup_fails_over_when_a_registry_is_slower_than_the_timeout(
    make_client: ClientFactory, peer: Participant, registries: dict[str, FakeRegistry]
) -> None:
    """A registry that does not answer within the per-registry timeout is skipped."""
    registries[A].delay = 5.0
    items = await make_client(timeout=0.05).lookup(LookupRequest(subscriber_id=peer.subscriber_id))
    assert len(items) == 1
    assert lookups(registries[B]) == 1


async def test_lookup_fails_over_when_a_registry_answers_an_error_status(
    make_client: ClientFactory, peer: Participant, registries: dict[str, FakeRegistry]
) -> None:
    """A non-200 answer sends the client to the next registry."""
    registries[A].status = 503
    items = await make_client().lookup(LookupRequest(subscriber_id=peer.subscriber_id))
    assert len(items) == 1
    assert lookups(registries[B]) == 1


async def test_lookup_skips_an_answer_signed_by_another_key(
    make_client: ClientFactory, peer: Participant, registries: dict[str, FakeRegistry]
) -> None:
    """An answer whose Authorization does not verify with the registry's key is not used."""
    registries[A].response_key = SigningKeyPair.generate()
    client = make_client()
    items = await client.lookup(LookupRequest(subscriber_id=peer.subscriber_id))
    assert len(items) == 1
    assert lookups(registries[B]) == 1
    registries[B].down = True
    with pytest.raises(RegistryUnavailable, match="bad-signature"):
        await client.lookup(LookupRequest(subscriber_id=peer.subscriber_id))


async def test_lookup_skips_an_unsigned_answer(
    make_client: ClientFactory, peer: Participant, registries: dict[str, FakeRegistry]
) -> None:
    """An answer without an Authorization header is not used."""
    registries[A].unsigned = True
    registries[B].unsigned = True
    with pytest.raises(RegistryUnavailable, match="not signed") as caught:
        await make_client().lookup(LookupRequest(subscriber_id=peer.subscriber_id))
    assert [f.url for f in caught.value.failures] == [A, B]


async def test_lookup_skips_a_signed_answer_that_is_not_a_list_of_records(
    make_client: ClientFactory, peer: Participant, registries: dict[str, FakeRegistry]
) -> None:
    """A body that is not JSON, or not an array, sends the client to the next registry."""
    registries[A].body = b"<html>oops</html>"
    registries[B].body = b'{"records": []}'
    with pytest.raises(RegistryUnavailable) as caught:
        await make_client().lookup(LookupRequest(subscriber_id=peer.subscriber_id))
    reasons = [f.reason for f in caught.value.failures]
    assert "not valid UTF-8 JSON" in reasons[0]
    assert "not a JSON array" in reasons[1]


async def test_lookup_raises_registry_unavailable_naming_each_registry_and_its_failure(
    make_client: ClientFactory, registries: dict[str, FakeRegistry]
) -> None:
    """When none answers, the error lists every registry with its own reason."""
    registries[A].down = True
    registries[B].status = 500
    with pytest.raises(RegistryUnavailable) as caught:
        await make_client().lookup(LookupRequest(subscriber_id="anyone"))
    message = str(caught.value)
    assert f"{A}: ConnectError" in message
    assert f"{B}: HTTP 500" in message


async def test_a_registry_that_failed_is_asked_last_until_retry_after_passes(
    make_client: ClientFactory, clock: Clock, peer: Participant, registries: dict[str, FakeRegistry]
) -> None:
    """After a failure the healthy registry is asked first, then the order returns."""
    client = make_client(retry_after=timedelta(seconds=30))
    registries[A].down = True
    await client.lookup(LookupRequest(subscriber_id=peer.subscriber_id))
    registries[A].down = False
    await client.lookup(LookupRequest(subscriber_id=peer.subscriber_id))
    assert (lookups(registries[A]), lookups(registries[B])) == (0, 2)
    clock.advance(seconds=31)
    await client.lookup(LookupRequest(subscriber_id=peer.subscriber_id))
    assert (lookups(registries[A]), lookups(registries[B])) == (1, 2)


# -- forgeries -----------------------------------------------------------------------------


def rewrite_field(name: str, value: object) -> Callable[[list[dict[str, Any]]], Any]:
    def rewrite(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{**item, name: value} for item in items]

    return rewrite


async def test_a_record_with_a_rewritten_subscriber_url_is_dropped_and_logged(
    make_client: ClientFactory,
    peer: Participant,
    registries: dict[str, FakeRegistry],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A registry that redirects a seller's traffic is caught by the seller's own signature."""
    for registry in registries.values():
        registry.rewrite = rewrite_field("subscriber_url", "https://evil.example/beckn")
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        items = await make_client().lookup(LookupRequest(subscriber_id=peer.subscriber_id))
    assert items == []
    assert len(dropped(caplog)) == 2
    assert "bad-record-signature" in dropped(caplog)[0]


async def test_a_record_whose_key_was_swapped_without_re_signing_is_dropped(
    make_client: ClientFactory, peer: Participant, registries: dict[str, FakeRegistry]
) -> None:
    """A record whose signing key was replaced in transit no longer verifies."""
    registries[A].rewrite = rewrite_field(
        "signing_public_key", SigningKeyPair.generate().public_key_b64
    )
    registries[B].down = True
    assert await make_client().lookup(LookupRequest(subscriber_id=peer.subscriber_id)) == []


async def test_a_known_subject_re_signed_with_a_registry_made_key_is_dropped_and_another_asked(
    make_client: ClientFactory,
    clock: Clock,
    peer: Participant,
    registries: dict[str, FakeRegistry],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A self-consistent record with a key the subject never endorsed is a forgery."""
    client = make_client()
    await client.lookup(LookupRequest(subscriber_id=peer.subscriber_id))
    evil = SigningKeyPair.generate()
    forged = peer.payload(clock.now, signing_public_key=evil.public_key_b64, version=2)
    registries[A].publish(sign_record(forged, evil))
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        items = await client.lookup(LookupRequest(subscriber_id=peer.subscriber_id))
    assert [i.signing_public_key for i in items] == [peer.signing.public_key_b64]
    assert lookups(registries[B]) == 1
    assert "not endorsed by a key trusted" in dropped(caplog)[0]
    assert await client.verify_key(peer.subscriber_id, "k1") is not None
    assert bytes(await client.verify_key(peer.subscriber_id, "k1") or b"") == (
        peer.signing.public_key_bytes
    )


async def test_a_new_key_for_a_known_subject_without_endorsement_is_dropped(
    make_client: ClientFactory, clock: Clock, peer: Participant, registries: dict[str, FakeRegistry]
) -> None:
    """A record its subject never signed with a trusted key (a new key id, no endorsement)."""
    client = make_client()
    await client.lookup(LookupRequest(subscriber_id=peer.subscriber_id))
    impostor = Participant(peer.subscriber_id, peer.url, unique_key_id="k2", version=2)
    registries[A].publish(impostor.signed(clock.now))
    registries[B].down = True
    assert await client.verify_key(peer.subscriber_id, "k2") is None
    items = await client.lookup(LookupRequest(subscriber_id=peer.subscriber_id))
    assert [i.unique_key_id for i in items] == ["k1"]


async def test_a_forged_endorsement_is_dropped(
    make_client: ClientFactory, clock: Clock, peer: Participant, registries: dict[str, FakeRegistry]
) -> None:
    """An endorsement naming the trusted key id but signed by another key does not pass."""
    client = make_client()
    await client.lookup(LookupRequest(subscriber_id=peer.subscriber_id))
    impostor = Participant(peer.subscriber_id, peer.url, unique_key_id="k2", version=2)
    record = sign_record(
        impostor.payload(clock.now), impostor.signing, ("k1", SigningKeyPair.generate())
    )
    registries[A].publish(record)
    registries[B].down = True
    assert await client.verify_key(peer.subscriber_id, "k2") is None


async def test_a_key_rotation_endorsed_by_the_trusted_key_is_accepted(
    make_client: ClientFactory, clock: Clock, peer: Participant, registries: dict[str, FakeRegistry]
) -> None:
    """A new key signed over by the subject's current key replaces it."""
    client = make_client()
    await client.lookup(LookupRequest(subscriber_id=peer.subscriber_id))
    previous = peer.rotate()
    registries[A].publish(sign_record(peer.payload(clock.now), peer.signing, previous))
    key = await client.verify_key(peer.subscriber_id, peer.unique_key_id)
    assert key is not None
    assert bytes(key) == peer.signing.public_key_bytes
    current = await client.subscriber(peer.subscriber_id)
    assert current is not None
    assert current.unique_key_id == peer.unique_key_id


async def test_the_previous_key_still_verifies_by_its_key_id_after_a_rotation(
    make_client: ClientFactory, clock: Clock, peer: Participant, registries: dict[str, FakeRegistry]
) -> None:
    """A client that met the subject after the rotation accepts the old key its new key names."""
    old_key = peer.signing
    previous = peer.rotate()
    for registry in registries.values():
        registry.publish(sign_record(peer.payload(clock.now), peer.signing, previous))
    client = make_client()
    await client.lookup(LookupRequest(subscriber_id=peer.subscriber_id, unique_key_id="k2"))
    key = await client.verify_key(peer.subscriber_id, "k1")
    assert key is not None
    assert bytes(key) == old_key.public_key_bytes


async def test_an_older_version_of_a_known_record_is_dropped_as_a_replay(
    make_client: ClientFactory, clock: Clock, peer: Participant, registries: dict[str, FakeRegistry]
) -> None:
    """A registry cannot roll a subject back to an older address it once signed."""
    old = peer.signed(clock.now)
    moved = peer.signed(clock.now, subscriber_url="https://new.seller.example/beckn", version=2)
    registries[A].publish(moved)
    client = make_client()
    await client.lookup(LookupRequest(subscriber_id=peer.subscriber_id))
    registries[A].publish(old)
    registries[B].down = True
    assert await client.lookup(LookupRequest(subscriber_id=peer.subscriber_id)) == []
    current = await client.subscriber(peer.subscriber_id)
    assert current is not None
    assert current.subscriber_url == "https://new.seller.example/beckn"


async def test_a_record_for_another_subject_than_asked_is_dropped(
    make_client: ClientFactory, clock: Clock, peer: Participant, registries: dict[str, FakeRegistry]
) -> None:
    """Records that do not match the query are not returned (nor cached)."""
    other = Participant("other.example", "https://other.example")
    registries[A].rewrite = lambda items: [
        *items,
        msgspec.to_builtins(registries[A]._item(other.signed(clock.now))),
    ]
    items = await make_client().lookup(LookupRequest(subscriber_id=peer.subscriber_id))
    assert [i.subscriber_id for i in items] == [peer.subscriber_id]


async def test_a_suspension_signed_by_the_registry_is_kept_and_a_forged_one_stripped(
    make_client: ClientFactory, clock: Clock, peer: Participant, registries: dict[str, FakeRegistry]
) -> None:
    """Suspensions are the registry's own signed statements; unsigned claims are removed."""
    statement = Suspension(
        registry_id=registries[A].registry_id,
        subscriber_id=peer.subscriber_id,
        reason="spam",
        at=clock.now.isoformat(),
    )
    registries[A].suspensions[peer.subscriber_id] = sign_suspension(
        statement, registries[A].signing
    )
    registries[B].suspensions[peer.subscriber_id] = sign_suspension(
        statement, SigningKeyPair.generate()
    )
    client = make_client()
    [kept] = await client.lookup(LookupRequest(subscriber_id=peer.subscriber_id))
    assert kept.suspension is not None
    registries[A].down = True
    [stripped] = await client.lookup(LookupRequest(subscriber_id=peer.subscriber_id))
    assert stripped.suspension is None


async def test_the_registry_key_is_pinned_at_first_contact(
    make_client: ClientFactory, peer: Participant, registries: dict[str, FakeRegistry]
) -> None:
    """A registry whose key changes without an endorsement is no longer believed."""
    client = make_client(urls=[A])
    await client.lookup(LookupRequest(subscriber_id=peer.subscriber_id))
    await client.lookup(LookupRequest(subscriber_id=peer.subscriber_id))
    assert registries[A].identity_requests == 1
    registries[A].signing = SigningKeyPair.generate()
    with pytest.raises(RegistryUnavailable, match="bad-signature"):
        await client.lookup(LookupRequest(subscriber_id=peer.subscriber_id))


async def test_a_registry_key_rotation_endorsed_by_the_pinned_key_is_followed(
    make_client: ClientFactory, clock: Clock, peer: Participant, registries: dict[str, FakeRegistry]
) -> None:
    """A response signed by a new registry key id makes the client fetch and check /identity."""
    client = make_client(urls=[A])
    await client.lookup(LookupRequest(subscriber_id=peer.subscriber_id))
    registry = registries[A]
    old_key, old_identity = registry.signing, registry.identity()
    registry.signing, registry.unique_key_id = SigningKeyPair.generate(), "reg-k2"
    new_payload = msgspec.structs.replace(registry.identity().payload, version=2)
    rotated = sign_record(new_payload, registry.signing, (old_identity.unique_key_id, old_key))
    registry.identity = lambda: rotated  # type: ignore[method-assign]
    assert len(await client.lookup(LookupRequest(subscriber_id=peer.subscriber_id))) == 1
    pinned = client.cache.registry_identity(A)
    assert pinned is not None
    assert pinned.unique_key_id == "reg-k2"


async def test_a_configured_registry_key_refuses_a_registry_with_another_key(
    make_client: ClientFactory, peer: Participant, registries: dict[str, FakeRegistry]
) -> None:
    """A key pinned in the configuration wins over what /identity says."""
    client = make_client(registry_keys={A: SigningKeyPair.generate().public_key_b64})
    await client.lookup(LookupRequest(subscriber_id=peer.subscriber_id))
    assert (lookups(registries[A]), lookups(registries[B])) == (0, 1)


async def test_a_configured_registry_key_overrides_the_key_pinned_at_first_contact(
    make_client: ClientFactory, peer: Participant, registries: dict[str, FakeRegistry]
) -> None:
    """An operator who re-keys a registry tells clients by configuration, not by endorsement."""
    cache = InMemoryKeyCache()
    await make_client(cache=cache, urls=[A]).lookup(LookupRequest(subscriber_id=peer.subscriber_id))
    registries[A].signing = SigningKeyPair.generate()
    client = make_client(
        cache=cache, urls=[A], registry_keys={A: registries[A].signing.public_key_b64}
    )
    assert len(await client.lookup(LookupRequest(subscriber_id=peer.subscriber_id))) == 1


async def test_a_subject_whose_trusted_records_all_expired_may_start_over_with_a_new_key(
    make_client: ClientFactory, clock: Clock, registries: dict[str, FakeRegistry]
) -> None:
    """Pins last as long as the records that made them: a lost key is not a life sentence."""
    old = Participant("p.example", "https://p.example", valid_for=timedelta(days=1))
    registries[A].publish(old.signed(clock.now))
    client = make_client()
    assert await client.verify_key("p.example", "k1") is not None
    clock.advance(days=2)
    fresh = Participant("p.example", "https://p.example", unique_key_id="k9", version=9)
    registries[A].publish(fresh.signed(clock.now))
    assert await client.verify_key("p.example", "k9") is not None


# -- the key cache -------------------------------------------------------------------------


async def test_verify_key_answers_from_the_cache_until_the_ttl_passes(
    make_client: ClientFactory, clock: Clock, peer: Participant, registries: dict[str, FakeRegistry]
) -> None:
    """One lookup per key per TTL, however many messages arrive."""
    client = make_client(key_ttl=timedelta(hours=1))
    for _ in range(5):
        assert await client.verify_key(peer.subscriber_id, "k1") is not None
    assert lookups(registries[A]) == 1
    clock.advance(minutes=59)
    await client.verify_key(peer.subscriber_id, "k1")
    assert lookups(registries[A]) == 1
    clock.advance(minutes=2)
    await client.verify_key(peer.subscriber_id, "k1")
    assert lookups(registries[A]) == 2


async def test_the_ttl_never_outlives_the_records_valid_until(
    make_client: ClientFactory, clock: Clock, registries: dict[str, FakeRegistry]
) -> None:
    """A key is refreshed at its valid_until and refused once that has passed."""
    short = Participant("short.example", "https://short.example", valid_for=timedelta(minutes=10))
    registries[A].publish(short.signed(clock.now))
    client = make_client(key_ttl=timedelta(hours=1))
    assert await client.verify_key("short.example", "k1") is not None
    clock.advance(minutes=11)
    assert await client.verify_key("short.example", "k1") is None
    assert lookups(registries[A]) == 2


async def test_an_unknown_key_is_looked_up_at_most_once_per_negative_ttl(
    make_client: ClientFactory, clock: Clock, peer: Participant, registries: dict[str, FakeRegistry]
) -> None:
    """Misses are remembered: a flood of messages from an unknown key costs one lookup."""
    client = make_client(negative_ttl=timedelta(seconds=60))
    for _ in range(10):
        assert await client.verify_key(peer.subscriber_id, "k-unknown") is None
    assert lookups(registries[A]) == 1
    clock.advance(seconds=61)
    assert await client.verify_key(peer.subscriber_id, "k-unknown") is None
    assert lookups(registries[A]) == 2


async def test_concurrent_calls_for_one_key_share_one_lookup(
    make_client: ClientFactory, peer: Participant, registries: dict[str, FakeRegistry]
) -> None:
    """Messages arriving together from a new peer wait for a single lookup."""
    registries[A].delay = 0.02
    client = make_client()
    keys = await asyncio.gather(*(client.verify_key(peer.subscriber_id, "k1") for _ in range(20)))
    assert all(key is not None for key in keys)
    assert lookups(registries[A]) == 1


async def test_verify_key_falls_back_on_a_stale_key_when_every_registry_is_down(
    make_client: ClientFactory,
    clock: Clock,
    peer: Participant,
    registries: dict[str, FakeRegistry],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A node keeps trading with a known peer through a registry outage, with a warning."""
    client = make_client(key_ttl=timedelta(hours=1))
    assert await client.verify_key(peer.subscriber_id, "k1") is not None
    for registry in registries.values():
        registry.down = True
    clock.advance(hours=5)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        key = await client.verify_key(peer.subscriber_id, "k1")
    assert key is not None
    assert any("using the cached key" in r.getMessage() for r in caplog.records)


async def test_verify_key_returns_none_for_an_unknown_key_when_every_registry_is_down(
    make_client: ClientFactory, registries: dict[str, FakeRegistry]
) -> None:
    """An outage never raises out of the key resolver."""
    for registry in registries.values():
        registry.down = True
    client = make_client()
    assert await client.verify_key("nobody.example", "k1") is None
    assert await client.encryption_key("nobody.example", "k1") is None
    assert await client.subscriber("nobody.example") is None


async def test_a_registry_that_no_longer_lists_a_cached_key_does_not_revoke_it(
    make_client: ClientFactory, clock: Clock, peer: Participant, registries: dict[str, FakeRegistry]
) -> None:
    """Only a subject-signed revocation ends a key; a registry's silence does not."""
    client = make_client(key_ttl=timedelta(minutes=5))
    assert await client.verify_key(peer.subscriber_id, "k1") is not None
    for registry in registries.values():
        registry.records.clear()
    clock.advance(minutes=6)
    assert await client.verify_key(peer.subscriber_id, "k1") is not None


async def test_a_subject_signed_revocation_ends_its_keys(
    make_client: ClientFactory, clock: Clock, peer: Participant, registries: dict[str, FakeRegistry]
) -> None:
    """After a revoked version, neither that key nor older ones verify."""
    client = make_client(key_ttl=timedelta(minutes=5))
    assert await client.verify_key(peer.subscriber_id, "k1") is not None
    registries[A].publish(peer.signed(clock.now, version=2, revoked=True))
    clock.advance(minutes=6)
    assert await client.verify_key(peer.subscriber_id, "k1") is None
    assert await client.subscriber(peer.subscriber_id) is None


async def test_a_revocation_also_ends_the_keys_the_subject_rotated_away_from(
    make_client: ClientFactory, clock: Clock, peer: Participant, registries: dict[str, FakeRegistry]
) -> None:
    """A revoked current key takes its predecessors, still within valid_until, with it."""
    previous = peer.rotate()
    for registry in registries.values():
        registry.publish(sign_record(peer.payload(clock.now), peer.signing, previous))
    client = make_client(key_ttl=timedelta(minutes=5))
    assert await client.verify_key(peer.subscriber_id, "k1") is not None
    assert await client.verify_key(peer.subscriber_id, "k2") is not None
    registries[A].publish(peer.signed(clock.now, version=3, revoked=True))
    clock.advance(minutes=6)
    assert await client.verify_key(peer.subscriber_id, "k2") is None
    assert await client.verify_key(peer.subscriber_id, "k1") is None


async def test_encryption_key_and_subscriber_come_from_the_verified_record(
    make_client: ClientFactory, peer: Participant
) -> None:
    """The helpers return the subject's own X25519 key and current record."""
    client = make_client()
    key = await client.encryption_key(peer.subscriber_id, "k1")
    assert key is not None
    assert bytes(key) == peer.encryption.public_key_bytes
    record = await client.subscriber(peer.subscriber_id)
    assert record is not None
    assert record.subscriber_url == peer.url
    assert client.cached_verify_key(peer.subscriber_id, "k1") is not None


# -- persistence ---------------------------------------------------------------------------


async def test_a_new_client_verifies_known_peers_from_the_cache_file_with_every_registry_down(
    make_client: ClientFactory,
    clock: Clock,
    peer: Participant,
    registries: dict[str, FakeRegistry],
    tmp_path: Path,
) -> None:
    """A node that restarts during a registry outage still knows its peers' keys."""
    path = tmp_path / "cache" / "keys.json"
    first = make_client(cache=FileKeyCache(path))
    assert await first.verify_key(peer.subscriber_id, "k1") is not None
    await first.aclose()
    for registry in registries.values():
        registry.down = True
    clock.advance(hours=3)
    second = make_client(cache=FileKeyCache(path))
    key = await second.verify_key(peer.subscriber_id, "k1")
    assert key is not None
    assert bytes(key) == peer.signing.public_key_bytes


async def test_registry_pins_survive_a_restart(
    make_client: ClientFactory,
    peer: Participant,
    registries: dict[str, FakeRegistry],
    tmp_path: Path,
) -> None:
    """A restarted client does not trust a registry's new unendorsed key on its second meeting."""
    path = tmp_path / "keys.json"
    await make_client(cache=FileKeyCache(path), urls=[A]).lookup(
        LookupRequest(subscriber_id=peer.subscriber_id)
    )
    registries[A].signing = SigningKeyPair.generate()
    with pytest.raises(RegistryUnavailable):
        await make_client(cache=FileKeyCache(path), urls=[A]).lookup(
            LookupRequest(subscriber_id=peer.subscriber_id)
        )


async def test_the_cache_file_is_written_atomically_with_mode_0600(
    make_client: ClientFactory, peer: Participant, tmp_path: Path
) -> None:
    """Only the owner can read or write the cache, and no temporary file is left behind."""
    path = tmp_path / "keys.json"
    await make_client(cache=FileKeyCache(path)).verify_key(peer.subscriber_id, "k1")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keys.json"]


def test_a_corrupt_cache_file_is_logged_set_aside_and_ignored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A half-written or garbage file never stops a node from starting."""
    path = tmp_path / "keys.json"
    path.write_bytes(b'{"format": 1, "entries": [{"rec')
    os.chmod(path, 0o600)
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        cache = FileKeyCache(path)
    assert cache.entries() == []
    assert any("unreadable" in r.getMessage() for r in caplog.records)
    assert (tmp_path / "keys.json.corrupt").exists()


def test_a_tampered_record_in_the_cache_file_is_dropped_on_load(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Entries are re-verified on load: an edited record is dropped, the others kept."""
    now = datetime.now(UTC)
    good, bad = (
        Participant("good.example", "https://good.example"),
        Participant("bad.example", "https://bad.example"),
    )
    path = tmp_path / "keys.json"
    cache = FileKeyCache(path)
    cache.put([CacheEntry(record=p.signed(now), fetched_at=now) for p in (good, bad)], now)
    path.write_bytes(path.read_bytes().replace(b"https://bad.example", b"https://evil.example"))
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        reloaded = FileKeyCache(path)
    assert [e.subscriber_id for e in reloaded.entries()] == ["good.example"]
    assert any("bad.example" in r.getMessage() for r in caplog.records)


def test_a_cache_file_writable_by_others_is_ignored(tmp_path: Path) -> None:
    """Whoever could write the file could plant keys, so it is not trusted."""
    now = datetime.now(UTC)
    path = tmp_path / "keys.json"
    FileKeyCache(path).put(
        [
            CacheEntry(
                record=Participant("p.example", "https://p.example").signed(now), fetched_at=now
            )
        ],
        now,
    )
    os.chmod(path, 0o620)
    assert FileKeyCache(path).entries() == []


def test_the_cache_forgets_expired_records_and_keeps_the_highest_version(tmp_path: Path) -> None:
    """put() never lowers a version and drops records whose valid_until passed."""
    now = datetime.now(UTC)
    peer = Participant("p.example", "https://p.example", valid_for=timedelta(hours=1))
    v2: SignedRecord = peer.signed(now, version=2)
    cache = FileKeyCache(tmp_path / "keys.json")
    cache.put([CacheEntry(record=v2, fetched_at=now)], now)
    cache.put([CacheEntry(record=peer.signed(now), fetched_at=now)], now)
    entry = cache.get("p.example", "k1")
    assert entry is not None
    assert entry.version == 2
    cache.put([], now + timedelta(hours=2))
    assert FileKeyCache(tmp_path / "keys.json").entries() == []
