"""The buyer's node ranks live offers by the buyer's own weights, and explains every place.

Four sellers answer one search (three real nodes and one test double that rates itself five
stars). Their offers, with the buyer wanting leather:

    seller        price  lead time  material   price  delivery  leather
    ranked-a        100    10 days  leather     1.0     0.0       1
    ranked-b        200     2 days  leather     0.0     1.0       1
    ranked-c        150     5 days  canvas      0.5     0.625     0
    five-star       180     6 days  leather     0.2     0.5       1

(min-max per criterion; lower price and delivery are better). With the buyer's configured
weights price 0.5, delivery 0.3, attributes 0.2 the scores are a 0.7, b 0.5, five-star 0.45,
c 0.4375; with delivery alone b 1, c 0.625, five-star 0.5, a 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from discovery_support import Marketplace, SelfRatingSeller
from starlette.routing import Route

from supplymesh.adapters.node_home import NodeRole
from supplymesh.domain.catalog import CatalogItem
from supplymesh.protocol.registry import SubscriberType
from supplymesh.testing.market import MarketNode

CITY = "std:044"
WEIGHTS = "price=0.5,delivery=0.3,distance=0,rating=0,attributes=0.2"
LEATHER = ["material:leather"]


def boot(price: int, lead_days: int, material: str) -> dict[str, Any]:
    """A one-boot catalog."""
    return {"id": "boot", "name": "Field boot", "unit_price": str(price), "on_hand": 10,
            "lead_time_days": lead_days, "attributes": {"material": material}}  # fmt: skip


@dataclass(frozen=True)
class Searched:
    """The buyer, and the transaction of its one search."""

    buyer: MarketNode
    transaction_id: str


@pytest.fixture(scope="module")
def ranked(marketplace: Marketplace) -> Searched:
    """The market of the table above, searched once, all four answers in."""
    market = marketplace.market
    a = market.add_node("ranked-a", catalog=[boot(100, 10, "leather")], city=CITY)
    b = market.add_node("ranked-b", catalog=[boot(200, 2, "leather")], city=CITY)
    c = market.add_node("ranked-c", catalog=[boot(150, 5, "canvas")], city=CITY)
    leather = {"material": "leather"}
    liar = SelfRatingSeller(
        [
            CatalogItem(
                "boot", "Field boot", Decimal(180), on_hand=10, lead_time_days=6, attributes=leather
            )
        ]
    )
    routes = [Route("/search", liar.search, methods=["POST"])]
    liar.me = market.add_participant("five-star", SubscriberType.BPP, routes, city=CITY)
    buyer = market.add_node("ranking-buyer", NodeRole.BAP, city=CITY, weights=WEIGHTS)
    market.wait_subscribed(*(n.subscriber_id for n in (a, b, c, buyer)))
    sent = buyer.search("boot")
    buyer.arrivals.wait(sent["transaction_id"], 4, timeout=10)
    return Searched(buyer, sent["transaction_id"])


def order(offers: list[dict[str, Any]]) -> list[str]:
    """The sellers' names, best first."""
    return [o["seller"].removesuffix(".example") for o in offers]


def test_offers_come_back_in_the_hand_computed_order_with_a_breakdown_each(
    ranked: Searched,
) -> None:
    """With the buyer's configured weights the offers are a, b, five-star, c, scored as
    computed by hand, and each carries its breakdown per criterion."""
    buyer, tx = ranked.buyer, ranked.transaction_id

    offers = buyer.offers(tx, want=LEATHER)

    assert order(offers) == ["ranked-a", "ranked-b", "five-star", "ranked-c"]
    assert [o["score"] for o in offers] == pytest.approx([0.7, 0.5, 0.45, 0.4375])
    assert [o["rank"] for o in offers] == [1, 2, 3, 4]
    for offer in offers:
        parts = offer["breakdown"]
        assert set(parts) == {"price", "delivery", "distance", "rating", "attributes"}
        assert sum(p["contribution"] for p in parts.values()) == pytest.approx(offer["score"])
    a = offers[0]["breakdown"]
    assert a["price"] == {"value": 100.0, "score": 1.0, "weight": 0.5, "contribution": 0.5}
    assert a["delivery"]["value"] == 10.0
    assert a["delivery"]["score"] == 0.0
    assert a["attributes"]["score"] == 1.0


def test_changing_the_weights_in_the_query_changes_the_order_accordingly(ranked: Searched) -> None:
    """?weights= with delivery alone puts the fastest first: b, c, five-star, a."""
    buyer, tx = ranked.buyer, ranked.transaction_id

    offers = buyer.offers(tx, weights="price=0,delivery=1,attributes=0", want=LEATHER)

    assert order(offers) == ["ranked-b", "ranked-c", "five-star", "ranked-a"]
    assert [o["score"] for o in offers] == pytest.approx([1.0, 0.625, 0.5, 0.0])
    assert all(o["breakdown"]["price"]["weight"] == 0 for o in offers)


def test_a_sellers_self_reported_rating_changes_nothing(ranked: Searched) -> None:
    """The five-star seller's own provider and item ratings are ignored: ranked by rating
    alone every offer scores 0, and ties go by price."""
    buyer, tx = ranked.buyer, ranked.transaction_id

    offers = buyer.offers(tx, weights="price=0,delivery=0,attributes=0,rating=1")

    assert order(offers) == ["ranked-a", "ranked-c", "five-star", "ranked-b"]
    assert all(o["score"] == 0 for o in offers)
    assert all(o["rating"] is None for o in offers)
    assert all(o["breakdown"]["rating"]["value"] is None for o in offers)
