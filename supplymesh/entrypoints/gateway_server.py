"""The gateway's HTTP server: ``POST /search`` fans out, ``POST /on_search`` relays back.

The gateway subscribes itself at its registries as a BG (its record self-signed like every
participant's), so sellers can verify its ``X-Gateway-Authorization`` and find where to send
their answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from supplymesh.adapters.keyfiles import (
    ENCRYPTION_KEY_FILE,
    SIGNING_KEY_FILE,
    create_key_pair_files,
    load_encryption_key,
    load_signing_key,
)
from supplymesh.adapters.peer_client import HttpPeerClient, PeerUnreachable
from supplymesh.adapters.registry_cache import FileKeyCache
from supplymesh.adapters.registry_client import RegistryClient, RegistryError
from supplymesh.entrypoints.challenge_app import on_subscribe_endpoint
from supplymesh.protocol import signing
from supplymesh.protocol.ack import nack_body
from supplymesh.protocol.codec import MAX_BODY_BYTES
from supplymesh.protocol.errors import ErrorCode, ProtocolError, ReceiverRole, SignatureError
from supplymesh.protocol.registry import LookupRequest, SubscriberType
from supplymesh.services.gateway import Gateway, GatewayIdentity
from supplymesh.services.subscription import (
    SubscriberSettings,
    key_id_for,
    sign_subscription,
    subscribe,
)

log = logging.getLogger("supplymesh.gateway")
JSON = "application/json"
ACK = b'{"message":{"ack":{"status":"ACK"}}}'


@dataclass(frozen=True, slots=True)
class GatewaySettings:
    """How one gateway runs."""

    registries: tuple[str, ...]
    home: Path
    public_url: str
    subscriber_id: str | None = None
    seller_timeout: float = 5.0
    concurrency: int = 32


def _nack(error: ProtocolError, status: int, realm: str) -> Response:
    headers = {}
    if status == 401:
        headers["WWW-Authenticate"] = signing.authenticate_challenge(realm)
    body = nack_body(error, ReceiverRole.GATEWAY)
    return Response(body, status_code=status, headers=headers, media_type=JSON)


async def _read(request: Request) -> bytes:
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise ProtocolError(ErrorCode.BODY_TOO_LARGE, f"the body exceeds {MAX_BODY_BYTES} bytes")
    return body


def create_app(settings: GatewaySettings) -> Starlette:
    """The gateway's ASGI app; makes its keys on first start and subscribes as a BG."""
    home = settings.home
    if not (home / SIGNING_KEY_FILE).exists():
        create_key_pair_files(home)
    signing_pair = load_signing_key(home / SIGNING_KEY_FILE)
    encryption = load_encryption_key(home / ENCRYPTION_KEY_FILE)
    subscriber_id = settings.subscriber_id or f"gateway-{secrets.token_hex(4)}.local"
    identity = GatewayIdentity(
        subscriber_id=subscriber_id,
        unique_key_id=key_id_for(signing_pair),
        url=settings.public_url,
        signing=signing_pair,
    )
    registry = RegistryClient(
        settings.registries,
        cache=FileKeyCache(home / "key-cache.json"),
        # A participant that subscribed a moment after a miss should not wait a minute.
        negative_ttl=timedelta(seconds=5),
    )
    peers = HttpPeerClient(timeout=settings.seller_timeout)

    async def sellers(domain: str, city: str | None) -> list[tuple[str, str]]:
        items = await registry.lookup(
            LookupRequest(type=SubscriberType.BPP, domain=domain, city=city)
        )
        return [(i.subscriber_id, i.subscriber_url) for i in items if i.status == "SUBSCRIBED"]

    async def url_of(subscriber_id: str) -> str | None:
        try:
            record = await registry.subscriber(subscriber_id)
        except RegistryError:
            return None
        return record.subscriber_url if record is not None else None

    gateway = Gateway(
        identity=identity,
        verify_key=registry.verify_key,
        sellers=sellers,
        url_of=url_of,
        post=peers.post,
        concurrency=settings.concurrency,
        seller_timeout=settings.seller_timeout,
    )

    http = _GatewayHttp(gateway)
    record_settings = SubscriberSettings(
        subscriber_id=subscriber_id,
        subscriber_url=settings.public_url,
        type=SubscriberType.BG,
        domains=("*",),
        city="*",
        country="*",
        unique_key_id=identity.unique_key_id,
    )

    async def subscribe_forever() -> None:
        delay = 1.0
        while True:
            try:
                record = sign_subscription(
                    record_settings, signing_pair, encryption, now=datetime.now(UTC)
                )
                for url, outcome in await subscribe(record, settings.registries, registry):
                    log.info("registry %s: %s", url, getattr(outcome, "status", outcome))
                return
            except Exception as exc:  # registries down: keep trying
                log.warning("subscribing failed (%s); again in %.0f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(subscribe_forever())
        try:
            yield
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await registry.aclose()
            await peers.aclose()

    app = Starlette(
        routes=[
            Route("/search", http.search, methods=["POST"]),
            Route("/on_search", http.on_search, methods=["POST"]),
            Route("/health", http.health),
            on_subscribe_endpoint(encryption, subscriber_id),
        ],
        lifespan=lifespan,
    )
    app.state.gateway = gateway
    return app


class _GatewayHttp:
    """The gateway's endpoints: translate HTTP to Gateway calls and faults to NACKs."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.realm = gateway.identity.subscriber_id

    async def search(self, request: Request) -> Response:
        """POST /search: ACK once the fan-out started."""
        try:
            raw = await _read(request)
            count = await self.gateway.search(raw, request.headers.get("authorization", ""))
        except SignatureError as exc:
            return _nack(exc, 401, self.realm)
        except ProtocolError as exc:
            status = 413 if exc.code is ErrorCode.BODY_TOO_LARGE else 400
            return _nack(exc, status, self.realm)
        except RegistryError as exc:
            error = ProtocolError(ErrorCode.INTERNAL_ERROR, f"no registry answered ({exc}); retry")
            return _nack(error, 503, self.realm)
        log.info("search fanned out to %d sellers", count)
        return Response(ACK, media_type=JSON)

    async def on_search(self, request: Request) -> Response:
        """POST /on_search: the buyer's own answer, passed back to the seller."""
        try:
            raw = await _read(request)
            answer = await self.gateway.on_search(raw, request.headers.get("authorization", ""))
        except SignatureError as exc:
            return _nack(exc, 401, self.realm)
        except ProtocolError as exc:
            return _nack(exc, 400, self.realm)
        except PeerUnreachable as exc:
            error = ProtocolError(
                ErrorCode.INTERNAL_ERROR, f"the buyer is unreachable: {exc}; retry"
            )
            return _nack(error, 503, self.realm)
        return Response(answer.body, status_code=answer.status, media_type=JSON)

    async def health(self, _request: Request) -> Response:
        """GET /health."""
        return Response(b'{"status":"ok"}', media_type=JSON)
