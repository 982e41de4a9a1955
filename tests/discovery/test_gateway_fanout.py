"""Searching through a gateway and directly: the same offers, and no seller can hold it up."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from discovery_support import ACK, GATEWAY_SELLER_TIMEOUT, CityMarket, Marketplace, boots
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from supplymesh.adapters.node_home import NodeRole
from supplymesh.protocol.registry import SubscriberType
from supplymesh.testing.market import MarketNode

BOUND = 2.0  # seconds within which every healthy seller's answer must be in


def offer_set(buyer: MarketNode, transaction_id: str) -> set[tuple[str, str, str]]:
    """(seller, item, price) of every offer the buyer's owner API ranks for the search."""
    return {(o["seller"], o["item_id"], o["unit_price"]) for o in buyer.offers(transaction_id)}


def test_a_search_through_the_gateway_finds_the_same_offers_as_a_direct_search(
    marketplace: Marketplace, twenty: CityMarket
) -> None:
    """Twenty sellers answer through one gateway, and the same search made directly brings
    back exactly the same (seller, item, price) offers."""
    relayed_before = marketplace.gateway.gateway.relayed

    via = twenty.via_gateway.search("boot")
    assert via["peers"] == [marketplace.gateway.url]
    through = twenty.via_gateway.arrivals.wait(via["transaction_id"], 20, timeout=15)

    direct = twenty.direct.search("boot")
    assert set(direct["peers"]) == twenty.seller_ids
    straight = twenty.direct.arrivals.wait(direct["transaction_id"], 20, timeout=15)

    assert {a.sender for a in through} == twenty.seller_ids
    assert {a.sender for a in straight} == twenty.seller_ids
    assert marketplace.gateway.gateway.relayed - relayed_before == 20
    found_through = offer_set(twenty.via_gateway, via["transaction_id"])
    found_direct = offer_set(twenty.direct, direct["transaction_id"])
    assert found_through == found_direct
    assert len(found_through) == 40  # two boots from each of twenty sellers; no laces
    assert {seller for seller, _, _ in found_through} == twenty.seller_ids


class SlowSeller:
    """A seller that takes ``delay`` seconds to answer a search (and then only ACKs)."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.searches: list[float] = []

    async def search(self, _request: Request) -> Response:
        """POST /search: noted, then answered late."""
        self.searches.append(time.monotonic())
        await asyncio.sleep(self.delay)
        return Response(ACK, media_type="application/json")


def test_slow_and_dead_sellers_do_not_delay_the_healthy_sellers_answers(
    marketplace: Marketplace,
) -> None:
    """A seller that sleeps past the gateway's timeout and one whose URL refuses connections
    hold up no one: the healthy sellers' answers arrive within 2 s, through the gateway and
    directly."""
    market, city = marketplace.market, "std:022"
    slow = SlowSeller(delay=GATEWAY_SELLER_TIMEOUT * 3)
    sleeper = market.add_participant(
        "slow-seller",
        SubscriberType.BPP,
        [Route("/search", slow.search, methods=["POST"])],
        city=city,
    )
    dead = market.add_participant("dead-seller", SubscriberType.BPP, city=city)
    dead.stop()  # subscribed, and now refusing connections
    healthy = [market.add_node(f"quick-{i}", catalog=boots(i), city=city) for i in range(6)]
    via = market.add_node(
        "slow-buyer-gw", NodeRole.BAP, city=city, gateways=[marketplace.gateway.url]
    )
    direct = market.add_node("slow-buyer-direct", NodeRole.BAP, city=city)
    market.wait_subscribed(*(n.subscriber_id for n in [*healthy, via, direct]))
    healthy_ids = {n.subscriber_id for n in healthy}

    timings: dict[str, Any] = {}
    for label, buyer in (("gateway", via), ("direct", direct)):
        searched = len(slow.searches)
        started = time.monotonic()
        sent = buyer.search("boot")
        arrived = buyer.arrivals.wait(sent["transaction_id"], len(healthy), timeout=BOUND)
        timings[label] = max(a.at for a in arrived) - started
        assert {a.sender for a in arrived} == healthy_ids
        assert len(slow.searches) > searched, f"the slow seller was not asked ({label})"
        if label == "direct":
            assert {dead.subscriber_id, sleeper.subscriber_id} <= set(sent["peers"])
    assert all(seconds < BOUND for seconds in timings.values()), timings


@pytest.mark.parametrize("route", ["gateway", "direct"])
def test_a_slow_seller_does_not_hold_up_the_buyers_next_search(
    marketplace: Marketplace, route: str
) -> None:
    """Right after a search that reached a slow seller, the buyer's next search is answered by
    the healthy sellers within 2 s too."""
    market, city = marketplace.market, f"std:05{len(route)}"
    slow = SlowSeller(delay=4.0)
    routes = [Route("/search", slow.search, methods=["POST"])]
    market.add_participant(f"sluggish-{route}", SubscriberType.BPP, routes, city=city)
    healthy = [market.add_node(f"brisk-{route}-{i}", catalog=boots(i), city=city) for i in range(3)]
    gateways = [marketplace.gateway.url] if route == "gateway" else []
    buyer = market.add_node(f"hasty-{route}", NodeRole.BAP, city=city, gateways=gateways)
    market.wait_subscribed(*(n.subscriber_id for n in [*healthy, buyer]))

    first = buyer.search("boot")["transaction_id"]
    buyer.arrivals.wait(first, len(healthy), timeout=BOUND)
    started = time.monotonic()
    second = buyer.search("boot")["transaction_id"]
    arrived = buyer.arrivals.wait(second, len(healthy), timeout=BOUND)

    assert max(a.at for a in arrived) - started < BOUND
