"""The outbox dispatcher: delivers queued messages, signed, until each is settled.

Per (transaction, peer) messages leave in the order they were queued (the store hands out
only the oldest unsettled one). A failed attempt is retried with exponential backoff and
jitter until the message's horizon (default 24 h) passes; then it is marked failed with its
last error, visibly. A peer that keeps failing trips a circuit breaker, so a dead peer is
tried once per cool-down instead of once per message. HTTP 429 waits as long as Retry-After
says. An ACK settles the message; a NACK settles it too, with the peer's error kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from starlette.concurrency import run_in_threadpool

from supplymesh.adapters.node_store import Delivery, OutgoingMessage
from supplymesh.adapters.peer_client import PeerAnswer, PeerUnreachable
from supplymesh.protocol.ack import AckResult, parse_ack
from supplymesh.protocol.envelope import refresh_timestamp
from supplymesh.protocol.errors import ProtocolError, SignatureFailure
from supplymesh.services.node import NodeService

log = logging.getLogger("supplymesh.dispatcher")

REFRESH_AFTER = 10.0
"""A request still undelivered after this many seconds is re-stamped at each attempt."""


class PeerTransport(Protocol):
    """Posts a body to a peer (HttpPeerClient, or an in-memory fake)."""

    async def post(self, url: str, body: bytes, headers: dict[str, str], now: float) -> PeerAnswer:
        """The peer's answer; raises PeerUnreachable."""
        ...


@dataclass
class _Breaker:
    failures: int = 0
    open_until: float = 0.0


@dataclass
class DispatchPolicy:
    """Retry and breaker settings."""

    base_delay: float = 0.5
    max_delay: float = 300.0
    lease: float = 60.0
    breaker_threshold: int = 5
    breaker_cooldown: float = 30.0
    concurrency: int = 16
    idle_poll: float = 0.5
    idle_max: float = 5.0
    """With nothing due, the dispatcher sleeps until the outbox's next retry or lease end, at
    most this long (every enqueue wakes it; this is the safety net), and ``idle_poll`` while
    a due message waits behind an earlier one of its chain."""


@dataclass
class Dispatcher:
    """Runs until cancelled; ``wake()`` after queuing to send at once."""

    node: NodeService
    transport: PeerTransport
    policy: DispatchPolicy = field(default_factory=DispatchPolicy)
    _breakers: dict[str, _Breaker] = field(default_factory=dict)
    _wakeup: asyncio.Event = field(default_factory=asyncio.Event)

    def wake(self) -> None:
        """Something was queued: look now."""
        self._wakeup.set()

    async def run(self) -> None:
        """Deliver forever (until the task is cancelled).

        Claims keep coming as slots free up: one slow peer occupies one slot, never the whole
        dispatcher, and a settled message lets the next one of its (transaction, peer) go.
        """
        in_flight: set[asyncio.Task[None]] = set()

        def finished(task: asyncio.Task[None]) -> None:
            in_flight.discard(task)
            self._wakeup.set()

        try:
            while True:
                # Cleared before the claim, not after it: a wake() while the claim runs (a
                # message queued just after the claim looked) must not wait for the idle poll.
                self._wakeup.clear()
                free = self.policy.concurrency - len(in_flight)
                claimed = await self.claim(free) if free > 0 else []
                for message in claimed:
                    task = asyncio.create_task(self.deliver(message))
                    in_flight.add(task)
                    task.add_done_callback(finished)
                if not claimed:
                    idle = await self.idle_wait() if not in_flight else self.policy.idle_max
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wakeup.wait(), idle)
        finally:
            # Let deliveries under way finish their I/O cleanly (a leased message that does
            # not get settled is claimed again after its lease: nothing is lost).
            for task in in_flight:
                task.cancel()
            await asyncio.gather(*in_flight, return_exceptions=True)

    async def idle_wait(self) -> float:
        """How long to sleep with nothing to claim: until the next retry or lease end (an
        idle node no longer polls its outbox twice a second)."""
        due = await run_in_threadpool(self.node.store.next_due)
        if due is None:
            return self.policy.idle_max
        ahead = due - self.node.clock()
        return self.policy.idle_poll if ahead <= 0 else min(ahead, self.policy.idle_max)

    async def claim(self, limit: int) -> list[OutgoingMessage]:
        """Lease up to ``limit`` due messages (each the oldest unsettled of its chain)."""
        return await run_in_threadpool(
            lambda: self.node.store.claim(self.node.clock(), self.policy.lease, limit)
        )

    async def drain_once(self, semaphore: asyncio.Semaphore | None = None) -> int:
        """Claim and deliver what is due now, and wait for it; returns how many were tried."""
        claimed = await self.claim(self.policy.concurrency)
        gate = semaphore or asyncio.Semaphore(self.policy.concurrency)

        async def one(message: OutgoingMessage) -> None:
            async with gate:
                await self.deliver(message)

        await asyncio.gather(*(one(m) for m in claimed))
        return len(claimed)

    async def deliver(self, message: OutgoingMessage) -> None:
        """One attempt at one message, and its settlement."""
        now = self.node.clock()
        breaker = self._breakers.setdefault(message.peer_id, _Breaker())
        if breaker.open_until > now:
            await self._retry(
                message, f"circuit open for {message.peer_id}", breaker.open_until, count=False
            )
            return
        url = message.peer_uri.rstrip("/") + "/" + message.action
        body = message.body
        if not message.action.startswith("on_") and now - message.created_at > REFRESH_AFTER:
            body = refresh_timestamp(body, datetime.fromtimestamp(now, UTC))
        headers = {
            "Content-Type": "application/json",
            "Authorization": self.node.identity.sign(body, now),
        }
        try:
            answer = await self.transport.post(url, body, headers, now)
        except PeerUnreachable as exc:
            await self._failed(message, breaker, str(exc))
            return
        if answer.status == 429:
            wait = answer.retry_after if answer.retry_after is not None else self._backoff(message)
            await self._retry(message, "HTTP 429 Too Many Requests", now + wait, count=True)
            return
        if answer.status >= 500:
            await self._failed(message, breaker, f"HTTP {answer.status}: {answer.body[:200]!r}")
            return
        try:
            ack = parse_ack(answer.body)
        except ProtocolError as exc:
            await self._failed(message, breaker, f"HTTP {answer.status}, not an ACK: {exc.message}")
            return
        breaker.failures = 0
        if answer.status == 401 and _unknown_to_peer(ack):
            # The peer's registry lookup has not seen our record yet (we may have just
            # subscribed): that heals by itself, so retry instead of settling the NACK.
            await self._retry(
                message,
                "the peer does not know our key yet",
                now + self._backoff(message),
                count=True,
            )
            return
        if ack.acked and answer.status < 300:
            await self._settle(message, Delivery.ACKED, None)
        else:
            error = ack.error
            detail = f"HTTP {answer.status} NACK"
            if error is not None:
                detail += f" {error.code}: {error.message}" + (
                    f" (at {error.where})" if error.where else ""
                )
            await self._settle(message, Delivery.NACKED, detail)

    def _backoff(self, message: OutgoingMessage) -> float:
        delay = min(
            self.policy.max_delay, self.policy.base_delay * 2.0 ** min(message.attempts, 20)
        )
        jitter: float = random.uniform(0.5, 1.5)  # noqa: S311 - spreads retries, guards nothing
        return delay * jitter

    async def _failed(self, message: OutgoingMessage, breaker: _Breaker, error: str) -> None:
        now = self.node.clock()
        breaker.failures += 1
        if breaker.failures >= self.policy.breaker_threshold:
            breaker.open_until = now + self.policy.breaker_cooldown
            log.warning("peer %s failed %d times: circuit open", message.peer_id, breaker.failures)
        retry_at = now + self._backoff(message)
        if retry_at > message.deadline:
            await self._settle(
                message, Delivery.FAILED, f"gave up after {message.attempts + 1} attempts: {error}"
            )
            return
        await self._retry(message, error, retry_at, count=True)

    async def _retry(self, message: OutgoingMessage, error: str, at: float, *, count: bool) -> None:
        await run_in_threadpool(
            lambda: self.node.store.settle(
                message.id,
                Delivery.QUEUED,
                now=self.node.clock(),
                error=error,
                retry_at=at,
                count=count,
            )
        )

    async def _settle(self, message: OutgoingMessage, state: Delivery, error: str | None) -> None:
        await run_in_threadpool(
            lambda: self.node.store.settle(message.id, state, now=self.node.clock(), error=error)
        )
        if state is not Delivery.ACKED:
            log.warning(
                "%s %s to %s %s: %s",
                message.action,
                message.message_id,
                message.peer_id,
                state.value,
                error,
            )


def _unknown_to_peer(ack: AckResult) -> bool:
    message = ack.error.message if ack.error is not None else None
    return bool(message) and str(message).startswith(SignatureFailure.UNKNOWN_KEY.value)
