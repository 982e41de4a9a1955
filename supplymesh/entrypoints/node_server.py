"""A node's HTTP server: the Beckn inbox, the owner API, /on_subscribe and /metrics.

Inbox, in order (nothing is written before the last step): size limit, Authorization
(keyId's key from the registry cache), gateway signature if one came, decode, signer is the
context's sender, freshness, addressed to us; then the raw body, the dedupe row and the
effects commit together, and the answer is ACK. Signature faults answer 401 with
``WWW-Authenticate`` (BECKN-006); other faults a 400 NACK with the code.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from supplymesh.adapters.node_store import Duplicate
from supplymesh.adapters.registry_client import RegistryError
from supplymesh.domain.errors import DomainError
from supplymesh.entrypoints import owner_api, owner_logistics, owner_production
from supplymesh.entrypoints.challenge_app import on_subscribe_endpoint
from supplymesh.entrypoints.metrics import Metrics
from supplymesh.entrypoints.node_app import Node, build_node
from supplymesh.protocol import signing
from supplymesh.protocol.ack import ACK_BODY, nack_body
from supplymesh.protocol.actions import Action
from supplymesh.protocol.codec import MAX_BODY_BYTES
from supplymesh.protocol.context import check_fresh, require
from supplymesh.protocol.envelope import Envelope, decode
from supplymesh.protocol.errors import (
    ErrorCode,
    ProtocolError,
    ReceiverRole,
    SignatureError,
    SignatureFailure,
)
from supplymesh.protocol.registry import SubscriberType
from supplymesh.services.node import NodeService
from supplymesh.services.pools import close_due
from supplymesh.services.supplier_quotes import sweep as sweep_supplier_quotes

log = logging.getLogger("supplymesh.node")
JSON = "application/json"


class _Refused(Exception):
    def __init__(self, error: ProtocolError, status: int, headers: dict[str, str] | None = None):
        super().__init__(error.message)
        self.error = error
        self.status = status
        self.headers = headers or {}


async def _read(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    too_big = ProtocolError(ErrorCode.BODY_TOO_LARGE, f"the body exceeds {limit} bytes")
    if declared.isdigit() and int(declared) > limit:
        raise _Refused(too_big, 413)
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise _Refused(too_big, 413)
    return bytes(body)


class Inbox:
    """The checks every incoming Beckn message passes, then NodeService.receive."""

    def __init__(
        self,
        node: Node,
        metrics: Metrics,
        clock: Callable[[], float] = time.time,
        observer: Observer | None = None,
    ) -> None:
        self.node = node
        self.metrics = metrics
        self.clock = clock
        self.observer = observer
        self.role = ReceiverRole.SELLER if node.config.role.sells else ReceiverRole.BUYER

    async def _verify(
        self, header_name: str, value: str, raw: bytes, now: float
    ) -> signing.SignatureParams:
        params = signing.parse_signature_header(value, header_name)
        key = await self.node.registry.verify_key(params.subscriber_id, params.unique_key_id)
        if key is None:
            raise SignatureError(
                SignatureFailure.UNKNOWN_KEY,
                f"no valid key for {params.subscriber_id} ({params.unique_key_id}) at any registry",
                header_name,
            )
        return signing.verify(value, raw, now=now, key=key, header=header_name)

    async def _gateway_url(self, gateway_id: str) -> str:
        try:
            record = await self.node.registry.subscriber(gateway_id)
        except RegistryError:
            record = None
        if record is None or record.type is not SubscriberType.BG:
            raise _Refused(
                ProtocolError(
                    ErrorCode.UNKNOWN_SENDER, f"{gateway_id} is not a gateway on our registries"
                ),
                401,
                {
                    "Proxy-Authenticate": signing.authenticate_challenge(
                        self.node.config.subscriber_id
                    )
                },
            )
        return record.subscriber_url

    async def check(
        self, action: Action, request: Request
    ) -> tuple[Envelope, bytes, signing.SignatureParams, bool, str | None]:
        """Everything before the write; raises _Refused."""
        raw = await _read(request, MAX_BODY_BYTES)
        now = self.clock()
        realm = self.node.config.subscriber_id
        try:
            params = await self._verify(
                signing.AUTHORIZATION, request.headers.get("authorization", ""), raw, now
            )
        except SignatureError as exc:
            raise _Refused(
                exc, 401, {"WWW-Authenticate": signing.authenticate_challenge(realm)}
            ) from None
        gateway = signing.gateway_signature_header(request.headers)
        via: str | None = None
        if gateway is not None:
            try:
                relay = await self._verify(gateway[0], gateway[1], raw, now)
            except SignatureError as exc:
                raise _Refused(
                    exc, 401, {"Proxy-Authenticate": signing.authenticate_challenge(realm)}
                ) from None
            via = await self._gateway_url(relay.subscriber_id)
        try:
            env = decode(raw, expected_action=action)
            require(env.context)
            if env.context.sender_id != params.subscriber_id:
                raise SignatureError(
                    SignatureFailure.SIGNER_MISMATCH,
                    f"signed by {params.subscriber_id!r}, but the context's sender is "
                    f"{env.context.sender_id!r}",
                )
            self.node.service.check_addressed(env)
        except SignatureError as exc:
            raise _Refused(
                exc, 401, {"WWW-Authenticate": signing.authenticate_challenge(realm)}
            ) from None
        except ProtocolError as exc:
            raise _Refused(exc, 400) from None
        late = False
        if action.is_callback:
            late = await run_in_threadpool(self.node.service.is_late, env, now)
        return env, raw, params, late, via if not action.is_callback else None

    def stale(self, env: Envelope) -> ProtocolError | None:
        """Why a request is too old to act on, if it is (a duplicate of one we took is not)."""
        if env.action.is_callback:
            return None
        try:
            check_fresh(env.context, datetime.fromtimestamp(self.clock(), UTC))
        except ProtocolError as exc:
            return exc
        return None

    async def handle(self, request: Request) -> Response:
        """POST /{action}: ACK, or a NACK with the reason; an unexpected fault is a 500 NACK."""
        try:
            return await self._handle(request)
        except Exception as exc:
            log.exception("inbox failed on %s", request.url.path)
            error = ProtocolError(
                ErrorCode.INTERNAL_ERROR, f"internal error ({type(exc).__name__}); retry"
            )
            return Response(nack_body(error, self.role), status_code=500, media_type=JSON)

    async def _handle(self, request: Request) -> Response:
        name = request.path_params["action"]
        try:
            action = Action(name)
        except ValueError:
            return Response(status_code=404)
        started = time.perf_counter()
        try:
            env, raw, params, late, via = await self.check(action, request)
            try:
                stale = self.stale(env)
                await run_in_threadpool(
                    lambda: self.node.service.receive(
                        env, raw, sender=params.subscriber_id, late=late, via=via, refuse=stale
                    )
                )
                result = "late" if late else "ack"
            except Duplicate:
                result = "duplicate"
            except DomainError as exc:
                raise _Refused(ProtocolError(exc.code, exc.message), 400) from None
            except ProtocolError as exc:
                raise _Refused(exc, 400) from None
        except _Refused as refused:
            self.metrics.incoming(name, "nack")
            log.info("NACK %s: %s %s", name, refused.error.code.code, refused.error.message)
            return Response(
                nack_body(refused.error, self.role),
                status_code=refused.status,
                headers=refused.headers,
                media_type=JSON,
            )
        self.metrics.incoming(name, result, time.perf_counter() - started)
        self.node.dispatcher.wake()
        if self.observer is not None and result != "duplicate":
            self.observer(env, params, late)
        return Response(ACK_BODY, media_type=JSON)


Observer = Callable[[Envelope, signing.SignatureParams, bool], None]
"""Called with each accepted message (the demo prints them as they cross)."""


def create_app(
    node: Node, *, subscribe_on_start: bool = True, observer: Observer | None = None
) -> Starlette:
    """The node's ASGI app; its lifespan runs the dispatcher and the registry subscription."""
    metrics = Metrics(node.service.store)
    inbox = Inbox(node, metrics, observer=observer)
    tasks: list[asyncio.Task[Any]] = []

    subscribed = asyncio.Event()

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        tasks.append(asyncio.create_task(_guarded(node.dispatcher.run, "dispatcher")))
        if node.config.role.sells:
            tasks.append(asyncio.create_task(_seller_housekeeping_forever(node)))
        if node.config.role.buys and node.config.catalog_refresh > 0:
            tasks.append(asyncio.create_task(_pull_catalogs_forever(node, subscribed)))
        if subscribe_on_start:
            tasks.append(asyncio.create_task(_subscribe_forever(node, subscribed)))
        else:
            subscribed.set()
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await node.aclose()

    async def health(_request: Request) -> Response:
        return Response(
            msgspec.json.encode({"status": "ok", "subscriber_id": node.config.subscriber_id}),
            media_type=JSON,
        )

    routes = [
        Route("/health", health),
        Route("/metrics", metrics.endpoint),
        on_subscribe_endpoint(node.encryption, node.config.subscriber_id),
        *owner_production.routes(node),  # before owner_api's /owner/orders/{id}/{verb}
        *owner_logistics.routes(node),
        *owner_api.routes(node),
        Route("/{action}", inbox.handle, methods=["POST"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.node = node
    return app


async def _subscribe_forever(node: Node, subscribed: asyncio.Event) -> None:
    delay = 1.0
    while True:
        try:
            for line in await node.subscribe():
                log.info("registry: %s", line)
            subscribed.set()
            return
        except Exception as exc:  # registries down: keep trying, never crash the node
            log.warning("subscribing failed (%s); again in %.0f s", exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 60.0)


async def _pull_catalogs_forever(node: Node, subscribed: asyncio.Event) -> None:
    interval = node.config.catalog_refresh
    await subscribed.wait()  # sellers cannot verify us before the registries know us
    while True:
        try:
            if await node.buyer.pull_catalogs():
                node.dispatcher.wake()
        except Exception as exc:  # registries or sellers down: try again next round
            log.info("catalog pull skipped: %s", exc)
        await asyncio.sleep(interval)


def _seller_housekeeping(service: NodeService) -> int:
    """Close the pools that are due; move quote rounds on from suppliers that refused or did
    not answer in time, and refused POs to their next supplier. How many changed."""
    return close_due(service) + sweep_supplier_quotes(service)


async def _seller_housekeeping_forever(node: Node) -> None:
    """Once a second, in one trip to the thread pool (an idle seller wakes once, not twice)."""
    while True:
        try:
            if await run_in_threadpool(_seller_housekeeping, node.service):
                node.dispatcher.wake()
        except Exception:
            log.exception("seller housekeeping failed; again in a second")
        await asyncio.sleep(1.0)


async def _guarded(run: Callable[[], Awaitable[None]], what: str) -> None:
    while True:
        try:
            await run()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s crashed; restarting in 1 s", what)
            await asyncio.sleep(1)


def app_from_environment() -> Starlette:
    """An app for ``uvicorn --factory`` (several workers): the home is $SUPPLYMESH_NODE_HOME."""
    home = os.environ.get("SUPPLYMESH_NODE_HOME")
    if not home:
        raise RuntimeError("SUPPLYMESH_NODE_HOME is not set")
    return create_app(build_node(Path(home)))
