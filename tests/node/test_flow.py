"""The whole Beckn order flow between two node processes and a registry process.

A maker (BPP) and a shop (BAP) run as ``supplymesh node serve`` processes, subscribed at a
``supplymesh registry serve`` process; the tests drive them only through the owner API, as the
CLI does, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from supplymesh.testing.network import (
    SAMPLE_CATALOG,
    Network,
    NodeProcess,
    network,
    wait_until,
)

MAKER = "maker.example"
SHOP = "shop.example"


@dataclass
class Trading:
    """A running registry, maker and shop."""

    net: Network
    maker: NodeProcess
    shop: NodeProcess


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def trading(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    usable_kind: Callable[[str, Path], str],
) -> Iterator[Trading]:
    """A registry, a maker with a catalog (delivery 50, tax 5 %) and a shop, all processes."""
    root = tmp_path_factory.mktemp(f"flow-{request.param}")
    kind = usable_kind(str(request.param), root)
    with network(root, kind) as net:
        net.start_registry()
        maker = net.add_node("maker", "bpp", extra={"delivery_charge": "50", "tax_percent": "5"})
        shop = net.add_node("shop", "bap")
        maker.start()
        shop.start()
        net.wait_subscribed(maker, shop)
        maker.post("/owner/catalog", SAMPLE_CATALOG)
        yield Trading(net, maker, shop)


def settled(node: NodeProcess, tx: str, action: str, timeout: float = 15.0) -> dict[str, Any]:
    """The node's outgoing ``action`` in ``tx`` once its delivery is settled."""

    def check() -> dict[str, Any] | None:
        view = node.transaction(tx)
        for message in (view or {}).get("outgoing", []):
            if message["action"] == action and message["state"] not in {"queued", "sending"}:
                return dict(message)
        return None

    return wait_until(check, timeout, f"{node.name}: {action} in {tx} settled")


def move(maker: NodeProcess, order_id: str, *verbs: str) -> None:
    """The seller moves its order on (accept, start, complete, cancel)."""
    for verb in verbs:
        maker.post(f"/owner/orders/{order_id}/{verb}")


def test_an_order_goes_from_search_to_completed_between_two_node_processes(
    trading: Trading,
) -> None:
    """search, select, init, confirm, then accept/start/complete reach the shop as on_status."""
    maker, shop = trading.maker, trading.shop

    tx = shop.post("/owner/search", {"text": "sneaker"})["transaction_id"]
    [found] = shop.wait_incoming(tx, "on_search")
    [provider] = found["message"]["catalog"]["providers"]
    assert provider["id"] == MAKER
    assert [item["id"] for item in provider["items"]] == ["sneaker-42"]
    assert provider["items"][0]["price"] == {"currency": "INR", "value": "1499.00"}

    chosen = [{"id": "sneaker-42", "quantity": 10}]
    shop.post("/owner/select", {"transaction_id": tx, "bpp_id": MAKER, "items": chosen})
    [quoted] = shop.wait_incoming(tx, "on_select")
    quote = quoted["message"]["order"]["quote"]
    assert quote["price"] == {"currency": "INR", "value": "15789.50"}
    breakup = {line["title"]: line["price"]["value"] for line in quote["breakup"]}
    assert breakup == {"Sneaker 42": "14990.00", "Delivery": "50.00", "Tax 5%": "749.50"}
    assert sum(Decimal(v) for v in breakup.values()) == Decimal("15789.50")
    assert quote["breakup"][0]["item"] == {
        "id": "sneaker-42",
        "quantity": {"selected": {"count": 10}},
    }

    shop.post("/owner/init", {"transaction_id": tx, "name": "Asha", "address": "1 MG Road"})
    [initialised] = shop.wait_incoming(tx, "on_init")
    terms = initialised["message"]["order"]
    assert terms["billing"]["name"] == "Asha"
    assert terms["payments"][0]["type"] == "ON-FULFILLMENT"
    assert terms["cancellation_terms"]
    assert terms["quote"]["price"]["value"] == "15789.50"

    shop.post("/owner/confirm", {"transaction_id": tx})
    [confirmed] = shop.wait_incoming(tx, "on_confirm")
    bought = shop.wait_order_state(tx, "Created")
    sold = maker.order(tx)
    assert sold is not None
    assert confirmed["message"]["order"]["id"] == bought["id"] == sold["id"]
    assert (bought["buyer"], bought["seller"]) == (SHOP, MAKER)
    assert bought["total"] == sold["total"] == "15789.50"
    assert (
        bought["lines"]
        == sold["lines"]
        == [{"item_id": "sneaker-42", "quantity": 10, "unit_price": "1499.00"}]
    )
    stock = maker.catalog()["sneaker-42"]
    assert (stock["on_hand"], stock["reserved"]) == (1000, 10)

    for verb, state in (
        ("accept", "Accepted"),
        ("start", "In-progress"),
        ("complete", "Completed"),
    ):
        move(maker, sold["id"], verb)
        shop.wait_order_state(tx, state)
    statuses = shop.wait_incoming(tx, "on_status", count=3)
    assert [m["message"]["order"]["status"] for m in statuses] == [
        "Accepted",
        "In-progress",
        "Completed",
    ]
    assert [c["state"] for c in shop.order(tx)["history"]] == [  # type: ignore[index]
        "Accepted",
        "In-progress",
        "Completed",
    ]
    stock = maker.catalog()["sneaker-42"]
    assert (stock["on_hand"], stock["reserved"]) == (990, 0)
    for node in (shop, maker):
        view = node.transaction(tx)
        assert view is not None
        assert {m["state"] for m in view["outgoing"]} == {"acked"}, view["outgoing"]


def test_status_and_track_report_the_order_as_the_seller_sees_it(trading: Trading) -> None:
    """status answers with the seller's state; track is active only while in progress."""
    maker, shop = trading.maker, trading.shop
    tx, order = shop.buy(MAKER, {"boot-40": 2})

    shop.post("/owner/status", {"transaction_id": tx})
    [status] = shop.wait_incoming(tx, "on_status")
    assert status["message"]["order"]["status"] == "Created"
    shop.post("/owner/track", {"transaction_id": tx})
    [track] = shop.wait_incoming(tx, "on_track")
    assert track["message"]["tracking"]["status"] == "inactive"

    move(maker, order["id"], "accept", "start")
    shop.wait_order_state(tx, "In-progress")
    shop.post("/owner/track", {"transaction_id": tx})
    tracks = shop.wait_incoming(tx, "on_track", count=2)
    assert tracks[-1]["message"]["tracking"] == {"id": order["id"], "status": "active"}
    shop.post("/owner/status", {"transaction_id": tx})
    statuses = shop.wait_incoming(tx, "on_status", count=4)  # 2 polls + accept + start
    assert statuses[-1]["message"]["order"]["status"] == "In-progress"
    assert shop.order(tx)["state"] == "In-progress"  # type: ignore[index]


def test_cancelling_a_created_order_releases_its_stock(trading: Trading) -> None:
    """The buyer cancels a Created order: both copies are Cancelled and the stock is free again."""
    maker, shop = trading.maker, trading.shop
    tx, order = shop.buy(MAKER, {"sandal-38": 5})
    assert maker.catalog()["sandal-38"]["reserved"] == 5

    shop.post("/owner/cancel", {"transaction_id": tx, "reason": "changed my mind"})
    [cancelled] = shop.wait_incoming(tx, "on_cancel")
    assert cancelled["message"]["order"]["status"] == "Cancelled"
    assert cancelled["message"]["order"]["cancellation"]["cancelled_by"] == "CONSUMER"
    assert shop.wait_order_state(tx, "Cancelled")["id"] == order["id"]
    sold = maker.order(tx)
    assert sold is not None
    assert sold["state"] == "Cancelled"
    assert sold["cancellation_fee"] == "0.00"
    stock = maker.catalog()["sandal-38"]
    assert (stock["on_hand"], stock["reserved"]) == (1000, 0)


def test_cancelling_a_completed_order_is_nacked_and_the_buyer_sees_why(trading: Trading) -> None:
    """The seller refuses with 50001; the buyer's outbox shows the cancel as nacked."""
    maker, shop = trading.maker, trading.shop
    tx, order = shop.buy(MAKER, {"loafer-41": 1})
    move(maker, order["id"], "accept", "start", "complete")
    shop.wait_order_state(tx, "Completed")
    before = maker.catalog()["loafer-41"]

    shop.post("/owner/cancel", {"transaction_id": tx, "reason": "too late"})
    delivery = settled(shop, tx, "cancel")
    assert delivery["state"] == "nacked"
    assert "50001" in delivery["last_error"]
    assert shop.incoming(tx, "on_cancel") == []
    assert maker.order(tx)["state"] == "Completed"  # type: ignore[index]
    assert shop.order(tx)["state"] == "Completed"  # type: ignore[index]
    assert maker.catalog()["loafer-41"] == before


def test_an_update_changes_the_quantity_on_both_sides_and_the_reserved_stock(
    trading: Trading,
) -> None:
    """update (item quantity 3 -> 7) while Created: on_update, both copies and the stock follow."""
    maker, shop = trading.maker, trading.shop
    tx, order = shop.buy(MAKER, {"clog-39": 3})
    assert maker.catalog()["clog-39"]["reserved"] == 3

    shop.post("/owner/update", {"transaction_id": tx, "items": [{"id": "clog-39", "quantity": 7}]})
    [updated] = shop.wait_incoming(tx, "on_update")
    assert updated["message"]["order"]["items"][0]["quantity"] == {"selected": {"count": 7}}
    assert maker.catalog()["clog-39"]["reserved"] == 7
    expected = [{"item_id": "clog-39", "quantity": 7, "unit_price": "899.00"}]
    assert maker.order(tx)["lines"] == expected  # type: ignore[index]
    assert shop.order(tx)["lines"] == expected  # type: ignore[index]
    assert shop.order(tx)["id"] == order["id"]  # type: ignore[index]


def test_rating_and_support_callbacks_arrive(trading: Trading) -> None:
    """rating gets on_rating; support gets on_support with how to reach the seller."""
    maker, shop = trading.maker, trading.shop
    tx, order = shop.buy(MAKER, {"slipper-37": 1})
    move(maker, order["id"], "accept", "start", "complete")
    shop.wait_order_state(tx, "Completed")

    shop.post("/owner/rating", {"transaction_id": tx, "value": 5})
    shop.post("/owner/support", {"transaction_id": tx})
    shop.wait_incoming(tx, "on_rating")
    [support] = shop.wait_incoming(tx, "on_support")
    assert support["message"]["support"]["ref_id"] == order["id"]
    assert support["message"]["support"]["url"] == maker.url
    assert settled(shop, tx, "rating")["state"] == "acked"
    assert settled(shop, tx, "support")["state"] == "acked"
    [rating] = [m for m in maker.transaction(tx)["incoming"] if m["action"] == "rating"]  # type: ignore[index]
    assert rating["message"]["ratings"] == [
        {"rating_category": "Order", "id": order["id"], "value": "5"}
    ]


def test_the_owner_api_refuses_a_caller_without_the_token(trading: Trading) -> None:
    """Every owner path answers 401 without the owner token."""
    for path in ("/owner/info", "/owner/orders", "/owner/outbox"):
        assert httpx.get(f"{trading.shop.url}{path}", timeout=5).status_code == 401


def test_reimporting_the_catalog_keeps_the_stock_reserved_for_open_orders(
    trading: Trading,
) -> None:
    """A new price list for an item with open orders: its reserved units stay reserved."""
    maker, shop = trading.maker, trading.shop
    item = {"id": "espadrille-44", "name": "Espadrille 44", "unit_price": "650.00", "on_hand": 20}
    maker.post("/owner/catalog", [item])
    tx, order = shop.buy(MAKER, {"espadrille-44": 4})
    assert maker.catalog()["espadrille-44"]["reserved"] == 4

    maker.post("/owner/catalog", [{**item, "unit_price": "700.00", "on_hand": 30}])
    stock = maker.catalog()["espadrille-44"]
    assert (stock["unit_price"], stock["on_hand"], stock["reserved"]) == ("700.00", 30, 4)
    move(maker, order["id"], "accept", "start", "complete")
    shop.wait_order_state(tx, "Completed")
    stock = maker.catalog()["espadrille-44"]
    assert (stock["on_hand"], stock["reserved"]) == (26, 0)


def cli(*args: str | Path) -> str:
    """Run ``python -m supplymesh ARGS``; its standard output (it must succeed)."""
    result = subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "supplymesh", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_cli_imports_a_csv_catalog_and_drives_a_purchase(
    trading: Trading, tmp_path: Path
) -> None:
    """catalog import (CSV), buy search/select/init/confirm, orders accept/complete, tx show."""
    maker, shop = trading.maker, trading.shop
    csv = tmp_path / "catalog.csv"
    csv.write_text(
        "id,name,unit_price,category,on_hand,attr:material\nmule-43,Mule 43,999.00,shoes,20,suede\n"
    )
    assert "imported 1 items" in cli("catalog", "import", maker.home, csv)
    assert "mule-43" in cli("catalog", "list", maker.home)

    tx = json.loads(cli("buy", "search", shop.home, "--query", "mule"))["transaction_id"]
    [found] = shop.wait_incoming(tx, "on_search")
    [offered] = found["message"]["catalog"]["providers"][0]["items"]
    assert offered["id"] == "mule-43"
    assert offered["tags"][0]["list"] == [{"descriptor": {"code": "material"}, "value": "suede"}]
    cli("buy", "select", shop.home, tx, "--seller", MAKER, "--item", "mule-43=4")
    shop.wait_incoming(tx, "on_select")
    cli("buy", "init", shop.home, tx, "--name", "Asha", "--address", "1 MG Road")
    shop.wait_incoming(tx, "on_init")
    cli("buy", "confirm", shop.home, tx)
    shop.wait_incoming(tx, "on_confirm")

    sold = json.loads(cli("orders", "list", maker.home, "--role", "seller"))
    [order] = [o for o in sold if o["transaction_id"] == tx]
    for verb in ("accept", "start", "complete"):
        assert json.loads(cli("orders", verb, maker.home, order["id"]))["id"] == order["id"]
    shop.wait_order_state(tx, "Completed")
    shown = json.loads(cli("tx", "show", shop.home, tx))
    assert shown["order"]["state"] == "Completed"
    assert [m["action"] for m in shown["incoming"]] == [
        "on_search",
        "on_select",
        "on_init",
        "on_confirm",
        "on_status",
        "on_status",
        "on_status",
    ]
    assert {
        m["state"] for m in json.loads(cli("outbox", shop.home)) if m["transaction_id"] == tx
    } == {"acked"}
