"""The gateway (Beckn BG): fans a buyer's search out to the market's sellers, unchanged.

A gateway is replaceable plumbing. It verifies the buyer's signature, looks the sellers up in
the registries (cached briefly), and posts the **unchanged** body to each with the buyer's
``Authorization`` and its own ``X-Gateway-Authorization``; the sellers' ``on_search`` answers
come back through it (BECKN-006 steps 6-9) and go on to the buyer, again unchanged and
countersigned. It never ranks, filters, reorders or stores offers, and holds nothing but the
searches still in flight. A slow or dead seller delays no one: each forward has its own
timeout, and at most ``concurrency`` run at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from nacl.signing import VerifyKey

from supplymesh.adapters.peer_client import PeerAnswer, PeerUnreachable
from supplymesh.adapters.registry_client import RegistryError
from supplymesh.protocol import signing
from supplymesh.protocol.actions import Action
from supplymesh.protocol.context import check_fresh, require
from supplymesh.protocol.envelope import Envelope, decode
from supplymesh.protocol.errors import ErrorCode, ProtocolError, SignatureError, SignatureFailure
from supplymesh.protocol.keys import SigningKeyPair

log = logging.getLogger("supplymesh.gateway")

Post = Callable[[str, bytes, dict[str, str], float], Awaitable[PeerAnswer]]
KeyLookup = Callable[[str, str], Awaitable[VerifyKey | None]]
SellerLookup = Callable[[str, str | None], Awaitable[list[tuple[str, str]]]]
UrlLookup = Callable[[str], Awaitable[str | None]]


@dataclass(frozen=True, slots=True)
class GatewayIdentity:
    """The gateway's own identity: it countersigns what it forwards."""

    subscriber_id: str
    unique_key_id: str
    url: str
    signing: SigningKeyPair

    def countersign(self, body: bytes, now: float, ttl: int = 300) -> str:
        """The X-Gateway-Authorization value for ``body``."""
        return signing.sign_at(
            body,
            self.signing,
            subscriber_id=self.subscriber_id,
            unique_key_id=self.unique_key_id,
            now=now,
            ttl=ttl,
        )


@dataclass
class Gateway:
    """Search fan-out and on_search relay."""

    identity: GatewayIdentity
    verify_key: KeyLookup
    sellers: SellerLookup
    url_of: UrlLookup
    post: Post
    concurrency: int = 32
    seller_timeout: float = 5.0
    market_ttl: float = 30.0
    clock: Callable[[], float] = time.time
    _markets: dict[tuple[str, str | None], tuple[float, list[tuple[str, str]]]] = field(
        default_factory=dict
    )
    _in_flight: set[asyncio.Task[None]] = field(default_factory=set)
    forwarded: int = 0
    relayed: int = 0

    async def _verified(self, raw: bytes, authorization: str, action: Action) -> Envelope:
        now = self.clock()
        params = signing.parse_signature_header(authorization)
        key = await self.verify_key(params.subscriber_id, params.unique_key_id)
        if key is None:
            raise SignatureError(
                SignatureFailure.UNKNOWN_KEY,
                f"no valid key for {params.subscriber_id} ({params.unique_key_id})",
            )
        signing.verify(authorization, raw, now=now, key=key)
        env = decode(raw, expected_action=action)
        require(env.context)
        if env.context.sender_id != params.subscriber_id:
            raise SignatureError(
                SignatureFailure.SIGNER_MISMATCH,
                f"signed by {params.subscriber_id!r}, sent as {env.context.sender_id!r}",
            )
        return env

    async def _market(self, domain: str, city: str | None) -> list[tuple[str, str]]:
        now = self.clock()
        cached = self._markets.get((domain, city))
        if cached is not None and now - cached[0] < self.market_ttl:
            return cached[1]
        try:
            sellers = await self.sellers(domain, city)
        except RegistryError as exc:
            if cached is None:
                raise
            # Every registry down: the sellers we last saw beat refusing every search.
            log.warning(
                "no registry answered (%s); using the sellers of %s/%s looked up %.0f s ago",
                exc,
                domain,
                city,
                now - cached[0],
            )
            return cached[1]
        self._markets[(domain, city)] = (now, sellers)
        return sellers

    async def search(self, raw: bytes, authorization: str) -> int:
        """Check a buyer's search and start its fan-out; returns how many sellers it goes to.

        Raises SignatureError / ProtocolError for the caller to NACK, and RegistryError when no
        registry answers and the market's sellers were never looked up.
        """
        env = await self._verified(raw, authorization, Action.SEARCH)
        check_fresh(env.context, datetime.fromtimestamp(self.clock(), UTC))
        ctx = env.context
        if ctx.bpp_id:
            url = ctx.bpp_uri or await self.url_of(ctx.bpp_id)
            targets = [(ctx.bpp_id, url)] if url else []
        else:
            targets = await self._market(str(ctx.domain), ctx.city_code)
        targets = [(sid, url) for sid, url in targets if sid != ctx.bap_id]
        if not targets:
            raise ProtocolError(
                ErrorCode.PROVIDER_NOT_FOUND,
                f"no seller is subscribed for {ctx.domain} in {ctx.city_code}",
                "$.context",
            )
        headers = {
            "Content-Type": "application/json",
            "Authorization": authorization,
            signing.GATEWAY_AUTHORIZATION: self.identity.countersign(raw, self.clock()),
        }
        task = asyncio.create_task(self._fan_out(raw, headers, targets))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)
        return len(targets)

    async def _fan_out(
        self, raw: bytes, headers: dict[str, str], targets: list[tuple[str, str]]
    ) -> None:
        gate = asyncio.Semaphore(self.concurrency)

        async def one(seller_id: str, url: str) -> None:
            async with gate:
                try:
                    answer = await asyncio.wait_for(
                        self.post(url.rstrip("/") + "/search", raw, headers, self.clock()),
                        self.seller_timeout,
                    )
                except (PeerUnreachable, TimeoutError) as exc:
                    log.info("search to %s failed: %s", seller_id, str(exc) or "timed out")
                    return
                self.forwarded += 1
                if answer.status >= 300:
                    log.info(
                        "%s refused the search: HTTP %s %s",
                        seller_id,
                        answer.status,
                        answer.body[:200],
                    )

        await asyncio.gather(*(one(sid, url) for sid, url in targets))

    async def on_search(self, raw: bytes, authorization: str) -> PeerAnswer:
        """Relay a seller's on_search to the buyer, unchanged and countersigned.

        The buyer's answer is returned to the seller as it is, so the seller's outbox retries
        when the buyer is down: the gateway keeps nothing.
        """
        env = await self._verified(raw, authorization, Action.ON_SEARCH)
        # Relay to where the registry says the buyer is, not to what the message claims: a
        # seller must not be able to point the gateway at an arbitrary address.
        buyer_url = await self.url_of(str(env.context.bap_id))
        if buyer_url is None:
            raise ProtocolError(
                ErrorCode.UNKNOWN_SENDER,
                f"{env.context.bap_id} is not on any registry this gateway can reach",
                "$.context.bap_id",
            )
        target = buyer_url.rstrip("/") + "/on_search"
        headers = {
            "Content-Type": "application/json",
            "Authorization": authorization,
            signing.GATEWAY_AUTHORIZATION: self.identity.countersign(raw, self.clock()),
        }
        answer = await self.post(target, raw, headers, self.clock())
        self.relayed += 1
        return answer
