"""What the discovery tests share: the market fixtures' types, catalogs, and test doubles."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import msgspec
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response

from supplymesh.domain.catalog import CatalogItem
from supplymesh.protocol import schema as s
from supplymesh.protocol import signing
from supplymesh.protocol.actions import Action
from supplymesh.protocol.context import callback_context, new_context
from supplymesh.protocol.envelope import Envelope, decode, encode, envelope
from supplymesh.protocol.messages import OnSearchMessage, SearchMessage
from supplymesh.services import wire
from supplymesh.testing.market import (
    COUNTRY,
    DOMAIN,
    GatewayServer,
    Market,
    MarketNode,
    ParticipantServer,
)

ACK = b'{"message":{"ack":{"status":"ACK"}}}'

GATEWAY_SELLER_TIMEOUT = 1.0
SELLERS = 20


@dataclass
class Marketplace:
    """A module's market and its gateway."""

    market: Market
    gateway: GatewayServer


@dataclass
class CityMarket:
    """Sellers in one city, a buyer there searching through the gateway and one searching
    directly."""

    sellers: list[MarketNode]
    via_gateway: MarketNode
    direct: MarketNode

    @property
    def seller_ids(self) -> set[str]:
        """The sellers' subscriber ids."""
        return {s.subscriber_id for s in self.sellers}


def boots(number: int) -> list[dict[str, Any]]:
    """Seller ``number``'s catalog: two boots at prices of its own, and laces nobody searches."""
    base = Decimal(1000 + 7 * number)
    return [
        {"id": "boot-40", "name": "Work boot 40", "unit_price": str(base), "on_hand": 50,
         "lead_time_days": number % 5, "attributes": {"material": "leather"}},
        {"id": "boot-42", "name": "Work boot 42", "unit_price": str(base + 50), "on_hand": 50,
         "lead_time_days": 3},
        {"id": "laces", "name": "Laces", "unit_price": "20", "on_hand": 500},
    ]  # fmt: skip


@dataclass(frozen=True)
class SellerAnswer:
    """What a seller answered a forwarded search."""

    seller_id: str
    status: int
    body: dict[str, Any]
    headers: dict[str, str]


class TamperingGateway:
    """Behaves like a gateway, but changes one byte of the search before forwarding it, and
    countersigns the changed body with its own (registered, valid) key."""

    def __init__(self, sellers: list[tuple[str, str]]) -> None:
        self.sellers = sellers
        self.me: ParticipantServer | None = None
        self.answers: list[SellerAnswer] = []

    @staticmethod
    def tamper(raw: bytes) -> bytes:
        """The body with the searched word ``boot`` turned into ``boat``: one byte."""
        changed = raw.replace(b'"boot"', b'"boat"', 1)
        assert len(changed) == len(raw)
        assert sum(a != b for a, b in zip(raw, changed, strict=True)) == 1
        return changed

    async def search(self, request: Request) -> Response:
        """POST /search: forward the altered body to every seller; keep their answers."""
        assert self.me is not None
        changed = self.tamper(await request.body())
        headers = {
            "Content-Type": "application/json",
            "Authorization": request.headers["authorization"],
            signing.GATEWAY_AUTHORIZATION: self.me.sign(changed),
        }
        async with httpx.AsyncClient(timeout=5) as client:
            for seller_id, url in self.sellers:
                answer = await client.post(f"{url}/search", content=changed, headers=headers)
                self.answers.append(
                    SellerAnswer(seller_id, answer.status_code, answer.json(), dict(answer.headers))
                )
        return Response(ACK, media_type="application/json")


class SelfRatingSeller:
    """A seller whose on_search rates itself and its items 5 stars (Beckn's provider.rating
    and item.rating), answering the buyer directly."""

    def __init__(self, items: list[CatalogItem]) -> None:
        self.items = items
        self.me: ParticipantServer | None = None

    async def search(self, request: Request) -> Response:
        """POST /search: ACK now, answer on_search right after."""
        env = decode(await request.body(), expected_action=Action.SEARCH)
        return Response(
            ACK, media_type="application/json", background=BackgroundTask(self._answer, env)
        )

    async def _answer(self, request: Envelope) -> None:
        me = self.me
        assert me is not None
        ctx = callback_context(
            request.context, now=datetime.now(UTC), bpp_id=me.subscriber_id, bpp_uri=me.url
        )
        provider = s.Provider(
            id=me.subscriber_id,
            descriptor=s.Descriptor(name="Five Star Boots"),
            rating="5",
            items=tuple(
                msgspec.structs.replace(wire.catalog_item(item), rating="5") for item in self.items
            ),
        )
        body = encode(envelope(ctx, OnSearchMessage(catalog=s.Catalog(providers=(provider,)))))
        async with httpx.AsyncClient(timeout=5) as client:
            answer = await client.post(
                f"{str(ctx.bap_uri).rstrip('/')}/on_search",
                content=body,
                headers={"Content-Type": "application/json", "Authorization": me.sign(body)},
            )
        assert answer.status_code == 200, answer.text


def signed_search(buyer: MarketNode) -> tuple[bytes, str]:
    """A fresh search body from ``buyer``, and the buyer's own valid Authorization for it."""
    now = time.time()
    ctx = new_context(
        Action.SEARCH,
        now=datetime.fromtimestamp(now, UTC),
        domain=DOMAIN,
        bap_id=buyer.subscriber_id,
        bap_uri=buyer.url,
        city=buyer.node.config.city,
        country=COUNTRY,
        message_id=str(uuid.uuid4()),
    )
    raw = encode(
        envelope(ctx, SearchMessage(intent=s.Intent(item=s.Item(descriptor=s.Descriptor("boot")))))
    )
    return raw, buyer.node.service.identity.sign(raw, now)
