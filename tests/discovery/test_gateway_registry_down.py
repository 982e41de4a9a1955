"""A gateway whose registries are all down keeps searching the sellers it last looked up."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from discovery_support import boots, signed_search

from supplymesh.adapters.node_home import NodeRole
from supplymesh.testing.market import Market, port_of


def test_a_gateway_keeps_fanning_out_to_the_sellers_it_knew_while_the_registry_is_down(
    tmp_path: Path,
) -> None:
    """With the registry stopped and its market list out of date, the gateway still reaches
    the sellers it last saw; restarted without any list, it answers 503 NACK, not a bare 500."""
    with Market(tmp_path) as market:
        market.start_registry()
        gateway = market.start_gateway("lonely-gateway")
        seller = market.add_node("lonely-seller", catalog=boots(1))
        buyer = market.add_node("lonely-buyer", NodeRole.BAP, gateways=[gateway.url])
        market.wait_subscribed(seller.subscriber_id, buyer.subscriber_id)
        first = buyer.search("boot")["transaction_id"]
        buyer.arrivals.wait(first, 1, timeout=10)

        market.stop_registry()
        gateway.gateway.market_ttl = 0.0  # the list is out of date: it would be looked up again
        again = buyer.search("boot")
        assert again["peers"] == [gateway.url]
        assert [a.sender for a in buyer.arrivals.wait(again["transaction_id"], 1, timeout=10)] == [
            seller.subscriber_id
        ]

        gateway.stop()  # the same gateway (home, keys, key cache) back, knowing no market
        market.start_gateway("lonely-gateway", port=port_of(gateway.url), wait=False)
        raw, authorization = signed_search(buyer)
        started = time.monotonic()
        answer = httpx.post(
            f"{gateway.url}/search",
            content=raw,
            headers={"Content-Type": "application/json", "Authorization": authorization},
            timeout=10,
        )
        assert answer.status_code == 503, answer.text
        assert answer.json()["message"]["ack"]["status"] == "NACK"
        assert "no registry answered" in answer.json()["error"]["message"]
        assert time.monotonic() - started < 5
