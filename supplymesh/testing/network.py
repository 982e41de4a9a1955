"""A real network on 127.0.0.1: a registry and node *processes*, driven like an operator would.

``Network`` starts ``python -m supplymesh registry serve`` and ``python -m supplymesh node
serve`` as child processes (:mod:`supplymesh.testing.processes`), each with its own home,
database and free port; creates the node homes with ``node init`` and talks to each node
through its owner API with the token from its home. Processes can be killed (SIGKILL: no
shutdown code runs) and restarted on the same port; ``close()`` stops whatever is still
running. Every wait is bounded: a step that does not happen in time raises
:class:`NetworkTimeout` with the tail of the process's log.

The end-to-end tests and ``scripts/crash_test`` use it. Child output goes to
``ROOT/logs/NAME.log`` (appended across restarts) so a failure can be read afterwards.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, func, select

from supplymesh.adapters.node_store import inbox, orders, outbox
from supplymesh.adapters.sql import make_engine
from supplymesh.testing.databases import database
from supplymesh.testing.processes import (
    START_TIMEOUT,
    ChildProcess,
    NetworkError,
    NetworkTimeout,
    OwnerApiError,
    RegistryProcess,
    wait_until,
)
from supplymesh.testing.servers import free_port

__all__ = [
    "FAST_DELIVERY",
    "SAMPLE_CATALOG",
    "Network",
    "NetworkError",
    "NetworkTimeout",
    "NodeProcess",
    "OwnerApiError",
    "network",
    "wait_until",
]

DOMAIN = "supplymesh:MFG10"
CITY = "std:080"
COUNTRY = "IND"

SAMPLE_CATALOG: list[dict[str, Any]] = [
    {
        "id": item_id,
        "name": name,
        "unit_price": price,
        "category": "shoes",
        "on_hand": 1000,
        "attributes": {"material": "leather"},
    }
    for item_id, name, price in (
        ("sneaker-42", "Sneaker 42", "1499.00"),
        ("boot-40", "Boot 40", "2999.50"),
        ("sandal-38", "Sandal 38", "499.00"),
        ("loafer-41", "Loafer 41", "1799.00"),
        ("clog-39", "Clog 39", "899.00"),
        ("slipper-37", "Slipper 37", "299.00"),
    )
]
"""A small catalog (1000 of each on hand) for a seller node."""

FAST_DELIVERY: dict[str, float] = {
    "retry_base_delay": 0.2,
    "retry_max_delay": 1.0,
    "breaker_threshold": 5,
    "breaker_cooldown": 0.5,
    "delivery_lease": 5.0,
}
"""node.toml delivery settings for tests: a peer back up is reached within about a second."""


@dataclass
class NodeProcess:
    """One node: its home, URL and database, its process, and its owner API."""

    name: str
    home: Path
    port: int
    db_url: str
    process: ChildProcess
    token: str = ""
    _engine: Engine | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """Where the node listens."""
        return f"http://127.0.0.1:{self.port}"

    # -- the process ----------------------------------------------------------------------------

    def start(self, timeout: float = START_TIMEOUT, *, wait: bool = True) -> NodeProcess:
        """Start ``node serve``; with ``wait``, until /health answers."""
        self.process.spawn()
        if wait:
            self.wait_healthy(timeout)
        return self

    def wait_healthy(self, timeout: float = START_TIMEOUT) -> None:
        """Until the node answers /health."""
        wait_until(
            lambda: self.process.answers(f"{self.url}/health"),
            timeout,
            f"node {self.name} on {self.url}",
            detail=self.process.log_tail,
        )

    @property
    def subscriber_id(self) -> str:
        """The node's subscriber id (NAME.example)."""
        return f"{self.name}.example"

    def subscribed_at(self, registry: RegistryProcess) -> bool:
        """True once the registry lists the node as SUBSCRIBED; raises if the node exited."""
        self.process.check_alive()
        return registry.status_of(self.subscriber_id) == "SUBSCRIBED"

    def kill(self) -> None:
        """kill -9 the node."""
        self.process.kill()

    def stop(self) -> None:
        """Stop the node (SIGTERM, then SIGKILL if it lingers)."""
        self.process.stop()

    def restart(self, timeout: float = START_TIMEOUT) -> None:
        """kill -9 and start again on the same port."""
        self.kill()
        self.start(timeout)

    # -- the owner API ---------------------------------------------------------------------------

    def call(self, method: str, path: str, body: Any = None, timeout: float = 15.0) -> Any:
        """One owner API call; the decoded JSON answer, or OwnerApiError."""
        response = httpx.request(
            method,
            f"{self.url}{path}",
            json=body,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=timeout,
        )
        data = response.json() if response.content else None
        if response.status_code >= 400:
            raise OwnerApiError(response.status_code, data)
        return data

    def get(self, path: str) -> Any:
        """GET an owner API path."""
        return self.call("GET", path)

    def post(self, path: str, body: Any = None) -> Any:
        """POST to an owner API path."""
        return self.call("POST", path, body)

    def transaction(self, transaction_id: str) -> dict[str, Any] | None:
        """The transaction's messages in and out and its order (None before any message)."""
        try:
            view: dict[str, Any] = self.get(f"/owner/transactions/{transaction_id}")
        except OwnerApiError as exc:
            if exc.status == 404:
                return None
            raise
        return view

    def incoming(self, transaction_id: str, action: str) -> list[dict[str, Any]]:
        """The messages of ``action`` received in a transaction, oldest first."""
        view = self.transaction(transaction_id)
        if view is None:
            return []
        return [m for m in view["incoming"] if m["action"] == action]

    def wait_incoming(
        self, transaction_id: str, action: str, count: int = 1, timeout: float = 15.0
    ) -> list[dict[str, Any]]:
        """Until ``count`` messages of ``action`` arrived in the transaction; returns them."""
        return wait_until(
            lambda: found if len(found := self.incoming(transaction_id, action)) >= count else None,
            timeout,
            f"{self.name}: {count} x {action} in {transaction_id}",
            interval=0.1,
            detail=lambda: self.process.log_tail(20),
        )

    def order(self, transaction_id: str) -> dict[str, Any] | None:
        """This node's order in the transaction (as the owner sees it), or None."""
        view = self.transaction(transaction_id)
        return None if view is None else view["order"]

    def wait_order_state(
        self, transaction_id: str, state: str, timeout: float = 15.0
    ) -> dict[str, Any]:
        """Until the transaction's order is in ``state``; returns the order."""

        def check() -> dict[str, Any] | None:
            order = self.order(transaction_id)
            return order if order is not None and order["state"] == state else None

        return wait_until(check, timeout, f"{self.name}: order of {transaction_id} {state}")

    def quote(self, seller: str, items: dict[str, int]) -> str:
        """search, then select ``items`` (id: quantity) from ``seller``; the transaction id."""
        tx: str = self.post("/owner/search", {"text": None})["transaction_id"]
        self.wait_incoming(tx, "on_search")
        chosen = [{"id": item_id, "quantity": count} for item_id, count in items.items()]
        self.post("/owner/select", {"transaction_id": tx, "bpp_id": seller, "items": chosen})
        self.wait_incoming(tx, "on_select")
        return tx

    def buy(self, seller: str, items: dict[str, int]) -> tuple[str, dict[str, Any]]:
        """The whole purchase through the owner API: quote, init, confirm; (tx, buyer's order)."""
        tx = self.quote(seller, items)
        self.post("/owner/init", {"transaction_id": tx, "name": "Asha", "address": "1 MG Road"})
        self.wait_incoming(tx, "on_init")
        self.post("/owner/confirm", {"transaction_id": tx})
        self.wait_incoming(tx, "on_confirm")
        order = wait_until(lambda: self.order(tx), 10.0, f"{self.name}: order of {tx}")
        return tx, order

    def catalog(self) -> dict[str, dict[str, Any]]:
        """The catalog by item id."""
        return {item["id"]: item for item in self.get("/owner/catalog")}

    # -- the database, read directly -------------------------------------------------------------

    @property
    def engine(self) -> Engine:
        """An engine on the node's database (for reading what the node wrote)."""
        if self._engine is None:
            self._engine = make_engine(self.db_url)
        return self._engine

    def outbox_states(self) -> dict[str, int]:
        """How many outgoing messages are in each delivery state."""
        with self.engine.connect() as connection:
            rows = connection.execute(select(outbox.c.state, func.count()).group_by(outbox.c.state))
            return {str(state): int(count) for state, count in rows}

    def pending(self) -> int:
        """Outgoing messages not settled yet (queued or sending)."""
        states = self.outbox_states()
        return states.get("queued", 0) + states.get("sending", 0)

    def inbox_rows(self, action: str | None = None) -> list[dict[str, Any]]:
        """Received messages (sender, action, message_id, transaction_id), oldest first."""
        query = select(
            inbox.c.id, inbox.c.sender, inbox.c.action, inbox.c.message_id, inbox.c.transaction_id
        ).order_by(inbox.c.id)
        if action is not None:
            query = query.where(inbox.c.action == action)
        with self.engine.connect() as connection:
            return [dict(row) for row in connection.execute(query).mappings()]

    def outbox_rows(self, action: str | None = None) -> list[dict[str, Any]]:
        """Outgoing messages (ids, action, state, attempts, last_error), oldest first."""
        query = select(
            outbox.c.id,
            outbox.c.transaction_id,
            outbox.c.message_id,
            outbox.c.action,
            outbox.c.state,
            outbox.c.attempts,
            outbox.c.last_error,
        ).order_by(outbox.c.id)
        if action is not None:
            query = query.where(outbox.c.action == action)
        with self.engine.connect() as connection:
            return [dict(row) for row in connection.execute(query).mappings()]

    def order_rows(self, role: str) -> list[dict[str, Any]]:
        """Orders of ``role`` (id, transaction_id, state)."""
        query = select(orders.c.id, orders.c.transaction_id, orders.c.state).where(
            orders.c.role == role
        )
        with self.engine.connect() as connection:
            return [dict(row) for row in connection.execute(query).mappings()]

    def dispose(self) -> None:
        """Close the reading engine."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def _configure(path: Path, numbers: dict[str, float], texts: dict[str, str] | None) -> None:
    """Set top-level keys of a node.toml (replacing the lines ``node init`` wrote for them)."""
    values = {key: repr(value) for key, value in numbers.items()}
    values.update({key: json.dumps(value) for key, value in (texts or {}).items()})
    kept = [
        line
        for line in path.read_text().splitlines()
        if line.partition("=")[0].strip() not in values
    ]
    path.write_text("\n".join([*kept, *(f"{k} = {v}" for k, v in values.items())]) + "\n")


class Network:
    """A registry and nodes as processes under ``root``, on ``kind`` databases."""

    def __init__(self, root: Path, kind: str = "sqlite") -> None:
        self.root = root
        self.kind = kind
        self.nodes: dict[str, NodeProcess] = {}
        self.registry: RegistryProcess | None = None
        self._databases = contextlib.ExitStack()

    def __enter__(self) -> Network:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _database(self, name: str) -> str:
        if self.kind == "sqlite":
            return f"sqlite:///{self.root / name / 'node.sqlite'}"
        return self._databases.enter_context(database(self.kind, self.root))

    def start_registry(self) -> RegistryProcess:
        """Start the network's registry."""
        db_url = (
            f"sqlite:///{self.root / 'registry.sqlite'}"
            if self.kind == "sqlite"
            else self._database("registry")
        )
        self.registry = RegistryProcess(self.root, db_url).start()
        return self.registry

    def add_node(
        self,
        name: str,
        role: str,
        *,
        delivery: dict[str, float] | None = None,
        extra: dict[str, str] | None = None,
        domain: str = DOMAIN,
    ) -> NodeProcess:
        """A node home made by ``node init`` (not started); ``delivery`` tunes its dispatcher."""
        if self.registry is None:
            raise NetworkError("start the registry before adding nodes")
        home = self.root / name
        port = free_port()
        db_url = self._database(name)
        argv = [
            sys.executable,
            "-m",
            "supplymesh",
            "node",
            "init",
            str(home),
            "--name",
            f"{name}.example",
            "--role",
            role,
            "--domain",
            domain,
            "--city",
            CITY,
            "--country",
            COUNTRY,
            "--url",
            f"http://127.0.0.1:{port}",
            "--registry",
            self.registry.url,
        ]
        if self.kind != "sqlite":
            argv += ["--db", db_url]
        result = subprocess.run(  # noqa: S603 - our own interpreter and arguments
            argv, capture_output=True, text=True, timeout=60, check=False
        )
        if result.returncode != 0:
            raise NetworkError(f"node init {name} failed: {result.stderr or result.stdout}")
        _configure(home / "node.toml", delivery if delivery is not None else FAST_DELIVERY, extra)
        node = NodeProcess(
            name=name,
            home=home,
            port=port,
            db_url=db_url,
            process=ChildProcess(
                name,
                [sys.executable, "-m", "supplymesh", "node", "serve", str(home)],
                self.root / "logs" / f"{name}.log",
            ),
            token=(home / "owner.token").read_text().strip(),
        )
        self.nodes[name] = node
        return node

    def wait_subscribed(self, *nodes: NodeProcess, timeout: float = START_TIMEOUT) -> None:
        """Until the registry lists every node as SUBSCRIBED."""
        registry = self.registry
        if registry is None:
            raise NetworkError("no registry")
        for node in nodes:
            wait_until(
                partial(node.subscribed_at, registry),
                timeout,
                f"{node.name} subscribed at the registry",
                interval=0.1,
                detail=partial(node.process.log_tail, 20),
            )

    def wait_drained(self, timeout: float = 60.0) -> None:
        """Until no node has an outgoing message left to deliver."""
        wait_until(
            lambda: all(node.pending() == 0 for node in self.nodes.values()),
            timeout,
            "every outbox drained",
            interval=0.2,
            detail=lambda: "; ".join(f"{n.name}: {n.outbox_states()}" for n in self.nodes.values()),
        )

    def close(self) -> None:
        """Stop every process, then drop the databases made for this network."""
        for node in self.nodes.values():
            node.stop()
            node.dispose()
        if self.registry is not None:
            self.registry.stop()
        self._databases.close()


@contextlib.contextmanager
def network(root: Path, kind: str = "sqlite") -> Iterator[Network]:
    """A network for the block; everything is stopped at the end."""
    net = Network(root, kind)
    try:
        yield net
    finally:
        net.close()
