"""The registry client and the subscription service against a real registry on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from supplymesh.adapters.registry_cache import FileKeyCache
from supplymesh.adapters.registry_client import RegistryClient
from supplymesh.entrypoints.registry_server import RegistrySettings, create_app
from supplymesh.protocol.errors import ProtocolError
from supplymesh.protocol.keys import EncryptionKeyPair, SigningKeyPair
from supplymesh.protocol.registry import LookupRequest, SubscriberType, SubscriptionStatus
from supplymesh.services.subscription import (
    SubscriberSettings,
    answer_challenge,
    sign_subscription,
    subscribe,
)
from supplymesh.testing.servers import ServerThread, free_port, serving

pytestmark = pytest.mark.anyio


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[ServerThread]:
    """A real registry on SQLite."""
    port = free_port()
    settings = RegistrySettings(
        db_url=f"sqlite:///{tmp_path / 'registry.sqlite'}",
        home=tmp_path / "registry",
        public_url=f"http://127.0.0.1:{port}",
        subscriber_id="reg.registry.local",
        challenge_interval=0.1,
        challenge_timeout=2.0,
    )
    server = ServerThread(create_app(settings), port).start()
    yield server
    server.stop()


def on_subscribe_app(encryption: EncryptionKeyPair) -> Starlette:
    """A node's /on_subscribe endpoint, answering with the subscription service."""

    async def on_subscribe(request: Request) -> Response:
        try:
            return Response(answer_challenge(encryption, await request.body()))
        except ProtocolError:
            return Response(status_code=400)

    return Starlette(routes=[Route("/on_subscribe", on_subscribe, methods=["POST"])])


async def test_a_node_subscribes_answers_the_challenge_and_peers_verify_its_key(
    registry: ServerThread, tmp_path: Path
) -> None:
    """subscribe → on_subscribe → SUBSCRIBED → a peer's client looks the key up and verifies it."""
    signing, encryption = SigningKeyPair.generate(), EncryptionKeyPair.generate()
    port = free_port()
    settings = SubscriberSettings(
        subscriber_id="maker.example",
        subscriber_url=f"http://127.0.0.1:{port}",
        type=SubscriberType.BPP,
        domains=("supplymesh:MFG10",),
        city="std:080",
        country="IND",
    )
    now = datetime.now(UTC)
    record = sign_subscription(settings, signing, encryption, now=now - timedelta(seconds=1))
    with serving(on_subscribe_app(encryption), port):
        async with RegistryClient(registry.url, timeout=10) as client:
            [(url, outcome)] = await subscribe(record, [registry.url], client)
    assert url == registry.url
    assert not isinstance(outcome, Exception), outcome
    assert outcome.status is SubscriptionStatus.SUBSCRIBED

    cache = FileKeyCache(tmp_path / "peer-keys.json")
    async with RegistryClient(registry.url, cache=cache, timeout=10) as peer:
        key = await peer.verify_key("maker.example", record.unique_key_id)
        assert key is not None
        assert bytes(key) == signing.public_key_bytes
        [item] = await peer.lookup(
            LookupRequest(type=SubscriberType.BPP, domain="supplymesh:MFG10")
        )
        assert item.subscriber_url == settings.subscriber_url
        assert item.status is SubscriptionStatus.SUBSCRIBED
    assert cache.registry_identity(registry.url) is not None

    registry.stop()
    async with RegistryClient(
        registry.url, cache=FileKeyCache(tmp_path / "peer-keys.json"), timeout=1
    ) as restarted:
        assert restarted.cached_verify_key("maker.example", record.unique_key_id) is not None
        assert await restarted.verify_key("maker.example", record.unique_key_id) is not None


async def test_a_rotated_key_and_its_predecessor_both_verify_through_the_real_registry(
    registry: ServerThread,
) -> None:
    """After an endorsed rotation, a peer accepts the new key and the old one by its key id."""
    old, new, encryption = (
        SigningKeyPair.generate(),
        SigningKeyPair.generate(),
        EncryptionKeyPair.generate(),
    )
    port = free_port()
    settings = SubscriberSettings(
        subscriber_id="shop.example",
        subscriber_url=f"http://127.0.0.1:{port}",
        type=SubscriberType.BAP,
        domains=("supplymesh:MFG10",),
        city="std:080",
        country="IND",
    )
    now = datetime.now(UTC) - timedelta(seconds=1)
    first = sign_subscription(settings, old, encryption, now=now)
    rotated = sign_subscription(
        settings,
        new,
        encryption,
        now=now + timedelta(milliseconds=5),
        previous=(first.unique_key_id, old),
    )
    with serving(on_subscribe_app(encryption), port):
        async with RegistryClient(registry.url, timeout=10) as client:
            for record in (first, rotated):
                [(_url, outcome)] = await subscribe(record, [registry.url], client)
                assert not isinstance(outcome, Exception), outcome
    async with RegistryClient(registry.url, timeout=10) as peer:
        new_key = await peer.verify_key("shop.example", rotated.unique_key_id)
        old_key = await peer.verify_key("shop.example", first.unique_key_id)
    assert new_key is not None
    assert bytes(new_key) == new.public_key_bytes
    assert old_key is not None
    assert bytes(old_key) == old.public_key_bytes
