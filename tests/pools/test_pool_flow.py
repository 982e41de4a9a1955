"""Demand pools across real nodes on 127.0.0.1: one price for all, checked by every member."""

from __future__ import annotations

import concurrent.futures
import io
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.console import Console

from supplymesh.entrypoints.demo import Participant, Story, _network, _wait
from supplymesh.entrypoints.demo_pool import run_pool_story, start_consumers


@pytest.fixture
def story(tmp_path: Path) -> Story:
    return Story(directory=tmp_path, console=Console(file=io.StringIO(), soft_wrap=True))


@pytest.fixture
def network(story: Story) -> Iterator[tuple[str, Participant]]:
    with _network(story) as (registry_url, maker, _shop):
        yield registry_url, maker


def open_pool(
    maker: Participant, tiers: list[tuple[int, str]], seconds: float, **extra: Any
) -> dict[str, Any]:
    body = {
        "item_id": "sneaker-custom",
        "tiers": [{"min_quantity": q, "unit_price": p} for q, p in tiers],
        "deadline": (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat(),
        **extra,
    }
    pool: dict[str, Any] = maker.call("POST", "/owner/pools", body)
    return pool


def find(consumer: Participant, pool_id: str) -> None:
    tx = consumer.call("POST", "/owner/search", {"text": "sneaker"})["transaction_id"]
    _wait(
        "the pool offer",
        lambda: any(
            pool_id in str(m["message"])
            for m in consumer.call("GET", f"/owner/transactions/{tx}")["incoming"]
        ),
    )


def join(
    consumer: Participant, maker: Participant, pool_id: str, quantity: int = 1
) -> dict[str, Any]:
    answer: dict[str, Any] = consumer.call(
        "POST",
        "/owner/memberships/join",
        {"bpp_id": maker.name, "pool_id": pool_id, "quantity": quantity},
    )
    return answer


def memberships(consumer: Participant) -> list[dict[str, Any]]:
    listing: list[dict[str, Any]] = consumer.call("GET", "/owner/memberships")
    return listing


def settled(consumer: Participant) -> dict[str, Any]:
    return _wait(  # type: ignore[no-any-return]
        f"{consumer.name}'s outcome",
        lambda: next(
            (m for m in memberships(consumer) if m["state"] not in ("joining", "pending")), None
        ),
        timeout=60,
    )


def test_fifty_members_fill_a_pool_and_all_pay_the_same_checked_price(
    story: Story, network: tuple[str, Participant]
) -> None:
    """50 nodes join; the pool fills; all are confirmed at one price, each check clean."""
    registry_url, maker = network
    consumers = start_consumers(story, registry_url, 50)
    result = run_pool_story(story, registry_url, maker, consumers)
    assert result["state"] == "filled"
    assert result["members"] == 50
    prices = set()
    for consumer in consumers:
        [order] = consumer.call("GET", "/owner/orders")
        prices.add(order["lines"][0]["unit_price"])
        assert settled(consumer)["alarms"] == []
    assert prices == {"2600.00"}


def test_members_who_leave_below_the_minimum_are_released_uncharged(
    story: Story, network: tuple[str, Participant]
) -> None:
    """Three join, one leaves; the minimum is three: at the deadline nobody is charged."""
    registry_url, maker = network
    consumers = start_consumers(story, registry_url, 3)
    pool = open_pool(maker, [(3, "3000.00")], seconds=8)
    for consumer in consumers:
        find(consumer, pool["pool_id"])
        join(consumer, maker, pool["pool_id"])
    _wait("three members", lambda: maker.call("GET", "/owner/pools")[0]["members"] == 3)
    leaving = consumers[0]
    ref = _wait(
        "a pending membership",
        lambda: next(
            (m["order_ref"] for m in memberships(leaving) if m["state"] == "pending"), None
        ),
    )
    leaving.call("POST", "/owner/memberships/leave", {"order_ref": ref})
    _wait("the leave", lambda: maker.call("GET", "/owner/pools")[0]["members"] == 2)
    for consumer in consumers[1:]:
        assert settled(consumer)["state"] == "failed"
        assert consumer.call("GET", "/owner/orders") == []
    assert maker.call("GET", "/owner/orders") == []
    assert maker.call("GET", "/owner/pools")[0]["outcome"]["unit_price"] is None


def test_concurrent_joins_at_the_tier_boundary_are_counted_once_each(
    story: Story, network: tuple[str, Participant]
) -> None:
    """Twelve joins at once around a 10-unit tier: one count and one tier on every node."""
    registry_url, maker = network
    consumers = start_consumers(story, registry_url, 12)
    pool = open_pool(maker, [(5, "3000.00"), (10, "2700.00")], seconds=15)
    for consumer in consumers:
        find(consumer, pool["pool_id"])
    with concurrent.futures.ThreadPoolExecutor(12) as workers:
        list(workers.map(lambda c: join(c, maker, pool["pool_id"]), consumers))
        list(workers.map(lambda c: join(c, maker, pool["pool_id"]), consumers[:4]))  # duplicates
    _wait("the joins", lambda: maker.call("GET", "/owner/pools")[0]["members"] >= 12, timeout=30)
    outcomes = [settled(c) for c in consumers]
    hosted = maker.call("GET", "/owner/pools")[0]
    assert hosted["members"] == 12
    assert hosted["outcome"]["unit_price"] == "2700.00"
    assert {m["state"] for m in outcomes} == {"filled"}
    assert all(
        len(memberships(c)) in (1, 2) for c in consumers
    )  # a duplicate join is a new order ref
    assert all(m["alarms"] == [] for m in outcomes)


def test_bad_joins_are_refused_and_change_nothing(
    story: Story, network: tuple[str, Participant]
) -> None:
    """Over the per-member limit, a forged pool id, after the deadline: NACKed, pool unchanged."""
    registry_url, maker = network
    [consumer] = start_consumers(story, registry_url, 1)
    pool = open_pool(maker, [(5, "3000.00")], seconds=4, max_per_member=2)
    find(consumer, pool["pool_id"])
    join(consumer, maker, pool["pool_id"], quantity=3)
    with pytest.raises(Exception, match="not offered"):
        join(consumer, maker, "P-forged")
    _wait(
        "the NACK for too many",
        lambda: any(
            m["action"] == "confirm" and m["state"] == "nacked"
            for m in consumer.call("GET", "/owner/outbox")
        ),
    )
    assert maker.call("GET", "/owner/pools")[0]["members"] == 0
    time.sleep(4.5)
    response = httpx.post(
        f"{consumer.url}/owner/memberships/join",
        json={"bpp_id": maker.name, "pool_id": pool["pool_id"], "quantity": 1},
        headers={"Authorization": f"Bearer {consumer.token}"},
    )
    assert response.status_code in (200, 409)
    _wait(
        "the pool to close empty",
        lambda: maker.call("GET", "/owner/pools")[0]["state"] == "failed",
    )
    assert maker.call("GET", "/owner/pools")[0]["members"] == 0
