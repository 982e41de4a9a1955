"""``supplymesh demo``: a registry, a maker's node and a shop's node trading on this machine.

Everything is real: three servers on free 127.0.0.1 ports with their own SQLite databases,
keys and owner tokens in a folder the demo names; the nodes subscribe with the registry's
challenge, and every message between them is signed, verified, stored and ACKed. The story is
driven through each node's owner API, the way an owner's app or the CLI would.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from supplymesh.adapters.background_server import ServerThread, free_port
from supplymesh.adapters.catalog_cache import PULL_PREFIX
from supplymesh.adapters.node_home import NodeConfig, NodeHome, NodeRole
from supplymesh.entrypoints.node_app import build_node
from supplymesh.entrypoints.node_server import create_app
from supplymesh.entrypoints.registry_server import RegistrySettings
from supplymesh.entrypoints.registry_server import create_app as create_registry
from supplymesh.protocol import signing
from supplymesh.protocol.envelope import Envelope
from supplymesh.services.subscription import key_id_for

DOMAIN = "supplymesh:MFG10"
CITY = "std:080"
CATALOG: list[dict[str, Any]] = [
    {"id": "sneaker-42", "name": "Leather sneaker, size 42", "unit_price": "2499.00",
     "category": "footwear", "on_hand": 120, "attributes": {"material": "leather"}},
    {"id": "sneaker-43", "name": "Leather sneaker, size 43", "unit_price": "2499.00",
     "category": "footwear", "on_hand": 80, "attributes": {"material": "leather"}},
    {"id": "laces", "name": "Waxed cotton laces", "unit_price": "19.90",
     "category": "trims", "on_hand": 2000, "attributes": {"material": "cotton"}},
]  # fmt: skip


class DemoFailed(Exception):
    """A step of the story did not complete; the message says which."""


@dataclass
class Participant:
    """One node of the demo and how to drive it."""

    name: str
    home: Path
    url: str
    token: str
    server: ServerThread | None = None

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """The node's owner API."""
        response = httpx.request(
            method,
            f"{self.url}{path}",
            json=body,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30,
        )
        if response.status_code >= 400:
            raise DemoFailed(f"{self.name} {path}: HTTP {response.status_code} {response.text}")
        return response.json()


@dataclass
class Story:
    """The demo's state: where it runs, what crossed."""

    directory: Path
    console: Console
    started: float = field(default_factory=time.monotonic)
    crossed: int = 0
    servers: list[ServerThread] = field(default_factory=list)

    def observer(self, receiver: str) -> Callable[[Envelope, signing.SignatureParams, bool], None]:
        """Prints each signed message as the receiving node accepts it."""

        def seen(env: Envelope, params: signing.SignatureParams, late: bool) -> None:
            ctx = env.context
            if str(ctx.transaction_id).startswith(PULL_PREFIX):
                return  # catalog-freshness housekeeping, not part of the story
            self.crossed += 1
            elapsed = time.monotonic() - self.started
            self.console.print(
                f"[dim]{elapsed:5.2f}s[/] [cyan]{params.subscriber_id:>10}[/] → "
                f"[magenta]{receiver:<10}[/] [green]{env.action.value:<10}[/] "
                f"✓ signed [yellow]{params.unique_key_id[:12]}[/] ACK"
                + (" [red](late)[/]" if late else "")
                + f" [dim]{str(ctx.message_id)[:8]}[/]",
                highlight=False,
            )

        return seen


def _wait(what: str, check: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise DemoFailed(f"timed out waiting for {what}")


def _received(node: Participant, tx: str, action: str) -> dict[str, Any] | None:
    view = node.call("GET", f"/owner/transactions/{tx}")
    matching = [m for m in view["incoming"] if m["action"] == action]
    return matching[-1] if matching else None


def _start_node(
    story: Story,
    name: str,
    role: NodeRole,
    registry_url: str,
    display: str,
    *,
    domain: str = DOMAIN,
    city: str = CITY,
) -> Participant:
    port = free_port()
    home = NodeHome(story.directory / name)
    url = f"http://127.0.0.1:{port}"
    home.create(
        NodeConfig(
            subscriber_id=f"{name}.demo",
            role=role,
            domain=domain,
            city=city,
            country="IND",
            url=url,
            registries=(registry_url,),
            db_url=f"sqlite:///{home.path / 'node.sqlite'}",
            unique_key_id="",
            display_name=display,
            support_email=f"help@{name}.demo",
            delivery_charge="250.00",
            tax_percent="12",
        ),
        key_id_for,
    )
    node = build_node(home.path)
    server = ServerThread(
        create_app(node, observer=story.observer(node.config.subscriber_id)), port
    )
    story.servers.append(server.start())
    return Participant(node.config.subscriber_id, home.path, url, home.owner_token(), server)


@contextlib.contextmanager
def _network(story: Story) -> Iterator[tuple[str, Participant, Participant]]:
    registry_port = free_port()
    registry_url = f"http://127.0.0.1:{registry_port}"
    settings = RegistrySettings(
        db_url=f"sqlite:///{story.directory / 'registry.sqlite'}",
        home=story.directory / "registry",
        public_url=registry_url,
        subscriber_id="registry.demo.local",
        challenge_interval=0.2,
    )
    try:
        story.servers.append(ServerThread(create_registry(settings), registry_port).start())
        maker = _start_node(story, "maker", NodeRole.BPP, registry_url, "Kadam Footwear (maker)")
        shop = _start_node(story, "shop", NodeRole.BAP, registry_url, "Asha Shoes (shop)")
        yield registry_url, maker, shop
    finally:
        for server in reversed(story.servers):
            server.stop()


def _subscribed(registry_url: str, subscriber_id: str) -> bool:
    response = httpx.post(f"{registry_url}/lookup", json={"subscriber_id": subscriber_id})
    return response.status_code == 200 and any(
        item.get("status") == "SUBSCRIBED" for item in response.json()
    )


def _wait_subscribed(registry_url: str, subscriber_id: str) -> None:
    _wait(f"{subscriber_id} to be subscribed", lambda: _subscribed(registry_url, subscriber_id))


def tell(story: Story, registry_url: str, maker: Participant, shop: Participant) -> dict[str, Any]:
    """The story: subscribe, list a catalog, search, select, init, confirm, make and deliver."""
    console = story.console
    console.rule("1. Each node subscribes itself at the registry (signed record + challenge)")
    for node in (maker, shop):
        _wait_subscribed(registry_url, node.name)
        console.print(f"  {node.name} SUBSCRIBED at {registry_url}")
    console.rule("2. The maker lists its catalog (its own database, its own prices)")
    maker.call("POST", "/owner/catalog", CATALOG)
    console.print(f"  {len(CATALOG)} items on {maker.name}")

    console.rule("3. The shop searches the market directly (no platform in between)")
    tx = shop.call("POST", "/owner/search", {"text": "sneaker"})["transaction_id"]
    found = _wait("on_search", lambda: _received(shop, tx, "on_search"))
    offers = Table("item", "name", "price", "available", title="offers in on_search")
    for provider in found["message"]["catalog"]["providers"]:
        for item in provider.get("items", []):
            offers.add_row(
                item["id"],
                item["descriptor"]["name"],
                f"{item['price']['value']} {item['price']['currency']}",
                str(item["quantity"]["available"]["count"]),
            )
    console.print(offers)

    console.rule("4. Select → quote with price breakup; init → terms; confirm → order")
    items = [{"id": "sneaker-42", "quantity": 12}, {"id": "laces", "quantity": 12}]
    shop.call("POST", "/owner/select", {"transaction_id": tx, "bpp_id": maker.name, "items": items})
    quoted = _wait("on_select", lambda: _received(shop, tx, "on_select"))
    breakup = Table("line", "amount", title="quote")
    for line in quoted["message"]["order"]["quote"]["breakup"]:
        breakup.add_row(line["title"], line["price"]["value"])
    breakup.add_row(
        "[bold]total[/]", f"[bold]{quoted['message']['order']['quote']['price']['value']}[/]"
    )
    console.print(breakup)
    shop.call(
        "POST",
        "/owner/init",
        {"transaction_id": tx, "name": "Asha Shoes", "address": "12 MG Road, Bengaluru 560001"},
    )
    _wait("on_init", lambda: _received(shop, tx, "on_init"))
    shop.call("POST", "/owner/confirm", {"transaction_id": tx})
    confirmed = _wait("on_confirm", lambda: _received(shop, tx, "on_confirm"))
    order_id = confirmed["message"]["order"]["id"]
    console.print(f"  order [bold]{order_id}[/] confirmed; stock reserved on the maker's node")

    console.rule("5. The maker accepts, produces and completes; the shop hears each step")
    for verb in ("accept", "start", "complete"):
        maker.call("POST", f"/owner/orders/{order_id}/{verb}")
    _wait(
        "the shop's order to be Completed",
        lambda: any(o["state"] == "Completed" for o in shop.call("GET", "/owner/orders")),
    )
    _wait(
        "every message to be delivered",
        lambda: all(
            m["state"] == "acked"
            for node in (maker, shop)
            for m in node.call("GET", "/owner/outbox")
        ),
    )
    seller_order = next(o for o in maker.call("GET", "/owner/orders") if o["id"] == order_id)
    buyer_order = next(o for o in shop.call("GET", "/owner/orders") if o["id"] == order_id)
    return {
        "transaction": tx,
        "order": order_id,
        "seller_state": seller_order["state"],
        "buyer_state": buyer_order["state"],
        "total": f"{buyer_order['total']} {buyer_order['currency']}",
        "maker_out": _story_messages(maker),
        "shop_out": _story_messages(shop),
    }


def _run_chain(story: Story) -> int:
    # demo_chain builds on this module's pieces, so it is imported here.
    from supplymesh.entrypoints import demo_chain  # noqa: PLC0415

    try:
        result = demo_chain.run_chain(story)
    except DemoFailed as exc:
        story.console.print(f"[red]demo failed:[/] {exc}")
        return 1
    except KeyboardInterrupt:
        story.console.print("stopped")
        return 0
    finally:
        for server in reversed(story.servers):
            server.stop()
    table = Table("", "", title="chain summary")
    for key in ("transaction", "promise", "moved_to", "reason"):
        table.add_row(key, str(result[key]))
    table.add_row("seconds", f"{time.monotonic() - story.started:.1f}")
    story.console.print(table)
    return 0


def _story_messages(node: Participant) -> int:
    """Messages the node sent in the story (catalog-freshness pulls are housekeeping)."""
    sent = node.call("GET", "/owner/outbox")
    return sum(1 for m in sent if not m["transaction_id"].startswith(PULL_PREFIX))


def run(
    directory: Path | None,
    keep_running: bool,
    console: Console | None = None,
    scenario: str = "trade",
    consumers: int = 30,
) -> int:
    """Run the demo (``trade``, ``pool`` or ``chain``); 0 when the whole story completed."""
    console = console or Console(soft_wrap=True)
    folder = directory or Path(tempfile.mkdtemp(prefix="supplymesh-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    if any(folder.iterdir()):
        console.print(f"[red]error:[/] {folder} is not empty; give the demo an empty folder")
        return 2
    story = Story(directory=folder, console=console)
    console.print(f"[bold]supplymesh demo[/] in {folder}")
    if scenario == "chain":
        return _run_chain(story)
    try:
        with _network(story) as (registry_url, maker, shop):
            if scenario == "pool":
                # demo_pool builds on this module's pieces, so it is imported here.
                from supplymesh.entrypoints import demo_pool  # noqa: PLC0415

                people = demo_pool.start_consumers(story, registry_url, consumers)
                result = demo_pool.run_pool_story(story, registry_url, maker, people)
                table = Table("", "", title="pool summary")
                for key in ("pool", "state", "members", "unit_price", "merkle_root"):
                    table.add_row(key, str(result[key]))
                table.add_row("seconds", f"{time.monotonic() - story.started:.1f}")
                console.print(table)
                return 0
            summary = tell(story, registry_url, maker, shop)
            table = Table("", "", title="summary")
            table.add_row("transaction", summary["transaction"])
            table.add_row("order", summary["order"])
            table.add_row("maker's order state", summary["seller_state"])
            table.add_row("shop's order state", summary["buyer_state"])
            table.add_row("total", summary["total"])
            table.add_row("signed messages accepted", str(story.crossed))
            table.add_row(
                "sent by maker / shop (all ACKed)",
                f"{summary['maker_out']} / {summary['shop_out']}",
            )
            table.add_row("seconds", f"{time.monotonic() - story.started:.1f}")
            console.print(table)
            if keep_running:
                console.rule("still running (Ctrl-C stops everything)")
                console.print(f"registry  {registry_url}")
                for node in (maker, shop):
                    console.print(
                        f"{node.name:<20} {node.url}  owner token: {node.token}  home: {node.home}"
                    )
                while True:
                    time.sleep(3600)
    except DemoFailed as exc:
        console.print(f"[red]demo failed:[/] {exc}")
        return 1
    except KeyboardInterrupt:
        console.print("stopped")
        return 0
    return 0
