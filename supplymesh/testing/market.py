"""A whole market in this process: a registry, gateways, seller and buyer nodes, test servers.

Every part is the real code on a free 127.0.0.1 port: the registry (SQLite), gateways
(``gateway_server.create_app``) and nodes (``build_node`` + ``node_server.create_app``), each
node with its own home, keys, owner token and SQLite database, subscribing itself at the
registry through the challenge. Apps run as uvicorn servers in background threads; a
:class:`ServerGroup` runs many of them on one event loop (one thread), so a hundred sellers do
not need a hundred threads. :meth:`Market.add_participant` serves a test double (a slow
seller, a tampering gateway) under a subscribed identity of its own.

Each node records the messages it accepts (:class:`Arrivals`, fed by the inbox's observer), so
a test can wait for answers, and time them, without polling a database. Every wait is
bounded and raises :class:`MarketTimeout` naming what did not come.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from supplymesh.adapters.node_home import NodeConfig, NodeHome, NodeRole
from supplymesh.entrypoints.challenge_app import on_subscribe_endpoint
from supplymesh.entrypoints.gateway_server import GatewaySettings
from supplymesh.entrypoints.gateway_server import create_app as create_gateway
from supplymesh.entrypoints.node_app import Node, build_node
from supplymesh.entrypoints.node_server import create_app as create_node_app
from supplymesh.entrypoints.registry_server import RegistrySettings
from supplymesh.entrypoints.registry_server import create_app as create_registry
from supplymesh.protocol import signing
from supplymesh.protocol.codec import encode_json
from supplymesh.protocol.envelope import Envelope
from supplymesh.protocol.registry import SubscriberType
from supplymesh.services.gateway import Gateway
from supplymesh.services.subscription import key_id_for
from supplymesh.testing.participants import Participant
from supplymesh.testing.servers import ServerThread, free_port

DOMAIN = "supplymesh:MFG10"
CITY = "std:080"
COUNTRY = "IND"
FAST_DELIVERY: dict[str, float] = {
    "retry_base_delay": 0.2,
    "retry_max_delay": 1.0,
    "breaker_threshold": 5,
    "breaker_cooldown": 0.5,
    "delivery_lease": 5.0,
}
"""Dispatcher settings for tests: a peer back up is reached again within about a second."""


class MarketTimeout(AssertionError):
    """Something awaited did not happen in time; the message says what."""


def wait_until(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    """Poll ``check`` until it returns a true value; that value, or MarketTimeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise MarketTimeout(f"{what}: not within {timeout:g} s")
        time.sleep(interval)


@dataclass(frozen=True, slots=True)
class Arrival:
    """One message a node accepted, and when (``time.monotonic()``)."""

    at: float
    action: str
    transaction_id: str
    sender: str
    late: bool


class Arrivals:
    """The messages a node accepted, in order; thread-safe, waitable."""

    def __init__(self) -> None:
        self._seen: list[Arrival] = []
        self._changed = threading.Condition()

    def observe(self, env: Envelope, params: signing.SignatureParams, late: bool) -> None:
        """The inbox's observer hook."""
        arrival = Arrival(
            time.monotonic(), env.action.value, str(env.context.transaction_id),
            params.subscriber_id, late,
        )  # fmt: skip
        with self._changed:
            self._seen.append(arrival)
            self._changed.notify_all()

    def of(self, transaction_id: str, action: str = "on_search") -> list[Arrival]:
        """The arrivals of ``action`` in a transaction, oldest first."""
        with self._changed:
            return [
                a for a in self._seen if a.transaction_id == transaction_id and a.action == action
            ]

    def wait(
        self, transaction_id: str, count: int, timeout: float, action: str = "on_search"
    ) -> list[Arrival]:
        """Until ``count`` arrivals of ``action`` in the transaction; returns them."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [
                    a
                    for a in self._seen
                    if a.transaction_id == transaction_id and a.action == action
                ]
                left = deadline - time.monotonic()
                if len(found) >= count:
                    return found
                if left <= 0:
                    raise MarketTimeout(
                        f"{count} x {action} in {transaction_id}: {len(found)} within {timeout:g} s"
                    )
                self._changed.wait(left)


class ServerGroup:
    """Several uvicorn servers on one event loop in one background thread."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._servers: dict[int, tuple[uvicorn.Server, concurrent.futures.Future[None]]] = {}

    def serve(self, app: Any, port: int | None = None, timeout: float = 30.0) -> str:
        """Start serving ``app`` (on ``port``, else a free one); its URL once it accepts."""
        port = port or free_port()
        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"
        )
        server = uvicorn.Server(config)
        future = asyncio.run_coroutine_threadsafe(server.serve(), self._loop)
        self._servers[port] = (server, future)
        deadline = time.monotonic() + timeout
        while not server.started:
            if future.done() or time.monotonic() > deadline:
                raise RuntimeError(f"server on port {port} did not start")
            time.sleep(0.01)
        return f"http://127.0.0.1:{port}"

    def stop(self, port: int, timeout: float = 10.0) -> None:
        """Stop the server on ``port`` and wait until it is gone (the others keep serving)."""
        server, future = self._servers.pop(port)
        server.should_exit = True
        with contextlib.suppress(concurrent.futures.TimeoutError):
            future.result(timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Stop every server, then the loop."""
        for server, _ in self._servers.values():
            server.should_exit = True
        concurrent.futures.wait([f for _, f in self._servers.values()], timeout=timeout)
        self._servers.clear()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)
        if not self._thread.is_alive():
            self._loop.close()


@dataclass
class MarketNode:
    """A node of the market: its parts in this process, and its owner API."""

    name: str
    node: Node
    url: str
    port: int
    arrivals: Arrivals
    stopper: Callable[[], None] = field(repr=False, default=lambda: None)
    # One pooled client: a new httpx client per call costs ~17 ms of CPU (its SSL context),
    # which would be timed along with the node.
    _client: httpx.Client | None = field(default=None, repr=False)

    @property
    def subscriber_id(self) -> str:
        """The node's subscriber id."""
        return self.node.config.subscriber_id

    def call(self, method: str, path: str, body: Any = None, timeout: float = 15.0) -> Any:
        """One owner API call; the JSON answer (AssertionError on an error status)."""
        if self._client is None:
            self._client = httpx.Client(
                headers={"Authorization": f"Bearer {self.node.owner_token}"}
            )
        response = self._client.request(method, f"{self.url}{path}", json=body, timeout=timeout)
        if response.status_code >= 400:
            raise AssertionError(
                f"{self.name} {method} {path}: {response.status_code} {response.text}"
            )
        return response.json()

    def search(self, text: str | None = None, **fields: Any) -> dict[str, Any]:
        """POST /owner/search; the answer (transaction_id, message_id, peers)."""
        answer: dict[str, Any] = self.call("POST", "/owner/search", {"text": text, **fields})
        return answer

    def offers(
        self, transaction_id: str, weights: str | None = None, want: Iterable[str] = ()
    ) -> Any:
        """The transaction's ranked offers from the owner API."""
        params: list[tuple[str, str]] = [("want", w) for w in want]
        if weights is not None:
            params.append(("weights", weights))
        query = urllib.parse.urlencode(params)
        path = f"/owner/transactions/{transaction_id}/offers"
        return self.call("GET", f"{path}?{query}" if params else path)

    def stop(self) -> None:
        """Stop serving (its port then refuses connections)."""
        self.close_client()
        self.stopper()

    def close_client(self) -> None:
        """Close the owner API client."""
        if self._client is not None:
            self._client.close()
            self._client = None


@dataclass
class ParticipantServer:
    """A test double serving under a subscribed identity of its own."""

    participant: Participant
    url: str
    stopper: Callable[[], None] = field(repr=False, default=lambda: None)

    @property
    def subscriber_id(self) -> str:
        """Its subscriber id."""
        return self.participant.subscriber_id

    def sign(self, body: bytes, now: float | None = None) -> str:
        """A signature header over ``body`` by this participant's key."""
        created = int(time.time() if now is None else now)
        return signing.sign(
            body,
            self.participant.signing,
            subscriber_id=self.subscriber_id,
            unique_key_id=self.participant.unique_key_id,
            created=created,
            expires=created + 300,
        )

    def stop(self) -> None:
        """Stop serving: the URL refuses connections from now on."""
        self.stopper()


@dataclass
class GatewayServer:
    """A running gateway."""

    url: str
    gateway: Gateway
    stopper: Callable[[], None] = field(repr=False, default=lambda: None)

    @property
    def subscriber_id(self) -> str:
        """The gateway's subscriber id."""
        return self.gateway.identity.subscriber_id

    def stop(self) -> None:
        """Stop the gateway."""
        self.stopper()


def create_node_home(
    root: Path,
    name: str,
    role: NodeRole,
    registry_url: str,
    *,
    port: int | None = None,
    city: str = CITY,
    gateways: Sequence[str] = (),
    weights: str = "",
    gps: str = "",
    catalog_refresh: float = 0.0,
) -> NodeHome:
    """A new node home under ``root/name`` (keys, owner token, SQLite), not started.

    Background catalog pulls are off unless ``catalog_refresh`` (seconds) says otherwise, so
    a test sees only the searches it makes.
    """
    port = port or free_port()
    home = NodeHome(root / name)
    home.create(
        NodeConfig(
            subscriber_id=f"{name}.example",
            role=role,
            domain=DOMAIN,
            city=city,
            country=COUNTRY,
            url=f"http://127.0.0.1:{port}",
            registries=(registry_url,),
            db_url=f"sqlite:///{root / name / 'node.sqlite'}",
            unique_key_id="",
            display_name=name,
            gateways=tuple(gateways),
            weights=weights,
            gps=gps,
            retry_base_delay=FAST_DELIVERY["retry_base_delay"],
            retry_max_delay=FAST_DELIVERY["retry_max_delay"],
            breaker_threshold=int(FAST_DELIVERY["breaker_threshold"]),
            breaker_cooldown=FAST_DELIVERY["breaker_cooldown"],
            delivery_lease=FAST_DELIVERY["delivery_lease"],
        ),
        key_id_for,
    )
    _set_toml(home.config_path, {"catalog_refresh": catalog_refresh})
    return home


def _set_toml(path: Path, values: dict[str, float]) -> None:
    """Set top-level numbers in a node.toml (a setting this version does not know is ignored)."""
    kept = [
        line
        for line in path.read_text().splitlines()
        if line.partition("=")[0].strip() not in values
    ]
    path.write_text("\n".join([*kept, *(f"{k} = {v!r}" for k, v in values.items())]) + "\n")


def node_app(home: NodeHome) -> tuple[Node, Any, Arrivals]:
    """The node of ``home``, its ASGI app, and the record of what its inbox accepts."""
    node = build_node(home.path)
    arrivals = Arrivals()
    return node, create_node_app(node, observer=arrivals.observe), arrivals


def port_of(url: str) -> int:
    """The port of a ``http://127.0.0.1:PORT`` URL."""
    return int(url.rsplit(":", 1)[1].split("/", 1)[0])


class Market:
    """A registry, gateways, nodes and test doubles under ``root``; ``close()`` stops them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.registry_url = ""
        self.nodes: dict[str, MarketNode] = {}
        self._threads: list[ServerThread] = []
        self._groups: list[ServerGroup] = []
        self._registry_stop: Callable[[], None] = lambda: None

    def __enter__(self) -> Market:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _thread(self, app: Any, port: int | None = None) -> ServerThread:
        server = ServerThread(app, port).start()
        self._threads.append(server)
        return server

    def start_registry(self) -> str:
        """Start the market's registry (SQLite); its URL."""
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        self._registry_stop = self._thread(create_registry(self._registry_settings(url)), port).stop
        self.registry_url = url
        return url

    def stop_registry(self) -> None:
        """Stop the registry: every lookup and subscription fails from now on."""
        self._registry_stop()

    def _registry_settings(self, url: str) -> RegistrySettings:
        return RegistrySettings(
            db_url=f"sqlite:///{self.root / 'registry.sqlite'}",
            home=self.root / "registry",
            public_url=url,
            subscriber_id="registry.market.local",
            challenge_interval=0.1,
            challenge_timeout=2.0,
        )

    def start_gateway(
        self,
        name: str = "gateway",
        *,
        seller_timeout: float = 1.0,
        concurrency: int = 32,
        port: int | None = None,
        wait: bool = True,
    ) -> GatewayServer:
        """Start a gateway (its home is ROOT/NAME: the same name restarts the same gateway);
        with ``wait``, until the registry lists it as a BG."""
        port = port or free_port()
        url = f"http://127.0.0.1:{port}"
        app = create_gateway(
            GatewaySettings(
                registries=(self.registry_url,),
                home=self.root / name,
                public_url=url,
                subscriber_id=f"{name}.example",
                seller_timeout=seller_timeout,
                concurrency=concurrency,
            )
        )
        server = self._thread(app, port)
        gateway = GatewayServer(url, app.state.gateway, server.stop)
        if wait:
            self.wait_subscribed(gateway.subscriber_id)
        return gateway

    def add_node(
        self,
        name: str,
        role: NodeRole = NodeRole.BPP,
        *,
        catalog: list[dict[str, Any]] | None = None,
        city: str = CITY,
        gateways: Sequence[str] = (),
        weights: str = "",
        gps: str = "",
        group: ServerGroup | None = None,
    ) -> MarketNode:
        """Create and start a node (in its own thread, or on ``group``'s loop); not awaited
        at the registry: call :meth:`wait_subscribed`. ``catalog`` is posted once it serves."""
        port = free_port()
        home = create_node_home(
            self.root, name, role, self.registry_url, port=port, city=city,
            gateways=gateways, weights=weights, gps=gps,
        )  # fmt: skip
        node, app, arrivals = node_app(home)
        stopper: Callable[[], None]
        if group is None:
            server = self._thread(app, port)
            url, stopper = server.url, server.stop
        else:
            url = group.serve(app, port)
            stopper = functools.partial(group.stop, port)
        member = MarketNode(name, node, url, port, arrivals, stopper)
        self.nodes[name] = member
        if catalog is not None:
            member.call("POST", "/owner/catalog", catalog)
        return member

    def group(self) -> ServerGroup:
        """A new ServerGroup, closed with the market."""
        group = ServerGroup()
        self._groups.append(group)
        return group

    def add_participant(
        self,
        name: str,
        type_: SubscriberType,
        routes: Sequence[BaseRoute] = (),
        *,
        city: str = CITY,
    ) -> ParticipantServer:
        """Serve ``routes`` (and /on_subscribe, /health) as ``NAME.example``, subscribed."""
        port = free_port()
        participant = Participant(
            subscriber_id=f"{name}.example",
            url=f"http://127.0.0.1:{port}",
            type=type_,
            domains=(DOMAIN,),
            city=city,
            country=COUNTRY,
        )
        app = Starlette(
            routes=[
                *routes,
                on_subscribe_endpoint(participant.encryption, participant.subscriber_id),
                Route("/health", _healthy),
            ]
        )
        server = self._thread(app, port)
        response = httpx.post(
            f"{self.registry_url}/subscribe", content=encode_json(participant.signed()), timeout=10
        )
        if response.status_code != 200 or response.json().get("status") != "SUBSCRIBED":
            raise AssertionError(f"{name} not subscribed: {response.status_code} {response.text}")
        return ParticipantServer(participant, server.url, server.stop)

    def subscribed(self, subscriber_id: str, client: httpx.Client | None = None) -> bool:
        """True when the registry lists ``subscriber_id`` as SUBSCRIBED."""
        try:
            response = (client or httpx).post(
                f"{self.registry_url}/lookup", json={"subscriber_id": subscriber_id}, timeout=5
            )
        except httpx.HTTPError:
            return False
        return response.status_code == 200 and any(
            item.get("status") == "SUBSCRIBED" for item in response.json()
        )

    def wait_subscribed(self, *subscriber_ids: str, timeout: float = 30.0) -> None:
        """Until the registry lists every one of them as SUBSCRIBED."""
        with httpx.Client() as client:
            for subscriber_id in subscriber_ids:
                wait_until(
                    functools.partial(self.subscribed, subscriber_id, client),
                    timeout,
                    f"{subscriber_id} subscribed",
                    interval=0.1,
                )

    def close(self) -> None:
        """Stop every server this market started."""
        for member in self.nodes.values():
            member.close_client()
        with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
            # each server takes a few tenths of a second to notice; stop them side by side
            list(pool.map(lambda group: group.close(), self._groups))
            list(pool.map(lambda server: server.stop(), self._threads))
        self._groups.clear()
        self._threads.clear()


async def _healthy(_request: Request) -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")
