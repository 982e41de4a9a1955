"""Running a supply chain of real nodes on 127.0.0.1, and reading what crossed."""

from __future__ import annotations

import contextlib
import io
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console

from supplymesh.adapters.background_server import ServerThread, free_port
from supplymesh.adapters.node_home import NodeRole
from supplymesh.entrypoints.demo import (
    Participant,
    Story,
    _received,
    _start_node,
    _wait,
    _wait_subscribed,
)
from supplymesh.entrypoints.registry_server import RegistrySettings
from supplymesh.entrypoints.registry_server import create_app as create_registry

TODAY = datetime.now(UTC).date()


def day(offset: int) -> str:
    """Today (UTC) + ``offset`` days, ISO."""
    return (TODAY + timedelta(days=offset)).isoformat()


@contextlib.contextmanager
def network(
    directory: Path,
    nodes: list[tuple[str, NodeRole]],
    overrides: dict[str, dict[str, str]] | None = None,
) -> Iterator[dict[str, Participant]]:
    """A registry and the named nodes, every one subscribed; ``overrides`` gives some of them
    another domain or city."""
    story = Story(directory=directory, console=Console(file=io.StringIO()))
    port = free_port()
    registry_url = f"http://127.0.0.1:{port}"
    settings = RegistrySettings(
        db_url=f"sqlite:///{directory / 'registry.sqlite'}",
        home=directory / "registry",
        public_url=registry_url,
        subscriber_id="registry.demo.local",
        challenge_interval=0.2,
    )
    try:
        story.servers.append(ServerThread(create_registry(settings), port).start())
        started = {
            name: _start_node(
                story, name, role, registry_url, name.title(), **(overrides or {}).get(name, {})
            )
            for name, role in nodes
        }
        for node in started.values():
            _wait_subscribed(registry_url, node.name)  # every domain: a lookup by id
        yield started
    finally:
        for server in reversed(story.servers):
            server.stop()


def select(shop: Participant, seller: Participant, item: str, count: int) -> tuple[str, Any]:
    """The shop asks ``seller`` to quote; the transaction and the on_select's message."""
    tx = str(uuid.uuid4())
    shop.call(
        "POST",
        "/owner/select",
        {"transaction_id": tx, "bpp_id": seller.name, "items": [{"id": item, "quantity": count}]},
    )
    return tx, _wait("on_select", lambda: _received(shop, tx, "on_select"))["message"]


def buy(shop: Participant, seller: Participant, item: str, count: int) -> tuple[str, Any]:
    """select, init and confirm; the transaction and the on_confirm's message."""
    tx, _ = select(shop, seller, item, count)
    shop.call("POST", "/owner/init", {"transaction_id": tx, "name": "Shop", "address": "1 Road"})
    _wait("on_init", lambda: _received(shop, tx, "on_init"))
    shop.call("POST", "/owner/confirm", {"transaction_id": tx})
    return tx, _wait("on_confirm", lambda: _received(shop, tx, "on_confirm"))["message"]


def tags(message: dict[str, Any], group: str) -> dict[str, str]:
    """One tag group of an order message, as a dict."""
    for tag_group in message["order"].get("tags") or []:
        if tag_group["descriptor"]["code"] == group:
            return {t["descriptor"]["code"]: t["value"] for t in tag_group["list"]}
    raise AssertionError(f"no {group} tags in {message['order']}")


def purchase_orders(maker: Participant) -> list[dict[str, Any]]:
    """A maker's purchase orders."""
    return list(maker.call("GET", "/owner/production")["purchase_orders"])


def seller_orders(node: Participant) -> list[dict[str, Any]]:
    """A node's orders as seller."""
    return list(node.call("GET", "/owner/orders?role=seller"))


def promise_update(shop: Participant, tx: str) -> dict[str, str] | None:
    """The last ``promise`` tag group that reached the shop in an on_status, if any."""
    found = None
    for message in shop.call("GET", f"/owner/transactions/{tx}")["incoming"]:
        if message["action"] == "on_status":
            found = tags(message["message"], "promise")
    return found
