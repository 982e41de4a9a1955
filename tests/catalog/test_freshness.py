"""Catalog freshness: incremental pulls keep a buyer's cache of sellers' catalogs current."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from supplymesh.adapters.node_home import NodeConfig, NodeHome, NodeRole
from supplymesh.entrypoints.node_app import build_node
from supplymesh.entrypoints.node_server import create_app
from supplymesh.entrypoints.registry_server import RegistrySettings
from supplymesh.entrypoints.registry_server import create_app as create_registry
from supplymesh.services.subscription import key_id_for
from supplymesh.testing.servers import ServerThread, free_port


@dataclass
class Owner:
    url: str
    token: str

    def call(self, method: str, path: str, body: Any = None) -> Any:
        response = httpx.request(
            method,
            self.url + path,
            json=body,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=10,
        )
        assert response.status_code < 400, response.text
        return response.json()


def start_node(
    tmp: Path, name: str, role: NodeRole, registry: str, servers: list[ServerThread], **extra: Any
) -> Owner:
    port = free_port()
    home = NodeHome(tmp / name)
    home.create(
        NodeConfig(
            subscriber_id=f"{name}.test",
            role=role,
            domain="supplymesh:MFG10",
            city="std:080",
            country="IND",
            url=f"http://127.0.0.1:{port}",
            registries=(registry,),
            db_url=f"sqlite:///{home.path / 'node.sqlite'}",
            unique_key_id="",
            **extra,
        ),
        key_id_for,
    )
    servers.append(ServerThread(create_app(build_node(home.path)), port).start())
    return Owner(f"http://127.0.0.1:{port}", home.owner_token())


@pytest.fixture
def market(tmp_path: Path) -> Iterator[tuple[Owner, Owner]]:
    servers: list[ServerThread] = []
    port = free_port()
    registry = f"http://127.0.0.1:{port}"
    settings = RegistrySettings(
        db_url=f"sqlite:///{tmp_path / 'r.sqlite'}",
        home=tmp_path / "reg",
        public_url=registry,
        challenge_interval=0.1,
    )
    servers.append(ServerThread(create_registry(settings), port).start())
    try:
        seller = start_node(tmp_path, "maker", NodeRole.BPP, registry, servers)
        buyer = start_node(tmp_path, "shop", NodeRole.BAP, registry, servers, catalog_refresh=0.5)
        yield seller, buyer
    finally:
        for server in reversed(servers):
            server.stop()


def wait_for(check: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("not in time")


ITEM = {
    "id": "sneaker-42",
    "name": "Leather sneaker 42",
    "unit_price": "2499.00",
    "on_hand": 10,
    "lead_time_days": 5,
}


def test_a_sellers_price_change_reaches_the_buyers_cache_by_incremental_pull(
    market: tuple[Owner, Owner],
) -> None:
    """The buyer pulls changes since its last pull; a new price shows up within seconds."""
    seller, buyer = market
    seller.call("POST", "/owner/catalog", [ITEM])
    tx = buyer.call("POST", "/owner/search", {"text": "sneaker"})["transaction_id"]
    wait_for(lambda: buyer.call("GET", f"/owner/transactions/{tx}/offers"))
    seller.call("POST", "/owner/catalog", [{**ITEM, "unit_price": "2299.00"}])
    changed_at = time.monotonic()

    def cached_price() -> str | None:
        tx2 = buyer.call("POST", "/owner/search", {"text": "sneaker"})["transaction_id"]
        offers = buyer.call("GET", f"/owner/transactions/{tx2}/offers")
        return next((o["unit_price"] for o in offers if o["source"] == "cache"), None)

    wait_for(lambda: cached_price() == "2299.00")
    assert time.monotonic() - changed_at < 60
    transactions = buyer.call("GET", "/owner/transactions")
    assert not any(t["transaction_id"].startswith("catalog-pull-") for t in transactions)


def test_a_new_search_answers_from_the_cache_at_once(market: tuple[Owner, Owner]) -> None:
    """Before any seller replies, the offers already list cached items, marked as cache."""
    seller, buyer = market
    seller.call("POST", "/owner/catalog", [ITEM])

    def cached_now() -> bool:
        tx = buyer.call("POST", "/owner/search", {"text": "sneaker"})["transaction_id"]
        return any(
            o["source"] == "cache" for o in buyer.call("GET", f"/owner/transactions/{tx}/offers")
        )

    wait_for(cached_now)
    tx = buyer.call("POST", "/owner/search", {"text": "boots"})["transaction_id"]
    assert buyer.call("GET", f"/owner/transactions/{tx}/offers") == []
