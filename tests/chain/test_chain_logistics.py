"""Four tiers and a carrier: a shop in Mumbai buys tables from a furniture maker in Bengaluru,
who buys boards from a board mill (which buys timber from a timber merchant) and hardware kits
from a hardware supplier, and ships through a logistics node.

By hand, for 10 tables: the mill gets timber on day 2 and saws 20 boards in 10 h (days 2 and 3);
the hardware supplier's kits come 4 days after an order (day 4), so kits are the critical
material. Assembly takes 2 h a table, 8 h a day, every day: days 4, 5 and half of 6, so the
tables are ready on day 6. The carrier's Bengaluru → Mumbai lane does not pick up on day 6 (a
holiday), picks up on day 7 and delivers 2 days later: the shop is promised day 9, and pays the
carrier's 500 + 100 a package for 10 packages on top of the tables.
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
from supplymesh.entrypoints.demo import DemoFailed, Participant, _wait
from supplymesh.entrypoints.demo_chain import board_mill, furniture_maker, lanes

MUMBAI = "std:022"


def maker_data() -> dict[str, Any]:
    """Tables of 2 boards (quoted by the mill) and a hardware kit (4 days), shipped by lsp."""
    return furniture_maker(kit_lead_days=4, quote_wait_seconds=2)


LANES = lanes(holidays=(day(6),))


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[dict[str, Participant]]:
    nodes = [
        ("timber", NodeRole.BPP),
        ("hardware", NodeRole.BPP),
        ("lsp", NodeRole.BPP),
        ("mill", NodeRole.BOTH),
        ("maker", NodeRole.BOTH),
        ("shop", NodeRole.BAP),
    ]
    settings = {"lsp": {"domain": "nic2004:60232"}, "shop": {"city": MUMBAI}}
    with network(tmp_path, nodes, settings) as started:
        started["timber"].call(
            "POST", "/owner/catalog",
            [{"id": "timber", "name": "Oak log", "unit_price": "90", "on_hand": 500}],
        )  # fmt: skip
        started["hardware"].call(
            "POST", "/owner/catalog",
            [{"id": "kit-oak", "name": "Hinge kit", "unit_price": "150", "on_hand": 500,
              "lead_time_days": 4}],
        )  # fmt: skip
        started["lsp"].call("POST", "/owner/logistics", LANES)
        started["mill"].call("POST", "/owner/production", board_mill())
        started["maker"].call("POST", "/owner/production", maker_data())
        yield started


def shipments(maker: Participant) -> list[dict[str, Any]]:
    """A maker's shipments."""
    return list(maker.call("GET", "/owner/production")["shipments"])


def bookings(lsp: Participant) -> list[dict[str, Any]]:
    """A carrier's bookings."""
    return list(lsp.call("GET", "/owner/logistics")["bookings"])


def stages(shop: Participant, tx: str) -> list[str]:
    """The production stages the shop heard of, in order."""
    heard = []
    for message in shop.call("GET", f"/owner/transactions/{tx}")["incoming"]:
        if message["action"] != "on_status":
            continue
        for group in message["message"]["order"].get("tags") or []:
            if group["descriptor"]["code"] == "production":
                heard.extend(
                    t["value"] for t in group["list"] if t["descriptor"]["code"] == "stage"
                )
    return heard


def test_the_promise_is_the_carriers_delivery_day(chain: dict[str, Participant]) -> None:
    """Day 9 for the first 10 tables (ready day 6, pickup 7, delivery 9); the next 10 wait for
    the assembly line (4 h left on day 6, then days 7 and 8) and arrive on day 10."""
    shop, maker, lsp = chain["shop"], chain["maker"], chain["lsp"]
    _, quoted = select(shop, maker, "table", 10)
    plan = tags(quoted, "plan")
    assert (plan["ready_date"], plan["pickup_date"], plan["promise_date"]) == (
        day(6), day(7), day(9)
    )  # fmt: skip
    assert plan["carrier"] == "lsp.demo"
    assert "from hardware.demo" in plan["critical_path"]
    assert "shipped by lsp.demo" in plan["critical_path"]
    breakup = {
        line["title"]: line["price"]["value"] for line in quoted["order"]["quote"]["breakup"]
    }
    assert breakup["Shipping by lsp.demo"] == "1500.00"
    assert "Delivery" not in breakup  # the carrier's tariff replaces the flat charge

    tx, confirmed = buy(shop, maker, "table", 10)
    assert tags(confirmed, "plan")["promise_date"] == day(9)
    assert tags(confirmed, "plan")["stage"] == "waiting-for-materials"
    _wait(
        "both POs and the shipment confirmed",
        lambda: (
            sorted(p["state"] for p in purchase_orders(maker)) == ["confirmed"] * 2
            and [s["state"] for s in shipments(maker)] == ["booked"]
        ),
    )
    [booking] = bookings(lsp)
    assert (booking["lane_id"], booking["pickup"], booking["delivery"], booking["packages"]) == (
        "blr-bom", day(7), day(9), 10
    )  # fmt: skip
    assert {p["supplier_id"]: p["due"] for p in purchase_orders(maker)} == {
        "mill.demo": day(3), "hardware.demo": day(4)
    }  # fmt: skip
    [timber_order] = seller_orders(chain["timber"])
    assert timber_order["lines"][0]["quantity"] == 20

    _, second = buy(shop, maker, "table", 10)
    assert tags(second, "plan")["promise_date"] == day(10)
    assert promise_update(shop, tx) is None  # the first sale's promise held


def test_a_timber_delay_moves_the_delivery_day_the_shop_is_promised(
    chain: dict[str, Participant],
) -> None:
    """Timber on day 5: boards on day 6, assembly days 6, 7 and 8; the booked pickup (day 7)
    slips to day 8, delivery to day 10."""
    shop, maker, timber = chain["shop"], chain["maker"], chain["timber"]
    tx, _ = buy(shop, maker, "table", 10)
    _wait("the timber PO placed", lambda: len(seller_orders(timber)) == 1)
    _wait("the shipment booked", lambda: [s["state"] for s in shipments(maker)] == ["booked"])
    [order] = seller_orders(timber)
    timber.call("POST", f"/owner/orders/{order['id']}/delay", {"date": day(5), "reason": "rain"})
    promise = _wait("the new promise at the shop", lambda: promise_update(shop, tx))
    assert (promise["previous_date"], promise["promise_date"]) == (day(9), day(10))
    assert "timber.demo delayed timber" in promise["reason"]
    assert "rain" in promise["reason"]
    assert "shipped by lsp.demo" in promise["critical_path"]
    # The maker moved its booking; the carrier's answer (pickup 8, delivery 10) holds the date.
    _wait("the booking moved", lambda: bookings(chain["lsp"])[0]["pickup"] == day(8))
    assert bookings(chain["lsp"])[0]["delivery"] == day(10)
    _wait("the maker's shipment moved", lambda: shipments(maker)[0]["pickup"] == day(8))
    assert shipments(maker)[0]["ready"] == day(8)
    assert promise_update(shop, tx) == promise  # no second move


def test_when_the_moved_pickup_falls_on_a_carrier_holiday_the_shop_hears_the_later_day(
    chain: dict[str, Participant],
) -> None:
    """As above, but the lane does not pick up on day 8 either: the maker first promises day
    10 (ready 8 + 2 days), then the carrier books pickup 9, delivery 11, and the shop hears 11."""
    shop, maker, timber, lsp = chain["shop"], chain["maker"], chain["timber"], chain["lsp"]
    lsp.call("POST", "/owner/logistics", lanes(holidays=(day(6), day(8))))
    tx, _ = buy(shop, maker, "table", 10)
    _wait("the timber PO placed", lambda: len(seller_orders(timber)) == 1)
    _wait("the shipment booked", lambda: [s["state"] for s in shipments(maker)] == ["booked"])
    [order] = seller_orders(timber)
    timber.call("POST", f"/owner/orders/{order['id']}/delay", {"date": day(5), "reason": "rain"})
    final = _wait(
        "the carrier's day at the shop",
        lambda: (p := promise_update(shop, tx)) and p["promise_date"] == day(11) and p,
    )
    assert final["previous_date"] == day(10)
    assert f"lsp.demo booked pickup {day(9)}, delivery {day(11)}" in final["reason"]
    assert (bookings(lsp)[0]["pickup"], bookings(lsp)[0]["delivery"]) == (day(9), day(11))


def test_the_shop_hears_each_stage_until_the_carrier_delivers(
    chain: dict[str, Participant],
) -> None:
    """Kits and boards arrive, the maker builds, the carrier picks up and delivers: the shop
    hears every stage, and its order ends Completed when the carrier delivers."""
    shop, maker, lsp = chain["shop"], chain["maker"], chain["lsp"]
    tx, _ = buy(shop, maker, "table", 10)
    _wait(
        "POs and shipment confirmed",
        lambda: (
            sorted(p["state"] for p in purchase_orders(maker)) == ["confirmed"] * 2
            and [s["state"] for s in shipments(maker)] == ["booked"]
        ),
    )
    for supplier in (chain["hardware"], chain["mill"]):
        [order] = seller_orders(supplier)
        for verb in ("accept", "start", "complete"):
            supplier.call("POST", f"/owner/orders/{order['id']}/{verb}")
    _wait("materials in", lambda: stages(shop, tx) == ["scheduled"])
    [sale] = seller_orders(maker)
    maker.call("POST", f"/owner/orders/{sale['id']}/accept")
    with pytest.raises(DemoFailed, match="start its production first"):
        maker.call("POST", f"/owner/orders/{sale['id']}/ready")
    maker.call("POST", f"/owner/orders/{sale['id']}/start")
    maker.call("POST", f"/owner/orders/{sale['id']}/ready")
    [booking] = seller_orders(lsp)
    for verb in ("accept", "start"):
        lsp.call("POST", f"/owner/orders/{booking['id']}/{verb}")
    _wait("shipped", lambda: stages(shop, tx)[-1:] == ["shipped"])
    lsp.call("POST", f"/owner/orders/{booking['id']}/complete")
    _wait("delivered", lambda: stages(shop, tx)[-1:] == ["delivered"])
    assert stages(shop, tx) == ["scheduled", "in-production", "ready", "shipped", "delivered"]
    [bought] = shop.call("GET", "/owner/orders?role=buyer")
    assert bought["state"] == "Completed"
    assert bookings(lsp)[0]["state"] == "delivered"
    assert maker.call("GET", "/owner/production")["sales"][0]["stage"] == "delivered"


def test_cancelling_before_production_cancels_every_order_down_the_chain_once(
    chain: dict[str, Participant],
) -> None:
    """The shop cancels: the mill's, the hardware supplier's and the timber merchant's orders
    and the carrier's booking are each cancelled once, and the lane's capacity is free again."""
    shop, maker, lsp = chain["shop"], chain["maker"], chain["lsp"]
    tx, _ = buy(shop, maker, "table", 10)
    _wait("the timber PO placed", lambda: len(seller_orders(chain["timber"])) == 1)
    _wait("the shipment booked", lambda: [s["state"] for s in shipments(maker)] == ["booked"])
    shop.call("POST", "/owner/cancel", {"transaction_id": tx, "reason": "changed my mind"})
    for name in ("mill", "hardware", "timber", "lsp"):
        _wait(
            f"{name}'s order cancelled",
            lambda name=name: seller_orders(chain[name])[0]["state"] == "Cancelled",
        )
    assert bookings(lsp)[0]["state"] == "cancelled"
    shipped = shipments(maker)[0]
    incoming = lsp.call("GET", f"/owner/transactions/{shipped['transaction_id']}")["incoming"]
    assert [m["action"] for m in incoming].count("cancel") == 1
    for po in purchase_orders(maker):
        supplier = chain[po["supplier_id"].removesuffix(".demo")]
        incoming = supplier.call("GET", f"/owner/transactions/{po['transaction_id']}")["incoming"]
        assert [m["action"] for m in incoming].count("cancel") == 1


def test_a_route_no_carrier_serves_makes_the_quote_say_shipping_is_short(
    tmp_path: Path,
) -> None:
    """A shop in Kolkata: the carrier NACKs (not serviceable) and the quote names shipping."""
    nodes = [("lsp", NodeRole.BPP), ("maker", NodeRole.BOTH), ("shop", NodeRole.BAP)]
    settings = {"lsp": {"domain": "nic2004:60232"}, "shop": {"city": "std:033"}}
    with network(tmp_path, nodes, settings) as started:
        started["lsp"].call("POST", "/owner/logistics", LANES)
        data = maker_data()
        data["items"] = [data["items"][0]]
        data["bom"], data["routings"][0]["operations"][0]["hours_per_unit"] = [], "1"
        data["sourcing"] = []
        started["maker"].call("POST", "/owner/production", data)
        _, quoted = select(started["shop"], started["maker"], "table", 2)
        plan = tags(quoted, "plan")
        assert plan["short_component"] == "shipping"
        assert "lsp.demo: refused" in plan["short_reason"]
        assert "no lane from std:080 to std:033" in plan["short_reason"]
        with pytest.raises(DemoFailed, match=r"lanes\[0\]"):
            started["lsp"].call(
                "POST", "/owner/logistics", {"lanes": [{**LANES["lanes"][0], "transit_days": -1}]}
            )
