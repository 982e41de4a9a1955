"""``supplymesh node|catalog|orders|buy|tx|outbox``: make, run and drive a node.

``node init`` and ``node serve`` work on the home folder; every other command talks to the
running node's owner API with the owner token from the home, so the node stays the one
writer of its database and sends what a command queues at once.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

node_app = typer.Typer(help="Create and run a node.", no_args_is_help=True)
catalog_app = typer.Typer(help="A seller's catalog.", no_args_is_help=True)
orders_app = typer.Typer(help="Orders, and the seller moving them on.", no_args_is_help=True)
buy_app = typer.Typer(
    help="Buy: search, select, init, confirm and follow up.", no_args_is_help=True
)
tx_app = typer.Typer(help="Transactions and their messages.", no_args_is_help=True)

Home = Annotated[Path, typer.Argument(help="The node's home folder.")]


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


@node_app.command("init")
def init(
    home: Home,
    name: Annotated[str, typer.Option("--name", help="Subscriber id, e.g. maker.example.")],
    role: Annotated[str, typer.Option("--role", help="bpp, bap or both.")],
    domain: Annotated[str, typer.Option("--domain", help="Domain code, e.g. supplymesh:MFG10.")],
    city: Annotated[str, typer.Option("--city", help="City code, e.g. std:080.")],
    country: Annotated[str, typer.Option("--country", help="Country code, e.g. IND.")],
    url: Annotated[
        str, typer.Option("--url", help="Where the node listens, e.g. http://127.0.0.1:8501.")
    ],
    registry: Annotated[list[str], typer.Option("--registry", help="Registry URL (repeatable).")],
    db: Annotated[
        str | None, typer.Option("--db", help="Database URL (default: SQLite in HOME).")
    ] = None,
    display_name: Annotated[str, typer.Option("--display-name", help="Shown to buyers.")] = "",
    gateway: Annotated[
        list[str] | None, typer.Option("--gateway", help="Gateway URL to search through.")
    ] = None,
    weights: Annotated[str, typer.Option("--weights", help="Ranking weights.")] = "",
    gps: Annotated[str, typer.Option("--gps", help="Your location, 'lat,lng'.")] = "",
) -> None:
    """Create a node home: keys, node.toml, database and an owner token (0600)."""
    from supplymesh.adapters.node_home import NodeConfig, NodeHome, NodeHomeError, NodeRole
    from supplymesh.services.subscription import key_id_for

    try:
        node_role = NodeRole(role.lower())
    except ValueError:
        raise _fail(f"--role must be bpp, bap or both, not {role!r}") from None
    if not url.startswith(("http://", "https://")):
        raise _fail(f"--url must be an http(s) URL, not {url!r}")
    target = NodeHome(home.resolve())
    db_url = db or f"sqlite:///{target.path / 'node.sqlite'}"
    config = NodeConfig(
        subscriber_id=name,
        role=node_role,
        domain=domain,
        city=city,
        country=country,
        url=url.rstrip("/"),
        registries=tuple(registry),
        db_url=db_url,
        unique_key_id="",
        display_name=display_name or name,
        gateways=tuple(gateway or ()),
        weights=weights,
        gps=gps,
    )
    try:
        config = target.create(config, key_id_for)
    except NodeHomeError as exc:
        raise _fail(str(exc)) from None
    typer.echo(
        json.dumps(
            {
                "home": str(target.path),
                "subscriber_id": name,
                "unique_key_id": config.unique_key_id,
                "signing_public_key": target.signing_key().public_key_b64,
                "owner_token_file": str(target.path / "owner.token"),
            }
        )
    )


@node_app.command("serve")
def serve(
    home: Home,
    host: Annotated[
        str, typer.Option("--host", help="Address to bind (default: from --url).")
    ] = "",
    workers: Annotated[
        int, typer.Option("--workers", min=1, help="Worker processes (PostgreSQL for more than 1).")
    ] = 1,
) -> None:
    """Run the node: inbox, owner API, outbox dispatcher; subscribe to its registries."""
    from urllib.parse import urlsplit

    import uvicorn

    from supplymesh.adapters.node_home import NodeHomeError
    from supplymesh.adapters.sql import DatabaseUrlError
    from supplymesh.entrypoints.logs import configure
    from supplymesh.entrypoints.node_app import build_node
    from supplymesh.entrypoints.node_server import create_app

    configure()
    try:
        node = build_node(home.resolve())
    except (NodeHomeError, DatabaseUrlError, OSError, ValueError) as exc:
        raise _fail(str(exc)) from None
    parts = urlsplit(node.config.url)
    bind_host, bind_port = host or parts.hostname or "127.0.0.1", parts.port or 80
    typer.echo(f"node {node.config.subscriber_id} on {node.config.url}")
    if workers > 1:
        if not node.config.db_url.startswith("postgresql"):
            raise _fail("several workers share one database: use PostgreSQL (--db at init)")
        os.environ["SUPPLYMESH_NODE_HOME"] = str(home.resolve())
        uvicorn.run(
            "supplymesh.entrypoints.node_server:app_from_environment",
            factory=True,
            workers=workers,
            http="supplymesh.entrypoints.http_protocol:NoDelayH11Protocol",
            log_level="warning",
            host=bind_host,
            port=bind_port,
        )
        return
    uvicorn.run(create_app(node), log_level="warning", host=bind_host, port=bind_port)


# -- commands through the owner API -----------------------------------------------------------


def _call(home: Path, method: str, path: str, body: Any = None) -> Any:
    import httpx

    from supplymesh.adapters.node_home import NodeHome, NodeHomeError

    target = NodeHome(home.resolve())
    try:
        config = target.load()
        token = target.owner_token()
    except (NodeHomeError, OSError) as exc:
        raise _fail(str(exc)) from None
    try:
        response = httpx.request(
            method,
            f"{config.url}{path}",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
    except httpx.HTTPError as exc:
        raise _fail(
            f"the node at {config.url} does not answer ({exc}); is it running? "
            f"supplymesh node serve {home}"
        ) from None
    data = response.json() if response.content else None
    if response.status_code >= 400:
        message = data.get("error") if isinstance(data, dict) else response.text
        raise _fail(f"{message}", 1)
    return data


def _print(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2))


@catalog_app.command("import")
def catalog_import(home: Home, file: Annotated[Path, typer.Argument(help="CSV or JSON.")]) -> None:
    """Add or replace catalog items from a CSV or JSON file."""
    import msgspec

    from supplymesh.services.catalog_import import CatalogFileError, items_from_file

    try:
        items = items_from_file(file)
    except CatalogFileError as exc:
        raise _fail(str(exc)) from None
    listing = _call(home, "POST", "/owner/catalog", msgspec.to_builtins(items))
    typer.echo(f"imported {len(items)} items; the catalog has {len(listing)}")


@catalog_app.command("list")
def catalog_list(home: Home) -> None:
    """The catalog with stock."""
    from rich.console import Console
    from rich.table import Table

    table = Table("id", "name", "price", "on hand", "reserved", "available")
    for item in _call(home, "GET", "/owner/catalog"):
        table.add_row(
            item["id"],
            item["name"],
            f"{item['unit_price']} {item['currency']}",
            str(item["on_hand"]),
            str(item["reserved"]),
            str(item["available"]),
        )
    Console().print(table)


@orders_app.command("list")
def orders_list(
    home: Home, role: Annotated[str | None, typer.Option("--role", help="seller or buyer.")] = None
) -> None:
    """Orders, newest first."""
    _print(_call(home, "GET", "/owner/orders" + (f"?role={role}" if role else "")))


def _move(verb: str) -> Any:
    def command(
        home: Home,
        order_id: Annotated[str, typer.Argument(help="The order id.")],
        reason: Annotated[str | None, typer.Option("--reason")] = None,
    ) -> None:
        query = f"?reason={reason}" if reason else ""
        _print(_call(home, "POST", f"/owner/orders/{order_id}/{verb}{query}"))

    command.__doc__ = f"{verb.capitalize()} an order (the buyer is told by on_status/on_cancel)."
    return command


for _verb in ("accept", "start", "complete", "cancel"):
    orders_app.command(_verb)(_move(_verb))


@buy_app.command("search")
def buy_search(
    home: Home,
    query: Annotated[str | None, typer.Option("--query", help="Words in the item name.")] = None,
    category: Annotated[str | None, typer.Option("--category")] = None,
) -> None:
    """Search every seller of the node's market; answers arrive as on_search."""
    _print(_call(home, "POST", "/owner/search", {"text": query, "category": category}))


def _items(specs: list[str]) -> list[dict[str, Any]]:
    items = []
    for spec in specs:
        item_id, _, quantity = spec.partition("=")
        if not item_id or (quantity and not quantity.isdigit()):
            raise _fail(f"--item takes ID or ID=QUANTITY, not {spec!r}")
        items.append({"id": item_id, "quantity": int(quantity or 1)})
    return items


@buy_app.command("select")
def buy_select(
    home: Home,
    transaction_id: Annotated[str, typer.Argument()],
    seller: Annotated[str, typer.Option("--seller", help="The seller's subscriber id.")],
    item: Annotated[list[str], typer.Option("--item", help="ID=QUANTITY (repeatable).")],
) -> None:
    """Ask a seller for a quote."""
    body = {"transaction_id": transaction_id, "bpp_id": seller, "items": _items(item)}
    _print(_call(home, "POST", "/owner/select", body))


@buy_app.command("init")
def buy_init(
    home: Home,
    transaction_id: Annotated[str, typer.Argument()],
    name: Annotated[str, typer.Option("--name")],
    address: Annotated[str, typer.Option("--address")],
    email: Annotated[str | None, typer.Option("--email")] = None,
    phone: Annotated[str | None, typer.Option("--phone")] = None,
) -> None:
    """Send billing and delivery details for the last quote."""
    body = {
        "transaction_id": transaction_id,
        "name": name,
        "address": address,
        "email": email,
        "phone": phone,
    }
    _print(_call(home, "POST", "/owner/init", body))


@buy_app.command("confirm")
def buy_confirm(home: Home, transaction_id: Annotated[str, typer.Argument()]) -> None:
    """Confirm the order at the quoted price."""
    _print(_call(home, "POST", "/owner/confirm", {"transaction_id": transaction_id}))


def _follow(action: str) -> Any:
    def command(
        home: Home,
        transaction_id: Annotated[str, typer.Argument()],
        reason: Annotated[str | None, typer.Option("--reason", help="cancel: why.")] = None,
        value: Annotated[int | None, typer.Option("--value", help="rate: 1 to 5.")] = None,
        item: Annotated[list[str] | None, typer.Option("--item", help="update: ID=QTY.")] = None,
    ) -> None:
        body = {
            "transaction_id": transaction_id,
            "reason": reason,
            "value": value,
            "items": _items(item or []),
        }
        _print(_call(home, "POST", f"/owner/{action}", body))

    command.__doc__ = f"Send {action} about the transaction's order."
    return command


for _action, _name in (
    ("status", "status"),
    ("track", "track"),
    ("cancel", "cancel"),
    ("update", "update"),
    ("rating", "rate"),
    ("support", "support"),
):
    buy_app.command(_name)(_follow(_action))


@tx_app.command("list")
def tx_list(home: Home) -> None:
    """Recent transactions."""
    _print(_call(home, "GET", "/owner/transactions"))


@tx_app.command("show")
def tx_show(home: Home, transaction_id: Annotated[str, typer.Argument()]) -> None:
    """One transaction: messages in and out, delivery states, the order."""
    _print(_call(home, "GET", f"/owner/transactions/{transaction_id}"))


def outbox_command(home: Home) -> None:
    """Outgoing messages and their delivery state (queued, sending, acked, nacked, failed)."""
    _print(_call(home, "GET", "/owner/outbox"))


def search_command(
    home: Home,
    query: Annotated[str | None, typer.Option("--query", help="Words in the item name.")] = None,
    weights: Annotated[
        str, typer.Option("--weights", help="e.g. price=0.5,delivery=0.3 (over the node's).")
    ] = "",
    want: Annotated[
        list[str] | None, typer.Option("--want", help="Wanted attribute NAME:VALUE (repeatable).")
    ] = None,
    wait: Annotated[
        float, typer.Option("--wait", min=0.5, help="Seconds to collect answers.")
    ] = 5.0,
) -> None:
    """Search the market and show the offers ranked by your weights as they arrive."""
    from supplymesh.domain.ranking import WeightsError, parse_weights

    if weights:
        try:
            parse_weights(weights)
        except WeightsError as exc:
            raise _fail(str(exc)) from None
    wanted = [w for w in want or [] if ":" in w]
    tx = _call(home, "POST", "/owner/search", {"text": query})["transaction_id"]
    _show_offers(home, tx, weights, wanted, wait)


def _show_offers(home: Path, tx: str, weights: str, wanted: list[str], wait: float) -> None:
    import time
    from urllib.parse import urlencode

    from rich.console import Console
    from rich.live import Live

    params = urlencode([("weights", weights), *(("want", w) for w in wanted)])
    path = f"/owner/transactions/{tx}/offers?{params}"
    console = Console()
    deadline = time.monotonic() + wait
    offers: list[dict[str, Any]] = []
    with Live(_offers_table(tx, offers), console=console, refresh_per_second=4) as live:
        while time.monotonic() < deadline:
            offers = _call(home, "GET", path)
            live.update(_offers_table(tx, offers))
            time.sleep(0.3)
    if not offers:
        typer.echo(
            f"no offers in {wait:.0f} s (transaction {tx}); late answers are kept: "
            f"supplymesh tx show {home} {tx}"
        )


def demand_command(
    home: Home,
    category: Annotated[str | None, typer.Option("--category")] = None,
    spec: Annotated[
        list[str] | None, typer.Option("--spec", help="NAME=VALUE (repeatable).")
    ] = None,
    quantity: Annotated[int, typer.Option("--quantity", min=1)] = 1,
    max_price: Annotated[
        str | None, typer.Option("--max-price", help="Unit price ceiling.")
    ] = None,
    needed_by: Annotated[str | None, typer.Option("--needed-by", help="YYYY-MM-DD.")] = None,
    text: Annotated[str | None, typer.Option("--text", help="Free text.")] = None,
    weights: Annotated[str, typer.Option("--weights")] = "",
    wait: Annotated[float, typer.Option("--wait", min=0.5)] = 5.0,
) -> None:
    """Tell makers what you want made (C2M); their offers, ranked by your weights, as they come."""
    pairs = dict(item.split("=", 1) for item in spec or [] if "=" in item)
    body = {
        "category": category,
        "spec": pairs,
        "quantity": quantity,
        "price_ceiling": max_price,
        "needed_by": needed_by,
        "text": text,
    }
    tx = _call(home, "POST", "/owner/demand", body)["transaction_id"]
    _show_offers(home, tx, weights, [f"{k}:{v}" for k, v in pairs.items()], wait)


def _offers_table(tx: str, offers: list[dict[str, Any]]) -> Any:
    from rich.table import Table

    table = Table(
        "#",
        "seller",
        "item",
        "price",
        "delivery d",
        "km",
        "rating",
        "score",
        "why",
        title=f"offers for {tx} (ranked by your weights)",
    )
    for offer in offers:
        why = " ".join(
            f"{name}+{part['contribution']:.2f}"
            for name, part in offer["breakdown"].items()
            if part["contribution"] > 0
        )
        table.add_row(
            str(offer["rank"]),
            offer["seller"],
            f"{offer['name']} ({offer['item_id']})",
            f"{offer['unit_price']} {offer['currency']}",
            "-" if offer["delivery_days"] is None else f"{offer['delivery_days']:.0f}",
            "-" if offer["distance_km"] is None else f"{offer['distance_km']:.0f}",
            "-" if offer["rating"] is None else f"{offer['rating']:.1f}",
            f"{offer['score']:.3f}",
            why + (" (late)" if offer["late"] else ""),
        )
    return table


pool_app = typer.Typer(
    help="Demand pools: one public, signed price table for everyone.", no_args_is_help=True
)


@pool_app.command("create")
def pool_create(
    home: Home,
    item: Annotated[str, typer.Option("--item", help="The item id the pool makes.")],
    tier: Annotated[list[str], typer.Option("--tier", help="MIN_QTY=UNIT_PRICE (repeatable).")],
    deadline: Annotated[str, typer.Option("--deadline", help="RFC 3339, or +SECONDS from now.")],
    spec: Annotated[
        list[str] | None, typer.Option("--spec", help="NAME=VALUE (repeatable).")
    ] = None,
    max_per_member: Annotated[int, typer.Option("--max-per-member", min=1)] = 1000,
    max_total: Annotated[int | None, typer.Option("--max-total", min=1)] = None,
    close_when_top_tier: Annotated[bool, typer.Option("--close-when-top-tier")] = False,
    promise_date: Annotated[str | None, typer.Option("--promise-date")] = None,
) -> None:
    """Open a pool on this (seller's) node; its tier table is signed and public."""
    from datetime import UTC, datetime, timedelta

    tiers = []
    for spec_text in tier:
        quantity, _, price = spec_text.partition("=")
        if not quantity.isdigit() or not price:
            raise _fail(f"--tier takes MIN_QTY=UNIT_PRICE, not {spec_text!r}")
        tiers.append({"min_quantity": int(quantity), "unit_price": price})
    if deadline.startswith("+") and deadline[1:].isdigit():
        deadline = (datetime.now(UTC) + timedelta(seconds=int(deadline[1:]))).isoformat()
    body = {
        "item_id": item,
        "tiers": tiers,
        "deadline": deadline,
        "spec": dict(s.split("=", 1) for s in spec or [] if "=" in s),
        "max_per_member": max_per_member,
        "max_total": max_total,
        "close_when_top_tier": close_when_top_tier,
        "promise_date": promise_date,
    }
    _print(_call(home, "POST", "/owner/pools", body))


@pool_app.command("list")
def pool_list(home: Home) -> None:
    """The pools this node hosts, with members, totals and outcomes."""
    _print(_call(home, "GET", "/owner/pools"))


@pool_app.command("join")
def pool_join(
    home: Home,
    seller: Annotated[str, typer.Option("--seller", help="The pool's host.")],
    pool_id: Annotated[str, typer.Option("--pool", help="The pool id.")],
    quantity: Annotated[int, typer.Option("--quantity", min=1)] = 1,
) -> None:
    """Join a pool seen in a search (its signed terms are checked first)."""
    _print(
        _call(
            home,
            "POST",
            "/owner/memberships/join",
            {"bpp_id": seller, "pool_id": pool_id, "quantity": quantity},
        )
    )


@pool_app.command("leave")
def pool_leave(home: Home, order_ref: Annotated[str, typer.Argument(help="pool:POOL:TX")]) -> None:
    """Leave a pool before its deadline."""
    _print(_call(home, "POST", "/owner/memberships/leave", {"order_ref": order_ref}))


@pool_app.command("memberships")
def pool_memberships(home: Home) -> None:
    """This node's pool memberships: state, and any alarm its own checks raised."""
    _print(_call(home, "GET", "/owner/memberships"))
