"""C2M across nodes: a consumer's demand reaches makers, who answer with made-to-order offers."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from supplymesh.adapters.node_home import NodeRole
from supplymesh.entrypoints.demo import Participant, Story, _network, _start_node, _wait


@pytest.fixture
def market(tmp_path: Path) -> Iterator[tuple[Participant, Participant, Participant]]:
    story = Story(directory=tmp_path, console=Console(file=io.StringIO()))
    with _network(story) as (registry_url, maker, shop):
        other = _start_node(story, "cobbler", NodeRole.BPP, registry_url, "Small sizes only")
        yield maker, other, shop


def test_a_demand_gets_made_to_order_offers_with_promise_dates(
    market: tuple[Participant, Participant, Participant],
) -> None:
    """The maker that can make it answers with price and promise; the one that cannot, nothing."""
    maker, cobbler, shop = market
    maker.call(
        "POST",
        "/owner/catalog",
        [{"id": "custom", "name": "Custom sneaker", "unit_price": "2800", "category": "footwear",
          "lead_time_days": 12, "attributes": {"colour": "*", "size": "38-46"}}],
    )  # fmt: skip
    cobbler.call(
        "POST",
        "/owner/catalog",
        [{"id": "kids", "name": "Kids sneaker", "unit_price": "900", "category": "footwear",
          "lead_time_days": 3, "attributes": {"colour": "*", "size": "28-36"}}],
    )  # fmt: skip
    body = {
        "category": "footwear",
        "spec": {"colour": "teal", "size": "42"},
        "quantity": 2,
        "price_ceiling": "3000",
        "needed_by": "2099-01-01",
    }
    tx = shop.call("POST", "/owner/demand", body)["transaction_id"]
    offers = _wait(
        "the maker's offer",
        lambda: shop.call("GET", f"/owner/transactions/{tx}/offers?want=size:42"),
    )
    _wait(
        "both answers",
        lambda: (
            len(
                [
                    m
                    for m in shop.call("GET", f"/owner/transactions/{tx}")["incoming"]
                    if m["action"] == "on_search"
                ]
            )
            == 2
        ),
    )
    offers = shop.call("GET", f"/owner/transactions/{tx}/offers?want=size:42")
    assert [(o["seller"], o["item_id"]) for o in offers if o["source"] == "live"] == [
        (maker.name, "custom")
    ]
    [offer] = [o for o in offers if o["source"] == "live"]
    assert offer["delivery_days"] == 12
    assert offer["breakdown"]["attributes"]["value"] == 1.0
