"""The dispatcher sleeps while nothing is due, and never sleeps through a wake-up."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from supplymesh.adapters.node_home import NodeRole
from supplymesh.adapters.node_store import Delivery, NodeStore, OutgoingMessage
from supplymesh.adapters.peer_client import PeerAnswer
from supplymesh.adapters.sql import make_engine, migrate
from supplymesh.protocol.ack import ack_body
from supplymesh.protocol.context import new_context
from supplymesh.protocol.envelope import envelope
from supplymesh.protocol.keys import SigningKeyPair
from supplymesh.protocol.messages import SearchMessage
from supplymesh.protocol.schema import Intent
from supplymesh.services.dispatcher import Dispatcher, DispatchPolicy
from supplymesh.services.node import NodeIdentity, NodeService, Outgoing

NOW = 1_800_000_000.0


class Recorder:
    """A peer that ACKs everything and notes what reached it."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    async def post(self, url: str, body: bytes, headers: dict[str, str], now: float) -> PeerAnswer:
        self.bodies.append(body)
        return PeerAnswer(200, ack_body())


def node(tmp_path: Path, clock: float | None = None) -> NodeService:
    engine = make_engine(f"sqlite:///{tmp_path / 'node.sqlite'}")
    migrate(engine, "node")
    identity = NodeIdentity(
        subscriber_id="shop.example",
        unique_key_id="k1",
        url="http://127.0.0.1:9",
        signing=SigningKeyPair.generate(),
        role=NodeRole.BAP,
        domain="supplymesh:MFG10",
        city="std:080",
        country="IND",
        delivery_charge=Decimal(0),
    )
    return NodeService(
        NodeStore(engine), identity, {}, clock=(lambda: clock) if clock else time.time
    )


def queue_search(service: NodeService, now: float) -> int:
    ctx = new_context(
        "search", now=datetime.fromtimestamp(now, UTC),
        domain="supplymesh:MFG10", bap_id="shop.example", bap_uri="http://127.0.0.1:9",
        bpp_id="maker.example", bpp_uri="http://127.0.0.1:8",
    )  # fmt: skip
    with service.store.engine.begin() as connection:
        return service.enqueue(
            connection,
            Outgoing(
                "maker.example", "http://127.0.0.1:8", envelope(ctx, SearchMessage(intent=Intent()))
            ),
            now,
        )


def test_an_idle_dispatcher_sleeps_until_the_next_retry_at_most_idle_max(tmp_path: Path) -> None:
    """Nothing pending: idle_max; a retry due in 1.5 s: 1.5 s; one already due but blocked: the
    short poll."""
    service = node(tmp_path, clock=NOW)
    dispatcher = Dispatcher(service, Recorder(), DispatchPolicy(idle_poll=0.5, idle_max=5.0))
    assert asyncio.run(dispatcher.idle_wait()) == 5.0
    message_id = queue_search(service, NOW)
    service.store.settle(message_id, Delivery.QUEUED, now=NOW, retry_at=NOW + 1.5)
    assert asyncio.run(dispatcher.idle_wait()) == 1.5
    service.store.settle(message_id, Delivery.QUEUED, now=NOW, retry_at=NOW - 1)
    assert asyncio.run(dispatcher.idle_wait()) == 0.5


def test_a_message_queued_while_a_claim_runs_is_sent_without_waiting_for_a_poll(
    tmp_path: Path,
) -> None:
    """The first claim finds nothing, and a message is queued (and the dispatcher woken) while
    it runs. With both idle waits at 60 s, only the wake-up can send it within the bound."""
    service = node(tmp_path)
    peer = Recorder()
    dispatcher = Dispatcher(service, peer, DispatchPolicy(idle_poll=60.0, idle_max=60.0))
    real_claim = service.store.claim
    claims = 0

    def claim_racing_an_enqueue(now: float, lease: float, limit: int = 32) -> list[OutgoingMessage]:
        nonlocal claims
        claims += 1
        found = real_claim(now, lease, limit)
        if claims == 1:  # the claim looked, then the inbox queued and woke us
            queue_search(service, time.time())
            dispatcher.wake()
        return found

    service.store.claim = claim_racing_an_enqueue  # type: ignore[method-assign]

    async def scenario() -> None:
        running = asyncio.create_task(dispatcher.run())
        try:
            for _ in range(100):  # 5 s at most
                if peer.bodies:
                    return
                await asyncio.sleep(0.05)
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)

    asyncio.run(scenario())
    assert len(peer.bodies) == 1
