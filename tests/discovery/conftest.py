"""A market for the discovery tests: a registry, one gateway, sellers and buyers on 127.0.0.1.

Each test module gets its own registry and gateway, stopped when the module ends (their
dispatchers and timers must not run on under other tests); within a module each test (or
fixture) trades in a city of its own, so its sellers, searches and the gateway's market cache
stay its own.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from discovery_support import GATEWAY_SELLER_TIMEOUT, SELLERS, CityMarket, Marketplace, boots

from supplymesh.adapters.node_home import NodeRole
from supplymesh.testing.market import CITY, Market


@pytest.fixture(scope="module")
def marketplace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Marketplace]:
    """A registry and a gateway (1 s per-seller timeout) for the module."""
    with Market(tmp_path_factory.mktemp("market")) as market:
        market.start_registry()
        gateway = market.start_gateway(seller_timeout=GATEWAY_SELLER_TIMEOUT)
        yield Marketplace(market, gateway)


@pytest.fixture(scope="module")
def twenty(marketplace: Marketplace) -> CityMarket:
    """Twenty subscribed sellers in CITY and two buyers there, one with the gateway."""
    market = marketplace.market
    sellers = [market.add_node(f"seller-{i:02d}", catalog=boots(i)) for i in range(SELLERS)]
    via = market.add_node("buyer-gw", NodeRole.BAP, gateways=[marketplace.gateway.url])
    direct = market.add_node("buyer-direct", NodeRole.BAP)
    market.wait_subscribed(*(n.subscriber_id for n in [*sellers, via, direct]))
    assert all(s.node.config.city == CITY for s in sellers)
    return CityMarket(sellers, via, direct)


@pytest.fixture(scope="module")
def pair(marketplace: Marketplace) -> CityMarket:
    """Two subscribed sellers in CITY and the same two buyers (for tests that need few)."""
    market = marketplace.market
    sellers = [market.add_node(f"seller-{i:02d}", catalog=boots(i)) for i in range(2)]
    via = market.add_node("buyer-gw", NodeRole.BAP, gateways=[marketplace.gateway.url])
    direct = market.add_node("buyer-direct", NodeRole.BAP)
    market.wait_subscribed(*(n.subscriber_id for n in [*sellers, via, direct]))
    return CityMarket(sellers, via, direct)
