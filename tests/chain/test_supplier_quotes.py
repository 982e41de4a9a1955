"""A maker asks its suppliers' nodes for quotes, recursively: shop → furniture maker → board
mill (a maker too) → timber merchant, with a supplier that never answers and one that refuses
ranked ahead of the mill.

The mill saws 2 boards an hour, 8 h a day, every day; timber comes 2 days after an order (the
merchant's lead time in the mill's rule). 20 boards: timber on day 2, 10 h of sawing on days 2
and 3, so the mill promises day 3. The maker's rule says 9 days for the mill, but the mill's own
date is what counts: boards on day 3, 20 h of assembly on days 3, 5 (4 is a holiday) and 6.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chain_support import (
    buy,
    day,
    network,
    promise_update,
    purchase_orders,
    select,
    seller_orders,
    tags,
)

from supplymesh.adapters.node_home import NodeRole
from supplymesh.entrypoints.demo import Participant, _wait
from supplymesh.entrypoints.demo_chain import board_mill


def maker_data() -> dict[str, Any]:
    """The furniture maker: asks ghost, then cheap, then the mill, for boards."""
    return {
        "items": [
            {"id": "table", "name": "Oak table", "procurement": "make", "unit_price": "12000"},
            {"id": "board", "name": "Oak board", "procurement": "buy"},
        ],
        "bom": [{"parent": "table", "component": "board", "quantity_per": "2"}],
        "routings": [
            {"item_id": "table",
             "operations": [{"sequence": 10, "work_center_id": "assembly", "hours_per_unit": "2"}]}
        ],
        "work_centers": [
            {"id": "assembly", "hours_per_day": "8", "working_weekdays": [0, 1, 2, 3, 4, 5, 6],
             "holidays": [day(4)]}
        ],
        "sourcing": [
            {"item_id": "board", "ask_quotes": True,
             "suppliers": [
                 {"supplier_id": "ghost.demo", "lead_time_days": 1},
                 {"supplier_id": "cheap.demo", "lead_time_days": 1},
                 {"supplier_id": "mill.demo", "lead_time_days": 9}]}
        ],
        "quote_wait_seconds": 2,
    }  # fmt: skip


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[dict[str, Participant]]:
    nodes = [
        ("timber", NodeRole.BPP),
        ("cheap", NodeRole.BPP),
        ("ghost", NodeRole.BPP),
        ("mill", NodeRole.BOTH),
        ("maker", NodeRole.BOTH),
        ("shop", NodeRole.BAP),
    ]
    with network(tmp_path, nodes) as started:
        assert started["ghost"].server is not None
        started["ghost"].server.stop()  # subscribed, then gone: it never answers
        started["timber"].call(
            "POST", "/owner/catalog",
            [{"id": "timber", "name": "Oak log", "unit_price": "90", "on_hand": 100}],
        )  # fmt: skip
        started["cheap"].call(
            "POST", "/owner/catalog",
            [{"id": "board", "name": "Cheap board", "unit_price": "100", "on_hand": 5}],
        )  # fmt: skip
        started["mill"].call("POST", "/owner/production", board_mill())
        started["maker"].call("POST", "/owner/production", maker_data())
        yield started


def test_the_promise_date_comes_from_the_suppliers_own_plans(
    chain: dict[str, Participant],
) -> None:
    """ghost times out, cheap refuses (5 boards), the mill answers day 3: the shop gets day 6;
    confirming places a PO with the mill, and the mill one with the timber merchant."""
    shop, maker, mill, timber = chain["shop"], chain["maker"], chain["mill"], chain["timber"]
    _, quoted = select(shop, maker, "table", 10)
    plan = tags(quoted, "plan")
    assert plan["promise_date"] == day(6)
    assert "3 days supplier lead time from mill.demo" in plan["critical_path"]

    tx, confirmed = buy(shop, maker, "table", 10)
    assert tags(confirmed, "plan")["promise_date"] == day(6)
    _wait("the maker's PO confirmed", lambda: purchase_orders(maker)[0]["state"] == "confirmed")
    _wait("the mill's PO confirmed", lambda: purchase_orders(mill)[0]["state"] == "confirmed")
    [po] = purchase_orders(maker)
    assert (po["supplier_id"], po["quantity"], po["due"]) == ("mill.demo", "20", day(3))
    [board_order] = seller_orders(mill)
    assert board_order["lines"][0]["quantity"] == 20
    [timber_order] = seller_orders(timber)
    assert timber_order["lines"][0]["quantity"] == 20
    assert seller_orders(chain["cheap"]) == []

    # A timber delay moves the mill's promise, which moves the maker's, which the shop hears.
    timber.call(
        "POST",
        f"/owner/orders/{timber_order['id']}/delay",
        {"date": day(4), "reason": "river flooded"},
    )
    promise = _wait("the new promise at the shop", lambda: promise_update(shop, tx))
    # Timber on day 4, sawing days 4 and 5 (boards on day 5); assembly days 5, 6 and 7.
    assert (promise["previous_date"], promise["promise_date"]) == (day(6), day(7))
    assert "mill.demo delayed board" in promise["reason"]
    assert "timber.demo delayed timber" in promise["reason"]
    assert "river flooded" in promise["reason"]

    # Cancelling before production cancels the mill's order, and the mill cancels the timber.
    shop.call("POST", "/owner/cancel", {"transaction_id": tx, "reason": "changed my mind"})
    _wait("the timber order cancelled", lambda: seller_orders(timber)[0]["state"] == "Cancelled")
    assert seller_orders(mill)[0]["state"] == "Cancelled"
    _wait("both POs cancelled", lambda: purchase_orders(mill)[0]["state"] == "cancelled")
    assert purchase_orders(maker)[0]["state"] == "cancelled"
    for node, po in ((mill, purchase_orders(maker)[0]), (timber, purchase_orders(mill)[0])):
        incoming = node.call("GET", f"/owner/transactions/{po['transaction_id']}")["incoming"]
        assert [m["action"] for m in incoming].count("cancel") == 1


def test_no_source_left_names_the_short_component(chain: dict[str, Participant]) -> None:
    """100 tables need 200 boards: every board supplier fails (the mill for want of timber);
    the quote says boards are short and why."""
    shop, maker = chain["shop"], chain["maker"]
    _, quoted = select(shop, maker, "table", 100)
    plan = tags(quoted, "plan")
    assert "promise_date" not in plan
    assert plan["short_component"] == "board"
    reason = plan["short_reason"]
    assert "ghost.demo: no answer in time" in reason
    assert "cheap.demo: refused" in reason
    assert "mill.demo: cannot supply" in reason
    assert "timber" in reason  # the mill is short of timber itself
    assert quoted["order"].get("quote") is None
