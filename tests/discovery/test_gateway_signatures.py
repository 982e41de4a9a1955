"""A seller checks the buyer's signature and the gateway's, each against its own registry key."""

from __future__ import annotations

import time

import httpx
from discovery_support import CityMarket, Marketplace, signed_search

from supplymesh.protocol import signing
from supplymesh.protocol.keys import SigningKeyPair
from supplymesh.testing.market import MarketNode


def post_search(seller: MarketNode, raw: bytes, authorization: str, relay: str) -> httpx.Response:
    """POST the search to the seller as if a gateway forwarded it."""
    headers = {
        "Content-Type": "application/json",
        "Authorization": authorization,
        signing.GATEWAY_AUTHORIZATION: relay,
    }
    return httpx.post(f"{seller.url}/search", content=raw, headers=headers, timeout=10)


def test_a_gateway_signature_by_a_key_that_is_not_the_gateways_is_refused_with_401(
    marketplace: Marketplace, pair: CityMarket
) -> None:
    """A valid buyer signature with an X-Gateway-Authorization naming the gateway's key but
    made with another key is refused: 401, a NACK, and a Proxy-Authenticate challenge."""
    gateway = marketplace.gateway.gateway.identity
    seller = pair.sellers[0]
    raw, authorization = signed_search(pair.direct)
    created = int(time.time())
    forged = signing.sign(
        raw,
        SigningKeyPair.generate(),
        subscriber_id=gateway.subscriber_id,
        unique_key_id=gateway.unique_key_id,
        created=created,
        expires=created + 300,
    )

    refused = post_search(seller, raw, authorization, forged)

    assert refused.status_code == 401, refused.text
    assert refused.json()["message"]["ack"]["status"] == "NACK"
    assert refused.json()["error"]["paths"] == signing.GATEWAY_AUTHORIZATION
    assert refused.headers["proxy-authenticate"].startswith("Signature realm=")
    assert "www-authenticate" not in refused.headers


def test_the_same_search_countersigned_by_the_gateways_own_key_is_acked(
    marketplace: Marketplace, pair: CityMarket
) -> None:
    """The control: the gateway's real countersignature over the unchanged body is ACKed."""
    gateway = marketplace.gateway.gateway.identity
    raw, authorization = signed_search(pair.direct)

    accepted = post_search(
        pair.sellers[0], raw, authorization, gateway.countersign(raw, time.time())
    )

    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["message"]["ack"]["status"] == "ACK"


def test_a_gateway_signature_by_a_participant_that_is_no_gateway_is_refused_with_401(
    pair: CityMarket,
) -> None:
    """A genuine signature by a registered seller in the gateway header is refused: only a BG
    may relay."""
    impostor = pair.sellers[1]
    raw, authorization = signed_search(pair.direct)
    genuine = impostor.node.service.identity.sign(raw, time.time())

    refused = post_search(pair.sellers[0], raw, authorization, genuine)

    assert refused.status_code == 401, refused.text
    assert refused.json()["message"]["ack"]["status"] == "NACK"
