"""A host that cheats one member is caught by that member's own node."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from supplymesh.entrypoints.demo import Participant, Story, _network, _wait
from supplymesh.entrypoints.demo_pool import start_consumers
from supplymesh.services import pools


@pytest.fixture
def network(tmp_path: Path) -> Iterator[tuple[Story, str, Participant]]:
    story = Story(directory=tmp_path, console=Console(file=io.StringIO()))
    with _network(story) as (registry_url, maker, _shop):
        yield story, registry_url, maker


def run_pool(story: Story, registry_url: str, maker: Participant) -> list[dict[str, Any]]:
    consumers = start_consumers(story, registry_url, 3)
    pool = maker.call(
        "POST",
        "/owner/pools",
        {
            "item_id": "sneaker-custom",
            "tiers": [{"min_quantity": 3, "unit_price": "2600.00"}],
            "deadline": (datetime.now(UTC) + timedelta(minutes=5)).isoformat(),
            "close_when_top_tier": True,
        },
    )
    for consumer in consumers:
        tx = consumer.call("POST", "/owner/search", {"text": "sneaker"})["transaction_id"]
        _wait(
            "the offer",
            lambda c=consumer, t=tx: any(  # type: ignore[misc]
                m["action"] == "on_search"
                for m in c.call("GET", f"/owner/transactions/{t}")["incoming"]
            ),
        )
        consumer.call(
            "POST",
            "/owner/memberships/join",
            {"bpp_id": maker.name, "pool_id": pool["pool_id"], "quantity": 1},
        )
    return [
        _wait(
            "an outcome",
            lambda c=consumer: next(  # type: ignore[misc]
                (
                    m
                    for m in c.call("GET", "/owner/memberships")
                    if m["state"] not in ("joining", "pending")
                ),
                None,
            ),
            timeout=60,
        )
        for consumer in consumers
    ]


def cheat_first(monkeypatch: pytest.MonkeyPatch, how: Callable[..., dict[str, Any]]) -> None:
    honest = pools._tell_member
    cheated: list[str] = []

    def tell(node: Any, connection: Any, pool: Any, member: Any, **kwargs: Any) -> None:
        if not cheated:
            cheated.append(member.order_ref)
            pool, kwargs = how(pool, member, kwargs)
        honest(node, connection, pool, member, **kwargs)

    monkeypatch.setattr(pools, "_tell_member", tell)


def test_a_member_charged_more_than_the_signed_tier_price_raises_an_alarm(
    network: tuple[Story, str, Participant], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The host bills one member 2900 instead of 2600: that member's node says so."""

    def overcharge(pool: Any, member: Any, kwargs: dict[str, Any]) -> Any:
        outcome = replace(pool.outcome, unit_price=Decimal("2900.00"))
        return replace(pool, outcome=outcome), kwargs

    cheat_first(monkeypatch, overcharge)
    outcomes = run_pool(*network)
    alarmed = [m for m in outcomes if m["alarms"]]
    assert len(alarmed) == 1
    assert any("2900" in alarm for alarm in alarmed[0]["alarms"])
    assert all(m["alarms"] == [] for m in outcomes if m is not alarmed[0])


def test_a_member_left_out_of_the_merkle_root_raises_an_alarm(
    network: tuple[Story, str, Participant], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The host hands one member a proof that does not lead to the signed root."""

    def leave_out(pool: Any, member: Any, kwargs: dict[str, Any]) -> Any:
        others = [m for m in pool.members if m.order_ref != member.order_ref]
        forged = pools.merkle.proofs(sorted(m.commitment for m in others))[0]
        return pool, {**kwargs, "proof": forged}

    cheat_first(monkeypatch, leave_out)
    outcomes = run_pool(*network)
    alarmed = [m for m in outcomes if m["alarms"]]
    assert len(alarmed) == 1
    assert any("left us out" in alarm for alarm in alarmed[0]["alarms"])
