"""``supplymesh demo --scenario pool``: thirty consumers pool their demand at a maker.

Each consumer is a real node with its own keys and database. They find the maker's pool in a
search (its tier table signed by the maker), join with a commitment only they can open, and
the pool closes when the top tier is reached. Every member is confirmed at the same unit
price, and every member's node checks the signed outcome and its own Merkle inclusion proof.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from rich.table import Table

from supplymesh.adapters.node_home import NodeRole
from supplymesh.entrypoints.demo import DemoFailed, Participant, Story, _start_node, _wait

ITEM = "sneaker-custom-teal"
PRICES = ("3200.00", "2900.00", "2600.00")


def tiers_for(count: int) -> list[tuple[int, str]]:
    """Three tiers, the top one reached when every consumer joins."""
    steps = sorted({max(1, count // 3), max(1, (2 * count) // 3), count})
    return list(zip(steps, PRICES[-len(steps) :], strict=True))


def _search_and_find_pool(consumer: Participant, pool_id: str) -> None:
    tx = consumer.call("POST", "/owner/search", {"text": "sneaker"})["transaction_id"]

    def offered() -> bool:
        view = consumer.call("GET", f"/owner/transactions/{tx}")
        return any(
            pool_id in str(m["message"]) for m in view["incoming"] if m["action"] == "on_search"
        )

    _wait(f"{consumer.name} to see pool {pool_id}", offered)


def run_pool_story(
    story: Story, registry_url: str, maker: Participant, consumers: list[Participant]
) -> dict[str, Any]:
    """Open a pool, let every consumer join, and check every member's outcome."""
    console = story.console
    console.rule(f"1. The maker opens a pool for {ITEM}: a public, signed tier table")
    deadline = datetime.now(UTC) + timedelta(minutes=5)
    tier_table = tiers_for(len(consumers))
    pool = maker.call(
        "POST",
        "/owner/pools",
        {
            "item_id": ITEM,
            "spec": {"colour": "teal", "material": "leather"},
            "tiers": [{"min_quantity": q, "unit_price": p} for q, p in tier_table],
            "deadline": deadline.isoformat(),
            "max_per_member": 2,
            "close_when_top_tier": True,
        },
    )
    tiers = Table("from units", "unit price", title=f"pool {pool['pool_id']}")
    for q, p in tier_table:
        tiers.add_row(str(q), p)
    console.print(tiers)

    console.rule(f"2. {len(consumers)} consumer nodes find it and join (conditional orders)")
    for consumer in consumers:
        _search_and_find_pool(consumer, pool["pool_id"])
        consumer.call(
            "POST",
            "/owner/memberships/join",
            {"bpp_id": maker.name, "pool_id": pool["pool_id"], "quantity": 1},
        )
    console.rule("3. The top tier is reached: the pool closes; everyone pays the same price")
    closed = _wait(
        "the pool to close",
        lambda: next((p for p in maker.call("GET", "/owner/pools") if p["state"] != "open"), None),
        timeout=60,
    )
    checks = Table("member", "state", "own check", title="each member's node checked")
    results = []
    for consumer in consumers:
        membership = _wait(
            f"{consumer.name}'s outcome",
            _settled(consumer),
            timeout=60,
        )
        ok = not membership["alarms"]
        results.append(ok)
        checks.add_row(
            consumer.name,
            membership["state"],
            "✓ in the Merkle root, price = signed tier price"
            if ok
            else "; ".join(membership["alarms"]),
        )
    console.print(checks)
    outcome = closed["outcome"]
    if not all(results):
        raise DemoFailed("a member's check raised an alarm")
    return {
        "pool": closed["pool_id"],
        "state": outcome["state"],
        "members": outcome["member_count"],
        "unit_price": outcome["unit_price"],
        "merkle_root": outcome["merkle_root"],
    }


def _settled(consumer: Participant) -> Any:
    def check() -> Any:
        memberships = consumer.call("GET", "/owner/memberships")
        return next((m for m in memberships if m["state"] not in ("joining", "pending")), None)

    return check


def start_consumers(story: Story, registry_url: str, count: int) -> list[Participant]:
    """``count`` consumer nodes (buyers), each with its own home, keys and database."""
    consumers = []
    for index in range(count):
        consumers.append(
            _start_node(
                story, f"consumer{index:02d}", NodeRole.BAP, registry_url, f"Consumer {index}"
            )
        )
    return consumers
