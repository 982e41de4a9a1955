"""A gateway that alters a search is caught by the sellers; with no gateway up, buyers go direct."""

from __future__ import annotations

import time

from discovery_support import Marketplace, TamperingGateway, boots
from starlette.routing import Route

from supplymesh.adapters.node_home import NodeRole
from supplymesh.protocol.registry import SubscriberType
from supplymesh.testing.servers import free_port

CITY = "std:033"


def test_sellers_refuse_a_search_a_gateway_altered_and_the_buyer_then_searches_directly(
    marketplace: Marketplace,
) -> None:
    """A gateway that changes one byte and countersigns the change gets a 401 NACK from every
    seller (the buyer's signature no longer verifies); once every configured gateway is down the
    buyer searches the sellers directly and hears from all of them."""
    market = marketplace.market
    sellers = [market.add_node(f"careful-{i}", catalog=boots(i), city=CITY) for i in range(3)]
    tamperer = TamperingGateway([(s.subscriber_id, s.url) for s in sellers])
    tamperer.me = market.add_participant(
        "tampering-gateway",
        SubscriberType.BG,
        [Route("/search", tamperer.search, methods=["POST"])],
        city=CITY,
    )
    never_up = f"http://127.0.0.1:{free_port()}"
    buyer = market.add_node(
        "careful-buyer", NodeRole.BAP, city=CITY, gateways=[tamperer.me.url, never_up]
    )
    market.wait_subscribed(*(n.subscriber_id for n in [*sellers, buyer]))

    sent = buyer.search("boot")
    assert sent["peers"] == [tamperer.me.url]
    deadline = time.monotonic() + 10
    while len(tamperer.answers) < len(sellers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert {a.seller_id for a in tamperer.answers} == {s.subscriber_id for s in sellers}
    for answer in tamperer.answers:
        assert answer.status == 401, answer
        assert answer.body["message"]["ack"]["status"] == "NACK"
        assert answer.body["error"]["paths"] == "Authorization"  # the buyer's, not the gateway's
        assert answer.body["error"]["message"].startswith("bad-signature")
        assert buyer.subscriber_id in answer.body["error"]["message"]
        assert answer.headers["www-authenticate"].startswith("Signature realm=")
    time.sleep(0.5)  # nothing may arrive: the sellers stored and answered nothing
    assert buyer.arrivals.of(sent["transaction_id"]) == []
    assert all(s.arrivals.of(sent["transaction_id"], "search") == [] for s in sellers)

    tamperer.me.stop()
    fallback = buyer.search("boot")
    assert set(fallback["peers"]) == {s.subscriber_id for s in sellers}
    arrived = buyer.arrivals.wait(fallback["transaction_id"], len(sellers), timeout=10)
    assert {a.sender for a in arrived} == {s.subscriber_id for s in sellers}
