"""The registry's HTTP server: Beckn/ONDC registry API, change feed, mirroring, suspensions.

Endpoints (OpenAPI at ``/docs``):

    POST /subscribe       a subject-signed record -> SubscribeResponse (400/409/413 NACKs)
    POST /lookup          Beckn filters -> [LookupItem], signed by the registry (Authorization)
    GET  /identity        the registry's own self-signed BREG record
    GET  /feed?after=SEQ  records as their subjects signed them, in the order applied here
    POST /admin/suspend   the operator's signed suspension statement (Bearer admin token)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from supplymesh import __version__
from supplymesh.adapters.keyfiles import (
    ENCRYPTION_KEY_FILE,
    SIGNING_KEY_FILE,
    create_key_pair_files,
    load_encryption_key,
    load_signing_key,
    read_private_key,
    write_private_key,
)
from supplymesh.adapters.registry_peers import HttpChallenger, HttpFeedSource, PeerUnavailable
from supplymesh.adapters.registry_store import RegistryStore
from supplymesh.adapters.sql import make_engine, migrate
from supplymesh.protocol.ack import nack_body
from supplymesh.protocol.codec import encode_json
from supplymesh.protocol.errors import ErrorCode, ProtocolError, ReceiverRole
from supplymesh.protocol.registry import (
    MAX_REGISTRY_BODY_BYTES,
    Feed,
    LookupItem,
    LookupRequest,
    SignedRecord,
    SubscribeResponse,
    SubscriptionStatus,
    Suspension,
    decode_registry_body,
)
from supplymesh.services.registry import RegistryIdentity, RegistryService, SubscribeRefused

log = logging.getLogger("supplymesh.registry")

JSON = "application/json"
IDENTITY_FILE = "identity.json"
ADMIN_TOKEN_FILE = "admin.token"  # noqa: S105 - a file name, not a secret


@dataclass(frozen=True, slots=True)
class RegistrySettings:
    """How one registry runs."""

    db_url: str
    home: Path
    public_url: str
    subscriber_id: str | None = None
    mirrors: tuple[str, ...] = ()
    mirror_interval: float = 1.0
    challenge_timeout: float = 5.0
    challenge_interval: float = 1.0


@dataclass(slots=True)
class _Runtime:
    service: RegistryService
    admin_token: str
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


class _Suspend(msgspec.Struct, kw_only=True, frozen=True):
    subscriber_id: str
    reason: str
    lifted: bool = False


def load_or_create_identity(home: Path, subscriber_id: str | None, url: str) -> RegistryIdentity:
    """The registry's keys and id from ``home``, made on first start."""
    identity_path = home / IDENTITY_FILE
    if not (home / SIGNING_KEY_FILE).exists():
        create_key_pair_files(home)
    if identity_path.exists():
        stored = json.loads(identity_path.read_text())
        if subscriber_id is not None and stored["subscriber_id"] != subscriber_id:
            raise ValueError(
                f"{home} belongs to registry {stored['subscriber_id']!r}, not {subscriber_id!r}"
            )
    else:
        stored = {
            "subscriber_id": subscriber_id or f"registry-{secrets.token_hex(4)}.local",
            "unique_key_id": f"k-{secrets.token_hex(6)}",
        }
        identity_path.write_text(json.dumps(stored))
    if not (home / ADMIN_TOKEN_FILE).exists():
        write_private_key(home / ADMIN_TOKEN_FILE, secrets.token_urlsafe(32))
    return RegistryIdentity(
        subscriber_id=stored["subscriber_id"],
        unique_key_id=stored["unique_key_id"],
        url=url,
        signing=load_signing_key(home / SIGNING_KEY_FILE),
        encryption=load_encryption_key(home / ENCRYPTION_KEY_FILE),
    )


def _nack(error: ProtocolError, status: int) -> Response:
    return Response(nack_body(error, ReceiverRole.REGISTRY), status_code=status, media_type=JSON)


async def _body(request: Request, limit: int = MAX_REGISTRY_BODY_BYTES) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ProtocolError(
            ErrorCode.BODY_TOO_LARGE, f"body is {declared} bytes; the limit is {limit} bytes"
        )
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise ProtocolError(ErrorCode.BODY_TOO_LARGE, f"body exceeds {limit} bytes")
    return bytes(body)


def _status_for(error: ProtocolError) -> int:
    return 413 if error.code is ErrorCode.BODY_TOO_LARGE else 400


async def _every(interval: float, what: str, step: Callable[[], Awaitable[Any]]) -> None:
    while True:
        try:
            await step()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s failed; trying again in %.0f s", what, interval)
        await asyncio.sleep(interval)


async def _mirror(
    service: RegistryService, feeds: HttpFeedSource, peer: str, interval: float
) -> None:
    after = await run_in_threadpool(service.store.cursor, peer)
    backoff = interval
    while True:
        try:
            page = await feeds.page(peer, after)
            result = await run_in_threadpool(service.apply_feed, peer, page)
        except (PeerUnavailable, ProtocolError) as exc:
            log.info("mirror %s: %s", peer, exc)
            backoff = min(backoff * 2, 30.0)
            await asyncio.sleep(backoff)
            continue
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("mirror %s failed", peer)
            await asyncio.sleep(min(backoff * 2, 30.0))
            continue
        backoff = interval
        after = max(after, result.last_seq)
        if result.applied or result.refused:
            log.info("mirror %s: applied %d, refused %d", peer, result.applied, result.refused)
        if result.entries == 0:
            await asyncio.sleep(interval)


def _schemas() -> dict[str, Any]:
    (subscribe, lookup, feed_schema, response, items, suspend), components = (
        msgspec.json.schema_components(
            [SignedRecord, LookupRequest, Feed, SubscribeResponse, list[LookupItem], _Suspend],
            ref_template="#/components/schemas/{name}",
        )
    )
    return {
        "subscribe": subscribe,
        "lookup": lookup,
        "feed": feed_schema,
        "response": response,
        "items": items,
        "suspend": suspend,
        "components": components,
    }


def create_app(settings: RegistrySettings) -> FastAPI:
    """The registry's ASGI app: migrates the database and makes keys on first start."""
    engine = make_engine(settings.db_url)
    migrate(engine, "registry")
    identity = load_or_create_identity(settings.home, settings.subscriber_id, settings.public_url)
    store = RegistryStore(engine)
    challenger = HttpChallenger(
        lambda body: identity.sign_response(body, time.time()), settings.challenge_timeout
    )
    service = RegistryService(store, identity, challenger)
    service.publish_own_record()
    feeds = HttpFeedSource()
    runtime = _Runtime(
        service=service, admin_token=read_private_key(settings.home / ADMIN_TOKEN_FILE)
    )

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        runtime.tasks.append(
            asyncio.create_task(
                _every(settings.challenge_interval, "challenge retries", service.run_due_challenges)
            )
        )
        for peer in settings.mirrors:
            runtime.tasks.append(
                asyncio.create_task(_mirror(service, feeds, peer, settings.mirror_interval))
            )
        try:
            yield
        finally:
            for task in runtime.tasks:
                task.cancel()
            await asyncio.gather(*runtime.tasks, return_exceptions=True)
            await challenger.aclose()
            await feeds.aclose()
            engine.dispose()

    app = FastAPI(
        title="supplymesh registry",
        version=__version__,
        description="Subject-signed participant records: Beckn/ONDC subscribe and lookup, "
        "a change feed for mirrors, and the operator's signed suspensions.",
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    schemas = _schemas()
    app.add_exception_handler(ProtocolError, _protocol_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)
    for path, method, handler, tag, doc in (
        ("/subscribe", "POST", subscribe, "registry", "subscribe"),
        ("/lookup", "POST", lookup, "registry", "lookup"),
        ("/identity", "GET", own_identity, "registry", None),
        ("/feed", "GET", change_feed, "mirroring", None),
        ("/admin/suspend", "POST", suspend, "operator", "suspend"),
        ("/health", "GET", health, "operator", None),
    ):
        extra = (
            {"requestBody": {"required": True, "content": {JSON: {"schema": schemas[doc]}}}}
            if doc
            else None
        )
        app.add_api_route(path, handler, methods=[method], tags=[tag], openapi_extra=extra)

    original_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = original_openapi()
            document.setdefault("components", {}).setdefault("schemas", {}).update(
                schemas["components"]
            )
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _runtime(request: Request) -> _Runtime:
    runtime: _Runtime = request.app.state.runtime
    return runtime


async def _protocol_error(_request: Request, exc: ProtocolError) -> Response:
    return _nack(exc, _status_for(exc))


async def _unexpected(_request: Request, exc: Exception) -> Response:
    log.error("internal error: %r", exc, exc_info=exc)
    return _nack(ProtocolError(ErrorCode.INTERNAL_ERROR, "internal error; try again"), 500)


async def subscribe(request: Request) -> Response:
    """Store a subject-signed record and challenge its subscriber (ONDC on_subscribe)."""
    service = _runtime(request).service
    raw = await _body(request)
    try:
        stored, _new = await run_in_threadpool(service.accept, raw)
    except SubscribeRefused as exc:
        return _nack(exc.error, exc.http_status)
    if stored.status is SubscriptionStatus.INITIATED:
        stored = await service.challenge(stored)
    return Response(encode_json(service.response(stored)), media_type=JSON)


async def lookup(request: Request) -> Response:
    """Records matching Beckn filters, each with its subject's signature."""
    service = _runtime(request).service
    body = service.lookup(await _body(request))
    signature = service.identity.sign_response(body, time.time())
    return Response(body, media_type=JSON, headers={"Authorization": signature})


async def own_identity(request: Request) -> Response:
    """This registry's own self-signed BREG record: its key signs lookup answers."""
    service = _runtime(request).service
    current = await run_in_threadpool(service.store.current, service.identity.subscriber_id)
    record = current.record if current is not None else service.identity.record(datetime.now(UTC))
    return Response(encode_json(record), media_type=JSON)


async def change_feed(request: Request, after: int = 0, limit: int = 500) -> Response:
    """Subscribed record versions after ``after``, as their subjects signed them."""
    if after < 0 or not 1 <= limit <= 1000:
        raise ProtocolError(
            ErrorCode.INVALID_REQUEST, "after must be >= 0 and limit within 1..1000", "$.query"
        )
    service = _runtime(request).service
    return Response(await run_in_threadpool(service.feed, after, limit), media_type=JSON)


async def suspend(request: Request) -> Response:
    """The operator suspends (or lifts) a participant: a registry-signed statement."""
    runtime = _runtime(request)
    given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    if not secrets.compare_digest(given.encode(), runtime.admin_token.encode()):
        return _nack(ProtocolError(ErrorCode.POLICY_ERROR, "admin token required"), 401)
    order = decode_registry_body(await _body(request), _Suspend)
    statement: Suspension = await run_in_threadpool(
        lambda: runtime.service.suspend(order.subscriber_id, order.reason, lifted=order.lifted)
    )
    return Response(encode_json(statement), media_type=JSON)


async def health(request: Request) -> dict[str, str]:
    """Liveness."""
    return {"status": "ok", "registry": _runtime(request).service.identity.subscriber_id}
