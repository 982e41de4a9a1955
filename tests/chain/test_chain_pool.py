"""C2M meets the chain: a filled demand pool of a made item becomes one production batch.

Three consumer nodes join a maker's pool for custom sneakers, 2 pairs each. When the pool
fills, the maker plans the 6 pairs as one sale with MRP: one purchase order for 6 soles at the
sole supplier (3 days), 6 h of stitching on day 3 (8 h a day). Every member's filled order
carries the batch's promise date, day 3.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from chain_support import day, network, purchase_orders, tags

from supplymesh.adapters.node_home import NodeRole
from supplymesh.entrypoints.demo import _wait


def sneaker_data() -> dict[str, Any]:
    """Sneakers of one sole each, stitched in 1 h."""
    return {
        "items": [
            {"id": "sneaker", "name": "Custom sneaker", "procurement": "make",
             "unit_price": "3000"},
            {"id": "sole", "name": "Rubber sole", "procurement": "buy"},
        ],
        "bom": [{"parent": "sneaker", "component": "sole", "quantity_per": "1"}],
        "routings": [
            {"item_id": "sneaker",
             "operations": [{"sequence": 10, "work_center_id": "stitch", "hours_per_unit": "1"}]}
        ],
        "work_centers": [
            {"id": "stitch", "hours_per_day": "8", "working_weekdays": [0, 1, 2, 3, 4, 5, 6]}
        ],
        "sourcing": [
            {"item_id": "sole",
             "suppliers": [{"supplier_id": "soles.demo", "lead_time_days": 3,
                            "supplier_item_id": "sole-42"}]}
        ],
    }  # fmt: skip


def test_a_filled_pool_is_planned_as_one_batch_with_one_purchase_order(tmp_path: Path) -> None:
    """One sale of 6 for the pool, one PO of 6 soles; each member hears day 3."""
    consumers = [f"c{i}" for i in range(3)]
    nodes = [("soles", NodeRole.BPP), ("maker", NodeRole.BOTH)]
    nodes += [(name, NodeRole.BAP) for name in consumers]
    with network(tmp_path, nodes) as started:
        soles, maker = started["soles"], started["maker"]
        soles.call(
            "POST",
            "/owner/catalog",
            [{"id": "sole-42", "name": "Sole", "unit_price": "200", "on_hand": 100}],
        )
        maker.call("POST", "/owner/production", sneaker_data())
        deadline = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
        pool = maker.call(
            "POST",
            "/owner/pools",
            {"item_id": "sneaker", "tiers": [{"min_quantity": 6, "unit_price": "2600"}],
             "deadline": deadline, "close_when_top_tier": True},
        )  # fmt: skip
        for name in consumers:
            consumer = started[name]
            tx = consumer.call("POST", "/owner/search", {"text": "sneaker"})["transaction_id"]
            _wait(
                f"{name} sees the pool",
                lambda c=consumer, t=tx: (
                    pool["pool_id"]
                    in str(  # type: ignore[misc]
                        c.call("GET", f"/owner/transactions/{t}")["incoming"]
                    )
                ),
            )
            consumer.call(
                "POST",
                "/owner/memberships/join",
                {"bpp_id": maker.name, "pool_id": pool["pool_id"], "quantity": 2},
            )
        production = _wait(
            "the batch sale",
            lambda: (view := maker.call("GET", "/owner/production"))["sales"] and view,
            timeout=60,
        )
        [sale] = production["sales"]
        assert (sale["transaction_id"], sale["quantity"]) == (f"pool:{pool['pool_id']}", "6")
        assert (sale["order_id"], sale["promise_date"]) == (pool["pool_id"], day(3))
        [po] = purchase_orders(maker)
        assert (po["supplier_id"], po["quantity"], po["due"]) == ("soles.demo", "6", day(3))
        _wait("the soles ordered", lambda: len(soles.call("GET", "/owner/orders?role=seller")))
        [order] = soles.call("GET", "/owner/orders?role=seller")
        assert order["lines"][0]["quantity"] == 6
        assert [e["hours"] for e in production["load"]] == ["6"]
        for name in consumers:
            consumer = started[name]
            [membership] = consumer.call("GET", "/owner/memberships")
            filled = _wait(
                f"{name}'s filled order",
                lambda c=consumer, m=membership: next(  # type: ignore[misc]
                    (
                        x["message"]
                        for x in c.call(
                            "GET", f"/owner/transactions/{m['order_ref'].rsplit(':', 1)[-1]}"
                        )["incoming"]
                        if x["action"] == "on_status" and x["message"]["order"].get("tags")
                    ),
                    None,
                ),
                timeout=60,
            )
            assert tags(filled, "plan")["promise_date"] == day(3)
