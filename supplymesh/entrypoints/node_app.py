"""Wiring one node together from its home: the composition root of the node.

``build_node(home)`` makes the real adapters (database, registry client with its persisted key
cache, HTTP peer client) and the services on top; tests pass an httpx transport or a clock.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
from nacl.signing import VerifyKey

from supplymesh.adapters.node_home import NodeConfig, NodeHome
from supplymesh.adapters.node_store import NodeStore
from supplymesh.adapters.peer_client import HttpPeerClient
from supplymesh.adapters.registry_cache import FileKeyCache
from supplymesh.adapters.registry_client import RegistryClient, RegistryError
from supplymesh.adapters.sql import make_engine, migrate
from supplymesh.protocol.keys import EncryptionKeyPair
from supplymesh.protocol.registry import LookupRequest, SubscriberType
from supplymesh.services.buyer import BUYER_HANDLERS, Buyer
from supplymesh.services.dispatcher import Dispatcher, DispatchPolicy
from supplymesh.services.node import NodeIdentity, NodeService
from supplymesh.services.seller import SELLER_HANDLERS
from supplymesh.services.subscription import SubscriberSettings, sign_subscription, subscribe

log = logging.getLogger("supplymesh.node")
NEGATIVE_KEY_TTL_SECONDS = 5.0


class RegistryDirectory:
    """Sellers and URLs from the registries (verified records only), and live gateways."""

    def __init__(self, client: RegistryClient, gateways: tuple[str, ...] = ()) -> None:
        self.client = client
        self.gateways = gateways

    async def live_gateway(self) -> str | None:
        """The first configured gateway whose /health answers within a second."""
        if not self.gateways:
            return None
        async with httpx.AsyncClient(timeout=1.0) as probe:
            for url in self.gateways:
                try:
                    if (await probe.get(url.rstrip("/") + "/health")).status_code == 200:
                        return url.rstrip("/")
                except httpx.HTTPError:
                    log.info("gateway %s is down; trying the next (or searching directly)", url)
        return None

    async def sellers(self, domain: str, city: str | None) -> list[tuple[str, str]]:
        """Every subscribed seller of the market."""
        items = await self.client.lookup(
            LookupRequest(type=SubscriberType.BPP, domain=domain, city=city)
        )
        return [(i.subscriber_id, i.subscriber_url) for i in items if i.status == "SUBSCRIBED"]

    async def verify_key(self, subscriber_id: str, unique_key_id: str) -> VerifyKey | None:
        """A participant's verified signing key (registry client, cached)."""
        return await self.client.verify_key(subscriber_id, unique_key_id)

    async def url_of(self, subscriber_id: str) -> str | None:
        """A participant's current URL."""
        try:
            record = await self.client.subscriber(subscriber_id)
        except RegistryError:
            return None
        return record.subscriber_url if record is not None else None


@dataclass
class Node:
    """A running node's parts."""

    home: NodeHome
    config: NodeConfig
    service: NodeService
    buyer: Buyer
    registry: RegistryClient
    peers: HttpPeerClient
    dispatcher: Dispatcher
    encryption: EncryptionKeyPair
    owner_token: str

    async def aclose(self) -> None:
        """Close network clients and the database pool."""
        await self.registry.aclose()
        await self.peers.aclose()
        self.service.store.engine.dispose()

    def subscriber_settings(self) -> SubscriberSettings:
        """The node's registry record settings."""
        config = self.config
        return SubscriberSettings(
            subscriber_id=config.subscriber_id,
            subscriber_url=config.url,
            type=SubscriberType.BAP if config.role.value == "bap" else SubscriberType.BPP,
            domains=(config.domain,),
            city=config.city,
            country=config.country,
            unique_key_id=config.unique_key_id,
        )

    async def subscribe(self) -> list[str]:
        """Subscribe (or re-subscribe after a change) at every registry; lines to report."""
        settings = self.subscriber_settings()
        signing = self.service.identity.signing
        current = None
        try:
            current = await self.registry.subscriber(settings.subscriber_id)
        except RegistryError:
            current = None
        if (
            current is not None
            and current.subscriber_url == settings.subscriber_url
            and current.signing_public_key == signing.public_key_b64
            and current.encr_public_key == self.encryption.public_key_b64
            and current.domains == settings.domains
            and current.city == settings.city
        ):
            return ["already subscribed"]
        record = sign_subscription(settings, signing, self.encryption, now=datetime.now(UTC))
        outcomes = await subscribe(record, self.config.registries, self.registry)
        return [f"{url}: {getattr(outcome, 'status', outcome)}" for url, outcome in outcomes]


def dispatch_policy(config: NodeConfig) -> DispatchPolicy:
    """The dispatcher's defaults, with the delivery settings node.toml gives."""
    policy = DispatchPolicy()
    if config.retry_base_delay is not None:
        policy.base_delay = config.retry_base_delay
    if config.retry_max_delay is not None:
        policy.max_delay = config.retry_max_delay
    if config.breaker_threshold is not None:
        policy.breaker_threshold = config.breaker_threshold
    if config.breaker_cooldown is not None:
        policy.breaker_cooldown = config.breaker_cooldown
    if config.delivery_lease is not None:
        policy.lease = config.delivery_lease
    return policy


def build_node(
    path: Path,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Callable[[], float] = time.time,
    policy: DispatchPolicy | None = None,
) -> Node:
    """A node from its home folder, with real adapters."""
    home = NodeHome(path)
    config = home.load()
    engine = make_engine(config.db_url)
    migrate(engine, "node")
    signing = home.signing_key()
    identity = NodeIdentity(
        subscriber_id=config.subscriber_id,
        unique_key_id=config.unique_key_id,
        url=config.url,
        signing=signing,
        role=config.role,
        domain=config.domain,
        city=config.city,
        country=config.country,
        display_name=config.display_name,
        support_email=config.support_email,
        delivery_charge=Decimal(config.delivery_charge),
        tax_percent=Decimal(config.tax_percent),
    )
    handlers = {**SELLER_HANDLERS, **BUYER_HANDLERS}
    registry = RegistryClient(
        config.registries,
        cache=FileKeyCache(home.key_cache_path),
        transport=transport,
        # A peer that subscribed a moment after we looked for it should not wait a minute.
        negative_ttl=timedelta(seconds=NEGATIVE_KEY_TTL_SECONDS),
    )
    service = NodeService(
        NodeStore(engine), identity, handlers, clock=clock, peer_key=registry.cached_verify_key
    )
    peers = HttpPeerClient(transport=transport)
    return Node(
        home=home,
        config=config,
        service=service,
        buyer=Buyer(service, RegistryDirectory(registry, config.gateways)),
        registry=registry,
        peers=peers,
        dispatcher=Dispatcher(service, peers, policy or dispatch_policy(config)),
        encryption=home.encryption_key(),
        owner_token=home.owner_token(),
    )
