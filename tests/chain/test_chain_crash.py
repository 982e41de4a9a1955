"""kill -9 the furniture maker while it confirms sales, places their POs and books their
shipments: after restarts, every PO exists exactly once at the mill and every shipment once at
the carrier (node processes, on SQLite and on PostgreSQL)."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from supplymesh.domain.logistics import LOGISTICS_DOMAIN
from supplymesh.testing.databases import PostgresUnavailable, database, postgres_required
from supplymesh.testing.network import CITY, FAST_DELIVERY, network, wait_until

SALES = 6
KILLS = 3


def maker_data() -> dict[str, Any]:
    """A table takes 2 boards from the mill and 1 h of assembly."""
    return {
        "items": [
            {"id": "table", "procurement": "make", "unit_price": "12000"},
            {"id": "board", "procurement": "buy"},
        ],
        "bom": [{"parent": "table", "component": "board", "quantity_per": "2"}],
        "routings": [
            {"item_id": "table",
             "operations": [{"sequence": 10, "work_center_id": "assembly", "hours_per_unit": "1"}]}
        ],
        "work_centers": [{"id": "assembly", "hours_per_day": "8"}],
        "sourcing": [
            {"item_id": "board",
             "suppliers": [{"supplier_id": "mill.example", "lead_time_days": 3,
                            "supplier_item_id": "board-18"}]}
        ],
        "shipping": {"carriers": [{"carrier_id": "lsp.example"}]},
    }  # fmt: skip


LANES = {
    "lanes": [{"id": "local", "origin": CITY, "destination": CITY, "transit_days": 1,
               "capacity_per_day": 100, "base_price": "200"}]
}  # fmt: skip


def _usable(kind: str, directory: Path) -> None:
    try:
        with database(kind, directory):
            pass
    except PostgresUnavailable as exc:
        if postgres_required():
            pytest.fail(f"SUPPLYMESH_REQUIRE_PG=1 but {exc}")
        pytest.skip(f"PostgreSQL not reachable: {exc}")


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_killing_the_maker_while_it_places_pos_leaves_each_po_once_at_the_mill(
    kind: str, tmp_path: Path
) -> None:
    """Each sale: one PO at the maker, one order and one confirm at the mill, none lost."""
    _usable(kind, tmp_path)
    rng = random.Random(7)  # noqa: S311 - picks kill moments
    with network(tmp_path, kind) as net:
        net.start_registry()
        mill = net.add_node("mill", "bpp", delivery=FAST_DELIVERY)
        lsp = net.add_node("lsp", "bpp", delivery=FAST_DELIVERY, domain=LOGISTICS_DOMAIN)
        maker = net.add_node("maker", "both", delivery=FAST_DELIVERY)
        shop = net.add_node("shop", "bap", delivery=FAST_DELIVERY)
        for node in (mill, lsp, maker, shop):
            node.start()
        net.wait_subscribed(mill, lsp, maker, shop)
        mill.post(
            "/owner/catalog",
            [{"id": "board-18", "name": "Board", "unit_price": "400", "on_hand": 1000}],
        )
        lsp.post("/owner/logistics", LANES)
        maker.post("/owner/production", maker_data())
        transactions = [str(uuid.uuid4()) for _ in range(SALES)]
        for tx in transactions:
            item = {"id": "table", "quantity": 1}
            shop.post("/owner/select", {"transaction_id": tx, "bpp_id": maker.subscriber_id,
                                        "items": [item]})  # fmt: skip
        for tx in transactions:
            shop.wait_incoming(tx, "on_select", timeout=30)
            shop.post("/owner/init", {"transaction_id": tx, "name": "Shop", "address": "1 Road"})
        for tx in transactions:
            shop.wait_incoming(tx, "on_init", timeout=30)

        def confirm_all() -> None:
            for tx in transactions:
                shop.post("/owner/confirm", {"transaction_id": tx})
                time.sleep(rng.uniform(0.0, 0.3))

        driver = threading.Thread(target=confirm_all, daemon=True)
        driver.start()
        for _ in range(KILLS):
            maker.wait_healthy()
            time.sleep(rng.uniform(0.1, 0.4))
            maker.kill()
            maker.start()
        driver.join()
        for tx in transactions:
            shop.wait_incoming(tx, "on_confirm", timeout=60)
        net.wait_drained(60)

        pos = maker.get("/owner/production")["purchase_orders"]
        assert len(pos) == SALES
        po_transactions = {po["transaction_id"] for po in pos}
        assert len(po_transactions) == SALES
        assert {po["sale"] for po in pos} == set(transactions)
        at_mill = mill.order_rows("seller")
        assert Counter(row["transaction_id"] for row in at_mill) == Counter(po_transactions)
        confirms = Counter(row["transaction_id"] for row in mill.inbox_rows("confirm"))
        assert confirms == Counter(po_transactions)
        wait_until(
            lambda: (
                {po["state"] for po in maker.get("/owner/production")["purchase_orders"]}
                == {"confirmed"}
            ),
            20,
            "every PO confirmed by the mill",
        )

        shipments = maker.get("/owner/production")["shipments"]
        assert {s["sale"] for s in shipments} == set(transactions)
        shipment_transactions = Counter(s["transaction_id"] for s in shipments)
        assert len(shipment_transactions) == SALES
        booked = Counter(b["transaction_id"] for b in lsp.get("/owner/logistics")["bookings"])
        assert booked == shipment_transactions
        assert Counter(row["transaction_id"] for row in lsp.order_rows("seller")) == booked
        assert Counter(row["transaction_id"] for row in lsp.inbox_rows("confirm")) == booked
        wait_until(
            lambda: {s["state"] for s in maker.get("/owner/production")["shipments"]} == {"booked"},
            20,
            "every shipment confirmed by the carrier",
        )
