"""``supplymesh demo --scenario chain``: a made-to-order table through four tiers and a carrier.

A shop in Mumbai asks a furniture maker in Bengaluru for 10 oak tables. The maker plans them
with MRP on its own capacity, asks its board mill for a quote over the protocol (the mill, a
maker too, plans its boards and asks the timber merchant), takes hardware kits on a 2-day lead
time, then asks a logistics node to ship the tables. The promise date the shop sees is the
carrier's delivery day for that chain's ready date. Confirming places purchase orders down the
chain and books the carrier; a timber delay travels back up as a new promise date with its
reasons; then the goods are made, and the shop hears each stage until the carrier delivers.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from rich.tree import Tree

from supplymesh.adapters.background_server import ServerThread, free_port
from supplymesh.adapters.node_home import NodeRole
from supplymesh.domain.logistics import LOGISTICS_DOMAIN
from supplymesh.entrypoints.demo import (
    DemoFailed,
    Participant,
    Story,
    _start_node,
    _subscribed,
    _wait,
)
from supplymesh.entrypoints.demo import _received as received
from supplymesh.entrypoints.registry_server import RegistrySettings
from supplymesh.entrypoints.registry_server import create_app as create_registry


def _day(offset: int) -> str:
    return (datetime.now(UTC).date() + timedelta(days=offset)).isoformat()


def furniture_maker(
    domain_suffix: str = "demo", *, kit_lead_days: int = 2, quote_wait_seconds: float = 3
) -> dict[str, Any]:
    """The furniture maker's production data: a table is 2 boards (quoted by the board mill,
    ``ask_quotes``) and a hardware kit (``kit_lead_days`` from the hardware supplier), 2 h of
    assembly on a line working 8 h every day; the carrier ``lsp`` ships. Suppliers are named
    ``mill.<suffix>``, ``hardware.<suffix>``, ``lsp.<suffix>`` (the demo, tests, benchmarks)."""
    return {
        "items": [
            {"id": "table", "name": "Oak table", "procurement": "make", "unit_price": "12000"},
            {"id": "board", "name": "Oak board", "procurement": "buy"},
            {"id": "kit", "name": "Hinge and screw kit", "procurement": "buy"},
        ],
        "bom": [
            {"parent": "table", "component": "board", "quantity_per": "2"},
            {"parent": "table", "component": "kit", "quantity_per": "1"},
        ],
        "routings": [
            {"item_id": "table",
             "operations": [{"sequence": 10, "work_center_id": "assembly", "hours_per_unit": "2"}]}
        ],
        "work_centers": [
            {"id": "assembly", "hours_per_day": "8", "working_weekdays": [0, 1, 2, 3, 4, 5, 6]}
        ],
        "sourcing": [
            {"item_id": "board", "ask_quotes": True,
             "suppliers": [{"supplier_id": f"mill.{domain_suffix}", "lead_time_days": 9}]},
            {"item_id": "kit",
             "suppliers": [{"supplier_id": f"hardware.{domain_suffix}",
                            "lead_time_days": kit_lead_days, "supplier_item_id": "kit-oak"}]},
        ],
        "shipping": {"carriers": [{"carrier_id": f"lsp.{domain_suffix}"}]},
        "quote_wait_seconds": quote_wait_seconds,
    }  # fmt: skip


def board_mill(domain_suffix: str = "demo", *, quote_wait_seconds: float = 1) -> dict[str, Any]:
    """The board mill's production data: boards sawn from timber, 2 an hour, 8 h every day;
    the timber merchant ``timber.<suffix>`` is asked to quote (2 days in the rule)."""
    return {
        "items": [
            {"id": "board", "name": "Oak board", "procurement": "make", "unit_price": "400"},
            {"id": "timber", "name": "Oak log", "procurement": "buy"},
        ],
        "bom": [{"parent": "board", "component": "timber", "quantity_per": "1"}],
        "routings": [
            {"item_id": "board",
             "operations": [{"sequence": 10, "work_center_id": "saw", "hours_per_unit": "0.5"}]}
        ],
        "work_centers": [
            {"id": "saw", "hours_per_day": "8", "working_weekdays": [0, 1, 2, 3, 4, 5, 6]}
        ],
        "sourcing": [
            {"item_id": "timber", "ask_quotes": True,
             "suppliers": [{"supplier_id": f"timber.{domain_suffix}", "lead_time_days": 2}]}
        ],
        "quote_wait_seconds": quote_wait_seconds,
    }  # fmt: skip


def lanes(
    origin: str = "std:080", destination: str = "std:022", *, holidays: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The carrier's lane: 2 days in transit, 40 packages a day, 500 + 100 a package."""
    return {
        "lanes": [
            {"id": "blr-bom", "origin": origin, "destination": destination, "transit_days": 2,
             "capacity_per_day": 40, "base_price": "500", "package_price": "100",
             "holidays": list(holidays)},
        ]
    }  # fmt: skip


def _tags(message: dict[str, Any], group: str) -> dict[str, str]:
    for tag_group in message["order"].get("tags") or []:
        if tag_group["descriptor"]["code"] == group:
            return {t["descriptor"]["code"]: t["value"] for t in tag_group["list"]}
    return {}


def _orders_line(node: Participant, order: dict[str, Any]) -> str:
    line = order["lines"][0]
    return (
        f"[magenta]{node.name}[/] sells {line['quantity']} x {line['item_id']}: "
        f"[green]{order['state']}[/]"
    )


def _grow(branch: Tree, nodes: dict[str, Participant], node: Participant) -> None:
    """Under a node's sale: its purchase orders (each with the supplier's side) and shipment."""
    production = node.call("GET", "/owner/production")
    for sale in production["sales"]:
        branch.add(f"stage [cyan]{sale['stage']}[/], promise [bold]{sale['promise_date']}[/]")
    for po in production["purchase_orders"]:
        supplier = nodes.get(str(po["supplier_id"]).removesuffix(".demo"))
        child = branch.add(
            f"buys {po['quantity']} x {po['item_id']} from {po['supplier_id']}: "
            f"[green]{po['state']}[/], due {po['due']}"
        )
        if supplier is None:
            continue
        for order in supplier.call("GET", "/owner/orders?role=seller"):
            grandchild = child.add(_orders_line(supplier, order))
            if supplier.name in ("mill.demo",):
                _grow(grandchild, nodes, supplier)
    for shipment in production.get("shipments", []):
        branch.add(
            f"ships {shipment['packages']} pkgs via {shipment['carrier_id']}: "
            f"[green]{shipment['state']}[/], pickup {shipment['pickup']}, "
            f"delivery [bold]{shipment['delivery']}[/]"
        )


def _tree(title: str, nodes: dict[str, Participant]) -> Tree:
    """The maker's sale, its purchase orders down the chain and its shipment, with states."""
    tree = Tree(f"[bold]{title}[/]")
    maker = nodes["maker"]
    for order in maker.call("GET", "/owner/orders?role=seller"):
        _grow(tree.add(_orders_line(maker, order)), nodes, maker)
    return tree


def _stages(shop: Participant, tx: str) -> list[str]:
    heard = []
    for message in shop.call("GET", f"/owner/transactions/{tx}")["incoming"]:
        if message["action"] == "on_status":
            stage = _tags(message["message"], "production").get("stage")
            if stage:
                heard.append(stage)
    return heard


def _deliver(node: Participant) -> None:
    """A seller accepts, starts and completes every open order of its own."""
    for order in node.call("GET", "/owner/orders?role=seller"):
        if order["state"] in ("Completed", "Cancelled"):
            continue
        verbs = {"Created": ("accept", "start", "complete"), "Accepted": ("start", "complete")}
        for verb in verbs.get(order["state"], ("complete",)):
            node.call("POST", f"/owner/orders/{order['id']}/{verb}")


def run_chain(story: Story) -> dict[str, Any]:
    """Start the network and tell the chain's story; the summary."""
    console = story.console
    port = free_port()
    registry_url = f"http://127.0.0.1:{port}"
    settings = RegistrySettings(
        db_url=f"sqlite:///{story.directory / 'registry.sqlite'}",
        home=story.directory / "registry",
        public_url=registry_url,
        subscriber_id="registry.demo.local",
        challenge_interval=0.2,
    )
    story.servers.append(ServerThread(create_registry(settings), port).start())
    roles = {
        "timber": NodeRole.BPP,
        "hardware": NodeRole.BPP,
        "lsp": NodeRole.BPP,
        "mill": NodeRole.BOTH,
        "maker": NodeRole.BOTH,
        "shop": NodeRole.BAP,
    }
    overrides = {"lsp": {"domain": LOGISTICS_DOMAIN}, "shop": {"city": "std:022"}}
    nodes = {
        name: _start_node(story, name, role, registry_url, name.title(), **overrides.get(name, {}))
        for name, role in roles.items()
    }
    console.rule(
        "1. Four tiers and a carrier, each its own node: keys, data, capacity (shop in Mumbai)"
    )
    for node in nodes.values():
        _wait(f"{node.name} subscribed", lambda n=node: _subscribed(registry_url, n.name))  # type: ignore[misc]
    nodes["timber"].call(
        "POST", "/owner/catalog",
        [{"id": "timber", "name": "Oak log", "unit_price": "90", "on_hand": 500}],
    )  # fmt: skip
    nodes["hardware"].call(
        "POST", "/owner/catalog",
        [{"id": "kit-oak", "name": "Hinge kit", "unit_price": "150", "on_hand": 500}],
    )  # fmt: skip
    nodes["lsp"].call("POST", "/owner/logistics", lanes())
    nodes["mill"].call("POST", "/owner/production", board_mill(quote_wait_seconds=2))
    nodes["maker"].call("POST", "/owner/production", furniture_maker())

    console.rule("2. The shop asks for 10 tables; the promise date is computed down the chain")
    shop, maker, timber = nodes["shop"], nodes["maker"], nodes["timber"]
    tx = story_select(shop, maker)
    quoted = _wait("on_select", lambda: received(shop, tx, "on_select"), timeout=30)["message"]
    plan = _tags(quoted, "plan")
    if "promise_date" not in plan:
        raise DemoFailed(f"no promise date: {plan}")
    console.print(
        f"  ready {plan['ready_date']}, pickup {plan.get('pickup_date')} by "
        f"{plan.get('carrier')}: promise date [bold]{plan['promise_date']}[/]"
    )
    console.print(f"  critical path: {plan['critical_path']}")
    for line in quoted["order"]["quote"]["breakup"]:
        console.print(f"  {line['title']:<40} {line['price']['value']:>12}")

    console.rule("3. Confirm: capacity booked, purchase orders placed, the carrier booked")
    shop.call("POST", "/owner/init", {"transaction_id": tx, "name": "Shop", "address": "1 Road"})
    _wait("on_init", lambda: received(shop, tx, "on_init"))
    shop.call("POST", "/owner/confirm", {"transaction_id": tx})
    _wait("on_confirm", lambda: received(shop, tx, "on_confirm"))
    _wait(
        "the timber order",
        lambda: nodes["timber"].call("GET", "/owner/orders?role=seller"),
        timeout=30,
    )
    _wait(
        "every PO and the shipment confirmed",
        lambda: (
            all(
                po["state"] == "confirmed"
                for name in ("maker", "mill")
                for po in nodes[name].call("GET", "/owner/production")["purchase_orders"]
            )
            and [s["state"] for s in maker.call("GET", "/owner/production")["shipments"]]
            == ["booked"]
        ),
        timeout=30,
    )
    console.print(_tree("the chain after confirm", nodes))

    console.rule("4. The timber is late: the new date travels up the chain, with the reason")
    [timber_order] = timber.call("GET", "/owner/orders?role=seller")
    timber.call(
        "POST",
        f"/owner/orders/{timber_order['id']}/delay",
        {"date": _day(4), "reason": "river flooded"},
    )
    moved = _wait("the new promise at the shop", lambda: _promise_update(shop, tx), timeout=30)
    console.print(
        f"  shop's promise: {moved['previous_date']} → [bold]{moved['promise_date']}[/]\n"
        f"  because: {moved['reason']}"
    )
    console.print(_tree("the chain after the delay", nodes))

    console.rule("5. Made and delivered: every stage reaches the shop")
    for name in ("timber", "mill", "hardware"):
        _deliver(nodes[name])
    _wait("materials in", lambda: _stages(shop, tx) == ["scheduled"], timeout=30)
    [sale] = maker.call("GET", "/owner/orders?role=seller")
    for verb in ("accept", "start", "ready"):
        maker.call("POST", f"/owner/orders/{sale['id']}/{verb}")
    _deliver(nodes["lsp"])
    _wait("delivered", lambda: _stages(shop, tx)[-1:] == ["delivered"], timeout=30)
    heard = _stages(shop, tx)
    console.print(f"  the shop heard: {' → '.join(heard)}")
    console.print(_tree("the chain, delivered", nodes))
    return {
        "transaction": tx,
        "promise": plan["promise_date"],
        "moved_to": moved["promise_date"],
        "reason": moved["reason"],
        "stages": heard,
    }


def story_select(shop: Participant, maker: Participant) -> str:
    """The shop's select for 10 tables; its transaction id."""
    tx = str(uuid.uuid4())
    shop.call(
        "POST",
        "/owner/select",
        {"transaction_id": tx, "bpp_id": maker.name, "items": [{"id": "table", "quantity": 10}]},
    )
    return tx


def _promise_update(shop: Participant, tx: str) -> dict[str, str] | None:
    found = None
    for message in shop.call("GET", f"/owner/transactions/{tx}")["incoming"]:
        if message["action"] == "on_status":
            found = _tags(message["message"], "promise") or found
    return found
