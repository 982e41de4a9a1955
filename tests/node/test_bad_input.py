"""A seller node against hand-signed bad input: every refusal is a NACK that changes nothing.

The seller runs in this process on a real uvicorn server (``build_node`` + ``create_app``), with
a registry server beside it. The buyer is a test participant subscribed at that registry (it
answers the on_subscribe challenge, and ACKs the seller's callbacks); its requests are written
by hand as JSON and signed with ``protocol.signing.sign``, so they can be spoiled on purpose.
Around every refused request the seller's tables are dumped and compared.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from sqlalchemy import Engine, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from supplymesh.adapters.node_home import NodeConfig, NodeHome, NodeRole
from supplymesh.adapters.node_store import catalog_items, inbox, orders, outbox, transactions
from supplymesh.entrypoints.node_app import Node, build_node
from supplymesh.entrypoints.node_server import create_app
from supplymesh.entrypoints.registry_server import RegistrySettings
from supplymesh.entrypoints.registry_server import create_app as registry_app
from supplymesh.protocol import signing
from supplymesh.protocol.codec import MAX_BODY_BYTES
from supplymesh.protocol.context import format_timestamp
from supplymesh.protocol.keys import SigningKeyPair
from supplymesh.protocol.registry import SubscriberType
from supplymesh.services.subscription import answer_challenge, key_id_for
from supplymesh.testing.databases import database
from supplymesh.testing.network import FAST_DELIVERY, SAMPLE_CATALOG, wait_until
from supplymesh.testing.participants import Participant
from supplymesh.testing.servers import ServerThread, free_port

DOMAIN = "supplymesh:MFG10"
SELLER = "maker.example"
TABLES = (inbox, orders, catalog_items, outbox, transactions)

Snapshot = dict[str, list[tuple[Any, ...]]]


@dataclass
class Buyer:
    """A test buyer: its participant record, and the callbacks its server received."""

    participant: Participant
    received: list[dict[str, Any]] = field(default_factory=list)

    def app(self) -> Starlette:
        """Answers the registry's challenge, and ACKs (and keeps) every callback."""

        async def on_subscribe(request: Request) -> Response:
            answer = answer_challenge(self.participant.encryption, await request.body())
            return Response(answer, media_type="application/json")

        async def callback(request: Request) -> Response:
            self.received.append(json.loads(await request.body()))
            return Response(b'{"message":{"ack":{"status":"ACK"}}}', media_type="application/json")

        return Starlette(
            routes=[
                Route("/on_subscribe", on_subscribe, methods=["POST"]),
                Route("/{action}", callback, methods=["POST"]),
            ]
        )

    def callbacks(self, action: str, message_id: str | None = None) -> list[dict[str, Any]]:
        """The callbacks of ``action`` received (answering ``message_id``, if given)."""
        return [
            body
            for body in self.received
            if body["context"]["action"] == action
            and (message_id is None or body["context"]["message_id"] == message_id)
        ]


@dataclass
class Seller:
    """The running seller node and how to reach it."""

    node: Node
    url: str
    buyer: Buyer

    @property
    def engine(self) -> Engine:
        """The seller's database."""
        return self.node.service.store.engine

    def owner(self, method: str, path: str, body: Any = None) -> Any:
        """Call the seller's owner API."""
        response = httpx.request(
            method,
            f"{self.url}{path}",
            json=body,
            headers={"Authorization": f"Bearer {self.node.owner_token}"},
            timeout=10,
        )
        assert response.status_code < 400, response.text
        return response.json()

    def snapshot(self) -> Snapshot:
        """Every row of the seller's tables, once nothing is left to deliver."""
        wait_until(self._settled, 15, "the seller's outbox settled")
        with self.engine.connect() as connection:
            return {
                table.name: [
                    tuple(row)
                    for row in connection.execute(select(table).order_by(*table.primary_key))
                ]
                for table in TABLES
            }

    def _settled(self) -> bool:
        with self.engine.connect() as connection:
            states = connection.execute(select(outbox.c.state)).scalars().all()
        return not {"queued", "sending"} & set(states)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def seller(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    usable_kind: Callable[[str, Path], str],
) -> Iterator[Seller]:
    """A seller node (in this process) with a catalog, a registry, and a subscribed buyer."""
    root = tmp_path_factory.mktemp(f"bad-input-{request.param}")
    kind = usable_kind(str(request.param), root)
    with database(kind, root) as registry_db, database(kind, root) as node_db:
        registry_port = free_port()
        registry = ServerThread(
            registry_app(
                RegistrySettings(
                    db_url=registry_db,
                    home=root / "registry",
                    public_url=f"http://127.0.0.1:{registry_port}",
                    subscriber_id="registry.local",
                    challenge_interval=0.1,
                    challenge_timeout=2.0,
                )
            ),
            registry_port,
        ).start()
        buyer = Buyer(
            Participant(
                subscriber_id="shop.example",
                url=f"http://127.0.0.1:{free_port()}",
                type=SubscriberType.BAP,
            )
        )
        buyer_server = ServerThread(buyer.app(), int(buyer.participant.url.rsplit(":", 1)[1]))
        buyer_server.start()
        answer = httpx.post(
            f"{registry.url}/subscribe",
            content=msgspec.json.encode(buyer.participant.signed()),
            timeout=10,
        )
        assert answer.json()["status"] == "SUBSCRIBED", answer.text

        port = free_port()
        NodeHome(root / "maker").create(
            NodeConfig(
                subscriber_id=SELLER,
                role=NodeRole.BPP,
                domain=DOMAIN,
                city="std:080",
                country="IND",
                url=f"http://127.0.0.1:{port}",
                registries=(registry.url,),
                db_url=node_db,
                unique_key_id="",
                retry_base_delay=FAST_DELIVERY["retry_base_delay"],
                retry_max_delay=FAST_DELIVERY["retry_max_delay"],
                breaker_cooldown=FAST_DELIVERY["breaker_cooldown"],
            ),
            key_id_for,
        )
        node = build_node(root / "maker")
        server = ServerThread(create_app(node), port).start()
        try:
            wait_until(
                lambda: _status(registry.url, SELLER) == "SUBSCRIBED", 15, "the seller subscribed"
            )
            running = Seller(node, server.url, buyer)
            running.owner("POST", "/owner/catalog", SAMPLE_CATALOG)
            yield running
        finally:
            server.stop()
            buyer_server.stop()
            registry.stop()


def _status(registry_url: str, subscriber_id: str) -> str | None:
    items = httpx.post(
        f"{registry_url}/lookup", json={"subscriber_id": subscriber_id}, timeout=5
    ).json()
    return items[0]["status"] if items else None


# -- requests written and signed by hand ------------------------------------------------------


def body(
    seller: Seller,
    action: str,
    message: dict[str, Any],
    *,
    transaction_id: str | None = None,
    message_id: str | None = None,
    timestamp: datetime | None = None,
    bap_id: str | None = None,
) -> dict[str, Any]:
    """A request as a foreign buyer would write it."""
    buyer = seller.buyer.participant
    return {
        "context": {
            "domain": DOMAIN,
            "action": action,
            "version": "1.1.0",
            "location": {"city": {"code": "std:080"}, "country": {"code": "IND"}},
            "bap_id": bap_id or buyer.subscriber_id,
            "bap_uri": buyer.url,
            "bpp_id": SELLER,
            "bpp_uri": seller.url,
            "transaction_id": transaction_id or str(uuid.uuid4()),
            "message_id": message_id or str(uuid.uuid4()),
            "timestamp": format_timestamp(timestamp or datetime.now(UTC)),
            "ttl": "PT30S",
        },
        "message": message,
    }


def post(
    seller: Seller,
    payload: dict[str, Any] | bytes,
    *,
    signer: str = "shop.example",
    key: SigningKeyPair | None = None,
    key_id: str = "k1",
    created: int | None = None,
    tamper: Callable[[bytes], bytes] | None = None,
) -> httpx.Response:
    """Sign ``payload`` (as ``signer`` with ``key``) and POST it to the seller's inbox."""
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    action = json.loads(raw)["context"]["action"]
    start = created if created is not None else int(time.time())
    header = signing.sign(
        raw,
        key or seller.buyer.participant.signing,
        subscriber_id=signer,
        unique_key_id=key_id,
        created=start,
        expires=start + 300,
    )
    sent = tamper(raw) if tamper is not None else raw
    return httpx.post(
        f"{seller.url}/{action}",
        content=sent,
        headers={"Authorization": header, "Content-Type": "application/json"},
        timeout=10,
    )


def search(seller: Seller, **context: Any) -> dict[str, Any]:
    """A search for sneakers."""
    return body(
        seller, "search", {"intent": {"item": {"descriptor": {"name": "sneaker"}}}}, **context
    )


def order_message(item_id: str = "sneaker-42", count: int = 2) -> dict[str, Any]:
    """An order selecting ``count`` of ``item_id``, with billing and delivery."""
    return {
        "order": {
            "provider": {"id": SELLER},
            "items": [{"id": item_id, "quantity": {"selected": {"count": count}}}],
            "billing": {"name": "Asha", "address": "1 MG Road"},
            "fulfillments": [{"type": "Delivery"}],
        }
    }


def acked(response: httpx.Response) -> bool:
    """True for HTTP 200 with an ACK body."""
    return response.status_code == 200 and response.json()["message"]["ack"]["status"] == "ACK"


def nack(response: httpx.Response) -> dict[str, Any]:
    """The NACK's error object (asserting it is a NACK)."""
    answer = response.json()
    assert answer["message"]["ack"]["status"] == "NACK", answer
    error: dict[str, Any] = answer["error"]
    return error


def refused_unchanged(
    seller: Seller, send: Callable[[], httpx.Response], status: int, code: str
) -> dict[str, Any]:
    """Send; expect HTTP ``status`` with a NACK ``code``, and every table as it was."""
    before = seller.snapshot()
    response = send()
    assert response.status_code == status, response.text
    error = nack(response)
    assert error["code"] == code, error
    assert seller.snapshot() == before
    error["_response"] = response
    return error


def confirmed(seller: Seller, item_id: str = "sneaker-42", count: int = 2) -> tuple[str, str]:
    """Confirm an order as the buyer (ACKed, on_confirm received); (transaction, order id)."""
    tx = str(uuid.uuid4())
    request = body(seller, "confirm", order_message(item_id, count), transaction_id=tx)
    assert acked(post(seller, request))
    mid = request["context"]["message_id"]
    [answer] = wait_until(
        lambda: seller.buyer.callbacks("on_confirm", mid) or None, 10, "on_confirm"
    )
    return tx, str(answer["message"]["order"]["id"])


# -- the tests --------------------------------------------------------------------------------


def test_a_well_signed_search_is_acked_and_answered(seller: Seller) -> None:
    """The baseline: a correct request is ACKed and its on_search reaches the buyer."""
    request = search(seller)
    assert acked(post(seller, request))
    mid = request["context"]["message_id"]
    [answer] = wait_until(lambda: seller.buyer.callbacks("on_search", mid) or None, 10, "on_search")
    items = answer["message"]["catalog"]["providers"][0]["items"]
    assert [item["id"] for item in items] == ["sneaker-42"]


def test_a_tampered_body_is_refused_with_401_and_www_authenticate(seller: Seller) -> None:
    """A body changed after signing: 401, WWW-Authenticate, NACK 30016, nothing written."""

    def send() -> httpx.Response:
        return post(seller, search(seller), tamper=lambda raw: raw.replace(b"sneaker", b"sandal"))

    error = refused_unchanged(seller, send, 401, "30016")
    response = error["_response"]
    assert response.headers["WWW-Authenticate"].startswith("Signature realm=")
    assert "digest" in error["message"]


def test_a_signature_by_another_key_is_refused(seller: Seller) -> None:
    """Signed with a key that is not the registered one: 401, NACK 30016."""
    error = refused_unchanged(
        seller, lambda: post(seller, search(seller), key=SigningKeyPair.generate()), 401, "30016"
    )
    assert "bad-signature" in error["message"]


def test_an_expired_signature_is_refused(seller: Seller) -> None:
    """created/expires ten minutes ago: 401, NACK 30016 (expired)."""
    error = refused_unchanged(
        seller,
        lambda: post(seller, search(seller), created=int(time.time()) - 900),
        401,
        "30016",
    )
    assert "expired" in error["message"]


def test_a_replayed_message_is_acked_and_has_no_second_effect(seller: Seller) -> None:
    """The same signed bytes twice: both ACKed, one inbox row, one on_search."""
    request = search(seller)
    raw = json.dumps(request).encode()
    assert acked(post(seller, raw))
    mid = request["context"]["message_id"]
    wait_until(lambda: seller.buyer.callbacks("on_search", mid) or None, 10, "on_search")
    before = seller.snapshot()
    assert acked(post(seller, raw))
    assert seller.snapshot() == before
    time.sleep(0.3)
    assert len(seller.buyer.callbacks("on_search", mid)) == 1


def test_an_unknown_sender_is_refused_with_401(seller: Seller) -> None:
    """A sender no registry knows: 401, NACK 30016 (unknown key)."""
    ghost = SigningKeyPair.generate()
    error = refused_unchanged(
        seller,
        lambda: post(
            seller, search(seller, bap_id="ghost.example"), signer="ghost.example", key=ghost
        ),
        401,
        "30016",
    )
    assert "unknown-key" in error["message"]


def test_a_signer_who_is_not_the_context_sender_is_refused(seller: Seller) -> None:
    """Signed by the shop, but the context names another buyer: 401, signer-mismatch."""
    error = refused_unchanged(
        seller, lambda: post(seller, search(seller, bap_id="other.example")), 401, "90005"
    )
    assert "signer-mismatch" in error["message"]
    assert "WWW-Authenticate" in error["_response"].headers


def test_a_stale_context_timestamp_is_refused(seller: Seller) -> None:
    """A fresh signature on a request whose timestamp + ttl passed long ago: NACK 30022."""
    old = datetime.fromtimestamp(time.time() - 600, UTC)
    error = refused_unchanged(
        seller, lambda: post(seller, search(seller, timestamp=old)), 400, "30022"
    )
    assert error["paths"] == "$.context.ttl"


def test_a_request_already_taken_is_acked_again_even_when_stale(seller: Seller) -> None:
    """The first ACK may have been lost: a stale copy of a message we took is ACKed, once."""
    request = search(seller)
    assert acked(post(seller, request))
    mid = request["context"]["message_id"]
    wait_until(lambda: seller.buyer.callbacks("on_search", mid) or None, 10, "on_search")
    before = seller.snapshot()
    old = datetime.fromtimestamp(time.time() - 600, UTC)
    stale_copy = search(seller, timestamp=old, message_id=mid)
    stale_copy["context"]["transaction_id"] = request["context"]["transaction_id"]
    assert acked(post(seller, stale_copy))
    assert seller.snapshot() == before


def test_a_schema_fault_is_refused_with_its_path(seller: Seller) -> None:
    """items must be a list: 400 with the JSON path of the fault."""
    bad = body(seller, "select", {"order": {"provider": {"id": SELLER}, "items": "two sneakers"}})
    error = refused_unchanged(seller, lambda: post(seller, bad), 400, "90003")
    assert error["paths"] == "$.message.order.items"


def test_malformed_json_is_refused(seller: Seller) -> None:
    """A body that is not JSON at all (correctly signed): 400, NACK 90002."""

    def send() -> httpx.Response:
        raw = b'{"context": {"action": "search"'
        created = int(time.time())
        header = signing.sign(
            raw,
            seller.buyer.participant.signing,
            subscriber_id="shop.example",
            unique_key_id="k1",
            created=created,
            expires=created + 300,
        )
        return httpx.post(
            f"{seller.url}/search", content=raw, headers={"Authorization": header}, timeout=10
        )

    refused_unchanged(seller, send, 400, "90002")


def test_a_body_over_one_megabyte_is_refused_with_413(seller: Seller) -> None:
    """More than 1 MB: 413 before anything else is looked at."""
    huge = search(seller)
    huge["message"]["intent"]["item"]["descriptor"]["long_desc"] = "x" * MAX_BODY_BYTES
    refused_unchanged(seller, lambda: post(seller, huge), 413, "90001")


def test_confirming_a_transaction_twice_is_refused_the_second_time(seller: Seller) -> None:
    """A second confirm (a new message_id) of a confirmed transaction: NACK 20007."""
    tx, order_id = confirmed(seller, "boot-40", 3)
    again = body(seller, "confirm", order_message("boot-40", 3), transaction_id=tx)
    error = refused_unchanged(seller, lambda: post(seller, again), 400, "20007")
    assert order_id in error["message"]
    listing = seller.owner("GET", "/owner/orders?role=seller")
    assert [o["id"] for o in listing if o["transaction_id"] == tx] == [order_id]
    boot = next(i for i in seller.owner("GET", "/owner/catalog") if i["id"] == "boot-40")
    assert boot["reserved"] == 3


def test_cancelling_a_completed_order_is_refused(seller: Seller) -> None:
    """The order is Completed: cancel gets NACK 50001, and the order stays Completed."""
    tx, order_id = confirmed(seller, "sandal-38", 1)
    for verb in ("accept", "start", "complete"):
        seller.owner("POST", f"/owner/orders/{order_id}/{verb}")
    cancel = body(
        seller,
        "cancel",
        {"order_id": order_id, "cancellation_reason_id": "001"},
        transaction_id=tx,
    )
    error = refused_unchanged(seller, lambda: post(seller, cancel), 400, "50001")
    assert "Completed" in error["message"]


def test_selecting_an_unknown_item_is_refused(seller: Seller) -> None:
    """An item the catalog does not have: NACK 30004."""
    select_ = body(seller, "select", order_message("unicorn-1", 1))
    error = refused_unchanged(seller, lambda: post(seller, select_), 400, "30004")
    assert "unicorn-1" in error["message"]


def test_a_request_for_another_seller_is_refused(seller: Seller) -> None:
    """context.bpp_id names someone else: NACK 30000 at $.context.bpp_id."""
    request = search(seller)
    request["context"]["bpp_id"] = "elsewhere.example"
    error = refused_unchanged(seller, lambda: post(seller, request), 400, "30000")
    assert error["paths"] == "$.context.bpp_id"
