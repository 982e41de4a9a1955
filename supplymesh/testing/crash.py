"""The crash scenario: kill -9 a seller node again and again while a buyer confirms orders.

A registry, a maker (seller) and a shop (buyer) run as processes (:mod:`.network`). The shop
gets a quote and sends init for every order first; then, while a driver thread confirms them
one by one through the shop's owner API, the maker is killed with SIGKILL at random moments
(mostly a random 0.1-0.5 s after it answers /health, sometimes during its start-up) and
started again. At the end the maker stays up, the outboxes drain, and the two databases are
compared: every order exists exactly once on both sides, every confirm and every on_confirm
was received exactly once, stock is reserved exactly once, and no message is left undelivered.

``tests/node/test_crash_safety.py`` runs it in the suite; ``scripts/crash_test --kills N`` runs
it as often as asked.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from supplymesh.testing.databases import PostgresUnavailable
from supplymesh.testing.network import (
    SAMPLE_CATALOG,
    NetworkError,
    NodeProcess,
    network,
    wait_until,
)

SELLER = "maker.example"
ITEM = "sneaker-42"


@dataclass
class CrashReport:
    """What one run did and every inconsistency it found (``problems`` empty: all good)."""

    kind: str
    orders: int
    seed: int
    kills: int = 0
    kills_in_startup: int = 0
    kills_with_work_pending: int = 0
    seconds: float = 0.0
    drain_seconds: float = 0.0
    outbox: dict[str, dict[str, int]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One paragraph for people."""
        verdict = "OK" if not self.problems else f"{len(self.problems)} PROBLEM(S)"
        lines = [
            f"{verdict}: {self.kind}, seed {self.seed}, {self.orders} orders, {self.kills} kills "
            f"({self.kills_in_startup} during start-up, {self.kills_with_work_pending} with "
            f"messages in flight), {self.seconds:.1f} s (drained in {self.drain_seconds:.1f} s)",
            *(f"  outbox of {name}: {states}" for name, states in self.outbox.items()),
            *(f"  - {problem}" for problem in self.problems[:50]),
        ]
        return "\n".join(lines)


def run_crash_scenario(
    root: Path,
    *,
    kills: int,
    orders: int | None = None,
    kind: str = "sqlite",
    seed: int | None = None,
    say: Callable[[str], None] = lambda _line: None,
) -> CrashReport:
    """Run the scenario under ``root``; the report lists every inconsistency found."""
    if seed is None:
        seed = random.SystemRandom().randrange(2**32)
    rng = random.Random(seed)  # noqa: S311 - picks kill moments, guards nothing
    count = orders if orders is not None else max(60, kills + 10)
    report = CrashReport(kind=kind, orders=count, seed=seed)
    started = time.monotonic()
    with network(root, kind) as net:
        net.start_registry()
        maker = net.add_node("maker", "bpp")
        shop = net.add_node("shop", "bap")
        maker.start()
        shop.start()
        net.wait_subscribed(maker, shop)
        maker.post("/owner/catalog", SAMPLE_CATALOG)
        say(f"network up (seed {seed}); preparing {count} quotes")
        transactions = _prepare(shop, count)

        say(f"confirming {count} orders while killing the maker {kills} times")
        driver = _Driver(shop, transactions, pace=kills * 0.9 / count, rng=rng)
        driver.start()
        try:
            for number in range(1, kills + 1):
                _kill_once(maker, shop, rng, report)
                if number % 10 == 0 or number == kills:
                    say(f"  {number} kills, {driver.sent} confirms queued")
        finally:
            maker.process.kill()
            maker.start()
            driver.join()
        if driver.error is not None:
            report.problems.append(f"the driver failed: {driver.error}")

        drain_start = time.monotonic()
        try:
            wait_until(
                lambda: _answered(shop, transactions),
                120,
                "an on_confirm (or a refusal) for every confirm at the shop",
                interval=0.2,
            )
            net.wait_drained(60)
        except NetworkError as exc:
            report.problems.append(str(exc))
        report.drain_seconds = time.monotonic() - drain_start
        _compare(maker, shop, transactions, report)
    report.seconds = time.monotonic() - started
    return report


def _prepare(shop: NodeProcess, count: int) -> list[str]:
    """select and init ``count`` orders of one unit each (all sent, then all awaited)."""
    transactions = [str(uuid.uuid4()) for _ in range(count)]
    for tx in transactions:
        item = {"id": ITEM, "quantity": 1}
        shop.post("/owner/select", {"transaction_id": tx, "bpp_id": SELLER, "items": [item]})
    for tx in transactions:
        shop.wait_incoming(tx, "on_select", timeout=30)
        shop.post("/owner/init", {"transaction_id": tx, "name": "Asha", "address": "1 MG Road"})
    for tx in transactions:
        shop.wait_incoming(tx, "on_init", timeout=30)
    return transactions


class _Driver(threading.Thread):
    """Confirms every transaction through the shop's owner API, at a random pace."""

    def __init__(
        self, shop: NodeProcess, transactions: list[str], pace: float, rng: random.Random
    ) -> None:
        super().__init__(name="confirm-driver", daemon=True)
        self.shop = shop
        self.transactions = transactions
        self.delays = [rng.uniform(0, 2 * pace) for _ in transactions]
        self.sent = 0
        self.error: Exception | None = None

    def run(self) -> None:
        try:
            for tx, delay in zip(self.transactions, self.delays, strict=True):
                self.shop.post("/owner/confirm", {"transaction_id": tx})
                self.sent += 1
                time.sleep(delay)
        except Exception as exc:  # reported, and the checks then show what is missing
            self.error = exc

    def join(self, timeout: float | None = 120.0) -> None:
        """Wait for the driver (bounded)."""
        super().join(timeout)
        if self.is_alive():
            self.error = self.error or TimeoutError("the driver did not finish in 120 s")


def _kill_once(
    maker: NodeProcess, shop: NodeProcess, rng: random.Random, report: CrashReport
) -> None:
    """Start the maker if needed, let it run a random while, then kill -9 it."""
    if not maker.process.running:
        maker.process.spawn()
    if rng.random() < 0.15:
        time.sleep(rng.uniform(0.0, 0.4))  # somewhere in start-up: migrations, subscribing
        report.kills_in_startup += 1
    else:
        maker.wait_healthy()
        time.sleep(rng.uniform(0.1, 0.5))
    if shop.pending() or maker.pending():
        report.kills_with_work_pending += 1
    maker.kill()
    report.kills += 1


def _answered(shop: NodeProcess, transactions: list[str]) -> bool:
    """True when every confirm got its on_confirm, or was settled as refused or failed."""
    confirmed = {row["transaction_id"] for row in shop.inbox_rows("on_confirm")}
    refused = {
        row["transaction_id"]
        for row in shop.outbox_rows("confirm")
        if row["state"] in {"nacked", "failed"}
    }
    return set(transactions) <= confirmed | refused


def _compare(
    maker: NodeProcess, shop: NodeProcess, transactions: list[str], report: CrashReport
) -> None:
    """Every check of the end state; each failure is one line in ``report.problems``."""
    problems = report.problems
    wanted = set(transactions)
    sold = maker.order_rows("seller")
    bought = shop.order_rows("buyer")
    for side, rows in (("maker", sold), ("shop", bought)):
        per_tx = Counter(row["transaction_id"] for row in rows)
        for tx in sorted(wanted):
            if per_tx[tx] != 1:
                problems.append(f"{side} has {per_tx[tx]} orders for transaction {tx}")
        for tx in sorted(set(per_tx) - wanted):
            problems.append(f"{side} has an order for an unknown transaction {tx}")
    sold_ids = {row["transaction_id"]: row["id"] for row in sold}
    for row in bought:
        if sold_ids.get(row["transaction_id"]) not in (None, row["id"]):
            problems.append(
                f"transaction {row['transaction_id']}: the shop has order {row['id']}, "
                f"the maker {sold_ids[row['transaction_id']]}"
            )
    for node, action in ((maker, "confirm"), (shop, "on_confirm")):
        per_tx = Counter(row["transaction_id"] for row in node.inbox_rows(action))
        for tx in sorted(wanted):
            if per_tx[tx] != 1:
                problems.append(f"{node.name} received {action} {per_tx[tx]} times in {tx}")
    for node, action in ((shop, "confirm"), (maker, "on_confirm")):
        per_tx = Counter(row["transaction_id"] for row in node.outbox_rows(action))
        for tx in sorted(wanted):
            if per_tx[tx] != 1:
                problems.append(f"{node.name} queued {action} {per_tx[tx]} times in {tx}")
    sent = {row["message_id"] for row in maker.outbox_rows("on_confirm")}
    received = {row["message_id"] for row in shop.inbox_rows("on_confirm")}
    if sent != received:
        problems.append(
            f"on_confirm sent but not received: {sorted(sent - received)[:5]}; "
            f"received but not sent: {sorted(received - sent)[:5]}"
        )
    for node in (maker, shop):
        states = node.outbox_states()
        report.outbox[node.name] = states
        left = {s: n for s, n in states.items() if s != "acked"}
        if left:
            problems.append(f"{node.name}'s outbox has messages not ACKed: {left}")
            problems.extend(
                f"  {row['action']} in {row['transaction_id']}: {row['state']}, {row['last_error']}"
                for row in node.outbox_rows()[-500:]
                if row["state"] != "acked"
            )
    stock = maker.catalog()[ITEM]
    if stock["reserved"] != len(sold):
        problems.append(f"{ITEM}: {stock['reserved']} reserved for {len(sold)} orders")


def main(argv: list[str] | None = None) -> int:
    """``scripts/crash_test``: run the scenario; exit 0 when nothing was lost or doubled."""
    parser = argparse.ArgumentParser(
        prog="scripts/crash_test",
        description="kill -9 a seller node N times while a buyer confirms orders, then check "
        "that every order exists exactly once on both sides and every message was delivered.",
    )
    parser.add_argument("--kills", type=int, required=True, help="how many kill -9 (>= 1)")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--orders", type=int, help="orders to confirm (default: max(60, N+10))")
    parser.add_argument("--seed", type=int, help="random seed for the kill moments")
    parser.add_argument("--keep", action="store_true", help="keep the folder (logs, homes)")
    args = parser.parse_args(argv)
    if args.kills < 1 or (args.orders is not None and args.orders < 1):
        parser.error("--kills and --orders must be at least 1")
    root = Path(tempfile.mkdtemp(prefix="supplymesh-crash-"))
    print(f"folder {root}", flush=True)
    try:
        report = run_crash_scenario(
            root,
            kills=args.kills,
            orders=args.orders,
            kind=args.db,
            seed=args.seed,
            say=lambda line: print(line, flush=True),
        )
    except PostgresUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(report.summary())
    if report.problems or args.keep:
        print(f"logs and node homes kept in {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
