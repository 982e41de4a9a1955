"""Crash safety between node processes: kill -9 loses nothing and doubles nothing.

The seller is killed at random moments while the buyer confirms orders (``supplymesh.testing.
crash``; ``scripts/crash_test --kills N`` runs the same scenario as often as asked), and a buyer
that is down for a while gets every message after it returns, in order.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from supplymesh.testing.crash import run_crash_scenario
from supplymesh.testing.network import SAMPLE_CATALOG, network, wait_until

KILLS = {"sqlite": 50, "postgresql": 20}


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_killing_the_seller_at_random_moments_loses_and_doubles_no_order(
    kind: str, tmp_path: Path, usable_kind: Callable[[str, Path], str]
) -> None:
    """kill -9 the seller while 60 confirms are in flight: each order once on both sides."""
    usable_kind(kind, tmp_path)
    report = run_crash_scenario(tmp_path, kills=KILLS[kind], orders=60, kind=kind)
    print(report.summary())  # shown with -s, and in the failure report
    assert report.problems == [], report.summary()
    assert report.kills == KILLS[kind]
    assert report.kills_with_work_pending > 0
    assert report.outbox["maker"].get("acked", 0) >= 3 * 60  # on_select, on_init, on_confirm


def test_a_buyer_that_was_down_receives_every_status_in_order_when_it_returns(
    db_kind: str, tmp_path: Path
) -> None:
    """The seller accepts, starts and completes while the buyer is dead; all arrive, in order."""
    with network(tmp_path, db_kind) as net:
        net.start_registry()
        maker = net.add_node("maker", "bpp")
        shop = net.add_node("shop", "bap")
        maker.start()
        shop.start()
        net.wait_subscribed(maker, shop)
        maker.post("/owner/catalog", SAMPLE_CATALOG)
        tx, order = shop.buy("maker.example", {"boot-40": 2})

        shop.kill()
        for verb in ("accept", "start", "complete"):
            maker.post(f"/owner/orders/{order['id']}/{verb}")

        def tried_in_vain() -> bool:
            rows = [r for r in maker.outbox_rows("on_status") if r["transaction_id"] == tx]
            return len(rows) == 3 and rows[0]["state"] == "queued" and rows[0]["attempts"] >= 3

        wait_until(tried_in_vain, 15, "the seller trying the dead buyer three times")
        blocked = [r for r in maker.outbox_rows("on_status") if r["transaction_id"] == tx]
        assert [r["attempts"] for r in blocked[1:]] == [0, 0]  # in order: behind the first
        assert [r for r in shop.inbox_rows("on_status") if r["transaction_id"] == tx] == []

        shop.start()
        shop.wait_order_state(tx, "Completed", timeout=30)
        statuses = shop.wait_incoming(tx, "on_status", count=3)
        assert [m["message"]["order"]["status"] for m in statuses] == [
            "Accepted",
            "In-progress",
            "Completed",
        ]
        history = shop.order(tx)["history"]  # type: ignore[index]
        assert [change["state"] for change in history] == ["Accepted", "In-progress", "Completed"]
        sent = [r for r in maker.outbox_rows("on_status") if r["transaction_id"] == tx]
        assert [r["state"] for r in sent] == ["acked", "acked", "acked"]
