"""A callback after its request's ttl is kept and shown as late, never dropped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from supplymesh.adapters.node_home import NodeRole
from supplymesh.adapters.node_store import NodeStore
from supplymesh.adapters.sql import make_engine, migrate
from supplymesh.protocol.context import callback_context, new_context
from supplymesh.protocol.envelope import encode, envelope
from supplymesh.protocol.keys import SigningKeyPair
from supplymesh.protocol.messages import OnSearchMessage, SearchMessage
from supplymesh.protocol.schema import Catalog, Intent
from supplymesh.services.buyer import BUYER_HANDLERS
from supplymesh.services.node import NodeIdentity, NodeService, Outgoing
from supplymesh.services.views import transaction_view

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def buyer_node(tmp_path: Path, now: datetime) -> NodeService:
    engine = make_engine(f"sqlite:///{tmp_path / 'buyer.sqlite'}")
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
    return NodeService(NodeStore(engine), identity, BUYER_HANDLERS, clock=now.timestamp)


def test_an_answer_after_the_ttl_is_recorded_and_marked_late(tmp_path: Path) -> None:
    """The seller answers 45 s after a PT30S search: stored, flagged late, offered."""
    node = buyer_node(tmp_path, T0)
    ctx = new_context(
        "search", now=T0, domain="supplymesh:MFG10", bap_id="shop.example",
        bap_uri="http://127.0.0.1:9", bpp_id="maker.example", bpp_uri="http://127.0.0.1:8",
        ttl="PT30S",
    )  # fmt: skip
    search = envelope(ctx, SearchMessage(intent=Intent()))
    with node.store.engine.begin() as connection:
        node.enqueue(
            connection, Outgoing("maker.example", "http://127.0.0.1:8", search), T0.timestamp()
        )
    later = T0 + timedelta(seconds=45)
    answer = envelope(
        callback_context(ctx, now=later, bpp_id="maker.example", bpp_uri="http://127.0.0.1:8"),
        OnSearchMessage(catalog=Catalog()),
    )
    raw = encode(answer)
    assert node.is_late(answer, later.timestamp())
    assert not node.is_late(answer, (T0 + timedelta(seconds=10)).timestamp())
    node.receive(answer, raw, sender="maker.example", late=True)
    view = transaction_view(node.store, str(ctx.transaction_id))
    assert view is not None
    assert [(m["action"], m["late"]) for m in view["incoming"]] == [("on_search", True)]
