"""Made to order across nodes: a shop buys from a furniture maker, who buys from a board mill.

Each is its own node (keys, database, server on 127.0.0.1) subscribed at one registry. The
maker's assembly line works 8 h a day, every day but one holiday (day 4); a table takes 2
boards and 2 h of assembly; the mill delivers boards 3 days after an order (the maker's
sourcing rule). Dates count from today (UTC), so the hand computation holds on any weekday.
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
from supplymesh.entrypoints.demo import DemoFailed, Participant, _received, _wait


def production(mill: str) -> dict[str, Any]:
    """The maker's data."""
    return {
        "items": [
            {"id": "table", "name": "Oak table", "procurement": "make", "unit_price": "12000"},
            {"id": "board", "name": "Oak board", "unit": "pcs", "procurement": "buy"},
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
            {"item_id": "board",
             "suppliers": [{"supplier_id": mill, "lead_time_days": 3,
                            "supplier_item_id": "board-18", "unit_price": "400"}]}
        ],
    }  # fmt: skip


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[tuple[Participant, Participant, Participant]]:
    nodes = [("mill", NodeRole.BPP), ("maker", NodeRole.BOTH), ("shop", NodeRole.BAP)]
    with network(tmp_path, nodes) as started:
        mill, maker, shop = started["mill"], started["maker"], started["shop"]
        mill.call(
            "POST",
            "/owner/catalog",
            [{"id": "board-18", "name": "Oak board 18 mm", "unit_price": "400",
              "on_hand": 1000, "lead_time_days": 3}],
        )  # fmt: skip
        maker.call("POST", "/owner/production", production(mill.name))
        yield shop, maker, mill


def test_promise_dates_follow_capacity_and_supplier_lead_time(
    chain: tuple[Participant, Participant, Participant],
) -> None:
    """10 tables: boards on day 3, 20 h of assembly on days 3, 5 (4 is a holiday) and 6; the
    next 10 wait for the line: 4 h left on day 6, then days 7 and 8."""
    shop, maker, mill = chain
    _, quoted = select(shop, maker, "table", 10)
    plan = tags(quoted, "plan")
    assert plan["promise_date"] == day(6)
    assert "3 days supplier lead time from mill.demo" in plan["critical_path"]
    breakup = {
        line["title"]: line["price"]["value"] for line in quoted["order"]["quote"]["breakup"]
    }
    assert breakup["Oak table table"] == "120000.00"
    assert "Delivery" in breakup

    first_tx, first = buy(shop, maker, "table", 10)
    assert tags(first, "plan")["promise_date"] == day(6)
    _, second = buy(shop, maker, "table", 10)
    assert tags(second, "plan")["promise_date"] == day(8)

    # Each sale placed one PO with the mill, which confirmed it.
    _wait(
        "both POs confirmed",
        lambda: [p["state"] for p in purchase_orders(maker)] == ["confirmed"] * 2,
    )
    assert sorted(o["lines"][0]["quantity"] for o in seller_orders(mill)) == [20, 20]
    view = maker.call("GET", "/owner/production")
    assert {(e["date"], e["hours"]) for e in view["load"]} == {
        (day(3), "8"), (day(5), "8"), (day(6), "8"), (day(7), "8"), (day(8), "8")
    }  # fmt: skip
    assert [s["promise_date"] for s in view["sales"]] == [day(6), day(8)]
    assert view["sales"][0]["transaction_id"] == first_tx


def test_a_supplier_delay_reaches_the_shop_as_a_new_promise_date(
    chain: tuple[Participant, Participant, Participant],
) -> None:
    """The mill delays the boards to day 5: assembly then runs days 5, 6 and 7."""
    shop, maker, mill = chain
    tx, confirmed = buy(shop, maker, "table", 10)
    assert tags(confirmed, "plan")["promise_date"] == day(6)
    _wait("the PO confirmed", lambda: [p["state"] for p in purchase_orders(maker)] == ["confirmed"])
    [order] = seller_orders(mill)
    delay = {"date": day(5), "reason": "press down"}
    mill.call("POST", f"/owner/orders/{order['id']}/delay", delay)

    promise = _wait("the new promise at the shop", lambda: promise_update(shop, tx))
    assert promise["promise_date"] == day(7)
    assert promise["previous_date"] == day(6)
    assert "mill.demo delayed board" in promise["reason"]
    assert "press down" in promise["reason"]
    [po] = purchase_orders(maker)
    assert (po["state"], po["due"]) == ("delayed", day(5))


def test_cancelling_before_production_cancels_the_purchase_order_once(
    chain: tuple[Participant, Participant, Participant],
) -> None:
    """The shop cancels; the maker cancels its PO at the mill, which records it, once."""
    shop, maker, mill = chain
    tx, _ = buy(shop, maker, "table", 10)
    _wait("the PO confirmed", lambda: [p["state"] for p in purchase_orders(maker)] == ["confirmed"])
    shop.call("POST", "/owner/cancel", {"transaction_id": tx, "reason": "changed my mind"})
    _wait("the shop's order cancelled", lambda: _received(shop, tx, "on_cancel"))
    _wait("the PO cancelled", lambda: [p["state"] for p in purchase_orders(maker)] == ["cancelled"])
    [order] = seller_orders(mill)
    assert order["state"] == "Cancelled"
    po_tx = purchase_orders(maker)[0]["transaction_id"]
    cancels = [
        m for m in mill.call("GET", f"/owner/transactions/{po_tx}")["incoming"]
        if m["action"] == "cancel"
    ]  # fmt: skip
    assert len(cancels) == 1
    view = maker.call("GET", "/owner/production")
    assert view["load"] == []
    assert view["sales"][0]["state"] == "cancelled"


def test_bad_production_data_is_refused_with_the_reason(
    chain: tuple[Participant, Participant, Participant],
) -> None:
    """A routing on an unknown work center, and a BOM cycle, are named."""
    _, maker, mill = chain
    data = production(mill.name)
    data["routings"][0]["operations"][0]["work_center_id"] = "paint"
    with pytest.raises(DemoFailed, match="paint"):
        maker.call("POST", "/owner/production", data)
    data = production(mill.name)
    data["items"][1]["procurement"] = "make"
    data["bom"].append({"parent": "board", "component": "table", "quantity_per": "1"})
    with pytest.raises(DemoFailed, match="cycle"):
        maker.call("POST", "/owner/production", data)


def test_a_shipped_purchase_order_becomes_stock_held_for_its_sale(
    chain: tuple[Participant, Participant, Participant],
) -> None:
    """The mill completes the order: the maker's PO is received, its boards reserved."""
    shop, maker, mill = chain
    buy(shop, maker, "table", 10)
    _wait("the PO confirmed", lambda: [p["state"] for p in purchase_orders(maker)] == ["confirmed"])
    [order] = seller_orders(mill)
    for verb in ("accept", "start", "complete"):
        mill.call("POST", f"/owner/orders/{order['id']}/{verb}")
    _wait("the PO received", lambda: [p["state"] for p in purchase_orders(maker)] == ["received"])
    stock = maker.call("GET", "/owner/production")["stock"]
    assert stock["board"] == {"on_hand": "20", "reserved": "20"}


def test_a_purchase_order_the_supplier_refuses_is_recorded_with_its_reason(
    chain: tuple[Participant, Participant, Participant],
) -> None:
    """The mill has 10 boards left and NACKs the PO for 20: the maker's PO says so."""
    shop, maker, mill = chain
    mill.call(
        "POST",
        "/owner/catalog",
        [{"id": "board-18", "name": "Oak board 18 mm", "unit_price": "400", "on_hand": 10}],
    )
    buy(shop, maker, "table", 10)
    [po] = _wait(
        "the PO refused",
        lambda: [p for p in purchase_orders(maker) if p["state"] == "refused"],
    )
    assert po["note"].startswith("mill.demo: ")
    assert "10 available" in po["note"]


def test_a_refused_purchase_order_goes_to_the_next_supplier_and_the_shop_hears_the_date(
    tmp_path: Path,
) -> None:
    """The mill (3 days) has 10 boards and refuses the PO for 20; the yard (5 days) is next in
    the rule: boards on day 5, assembly days 5, 6 and 7, so the promise moves from 6 to 7."""
    nodes = [("mill", NodeRole.BPP), ("yard", NodeRole.BPP), ("maker", NodeRole.BOTH),
             ("shop", NodeRole.BAP)]  # fmt: skip
    with network(tmp_path, nodes) as started:
        mill, yard, maker, shop = (started[n] for n in ("mill", "yard", "maker", "shop"))
        for node, stock in ((mill, 10), (yard, 500)):
            node.call(
                "POST",
                "/owner/catalog",
                [{"id": "board-18", "name": "Oak board", "unit_price": "400", "on_hand": stock}],
            )
        data = production(mill.name)
        data["sourcing"][0]["suppliers"].append(
            {"supplier_id": yard.name, "lead_time_days": 5, "supplier_item_id": "board-18"}
        )
        maker.call("POST", "/owner/production", data)
        tx, confirmed = buy(shop, maker, "table", 10)
        assert tags(confirmed, "plan")["promise_date"] == day(6)
        promise = _wait("the new promise at the shop", lambda: promise_update(shop, tx))
        assert (promise["previous_date"], promise["promise_date"]) == (day(6), day(7))
        assert "mill.demo refused board" in promise["reason"]
        assert "ordered from yard.demo" in promise["reason"]
        _wait("the yard's PO confirmed", lambda: any(
            p["state"] == "confirmed" for p in purchase_orders(maker)))  # fmt: skip
        by_supplier = {p["supplier_id"]: p for p in purchase_orders(maker)}
        assert by_supplier["mill.demo"]["state"] == "refused"
        assert (by_supplier["yard.demo"]["due"], by_supplier["yard.demo"]["quantity"]) == (
            day(5), "20"
        )  # fmt: skip
        [order] = seller_orders(yard)
        assert order["lines"][0]["quantity"] == 20
        assert seller_orders(mill) == []


def test_suppliers_found_through_discovery_are_kept_in_the_sourcing_rule(tmp_path: Path) -> None:
    """The maker searches for boards: the mill and the yard answer; the two best offers by the
    maker's own weights join the board rule after the mill already in it (once), with their
    items, lead times and URLs; a search with no matching offer is refused with the reason."""
    nodes = [("mill", NodeRole.BPP), ("yard", NodeRole.BPP), ("maker", NodeRole.BOTH)]
    with network(tmp_path, nodes) as started:
        mill, yard, maker = (started[n] for n in ("mill", "yard", "maker"))
        for node, price, days in ((mill, "400", 3), (yard, "380", 5)):
            node.call(
                "POST",
                "/owner/catalog",
                [{"id": f"board-{node.name[:4]}", "name": "Oak board 18 mm", "unit_price": price,
                  "on_hand": 500, "lead_time_days": days},
                 {"id": "glue", "name": "Wood glue", "unit_price": "90", "on_hand": 50}],
            )  # fmt: skip
        maker.call("POST", "/owner/production", production(mill.name))
        tx = maker.call("POST", "/owner/search", {"text": "board"})["transaction_id"]
        _wait(
            "both sellers' offers",
            lambda: (
                {o["seller"] for o in maker.call("GET", f"/owner/transactions/{tx}/offers")}
                == {mill.name, yard.name}
            ),
        )
        kept = maker.call(
            "POST",
            "/owner/production/sourcing",
            {"item_id": "board", "search": tx, "take": 2, "match": "oak board"},
        )
        rule = [
            (s["supplier_id"], s["supplier_item_id"], s["lead_time_days"])
            for s in kept["suppliers"]
        ]
        assert rule == [(mill.name, "board-18", 3), (yard.name, "board-yard", 5)]
        assert maker.call("GET", "/owner/production")["sourcing"]["board"][1]["url"] == yard.url
        with pytest.raises(DemoFailed, match="no offer to supply board"):
            maker.call(
                "POST",
                "/owner/production/sourcing",
                {"item_id": "board", "search": tx, "match": "walnut"},
            )
        with pytest.raises(DemoFailed, match="made here"):
            maker.call("POST", "/owner/production/sourcing", {"item_id": "table", "search": tx})
