"""Discovery fan-out: a search to 100 seller nodes vs a search to one, via a gateway and direct.

    python benchmarks/bench_fanout.py [--sellers 100] [--workers 2] [--bad 10] [--reps 5]

Every seller is the real node (``build_node`` + the node's ASGI app) with its own home, keys
and SQLite database, subscribed at a real registry through the challenge. Sellers are hosted
by ``--workers`` child processes, each serving its share as uvicorn servers on one event loop
(``testing.market.ServerGroup``). This process runs the registry, the gateway (1 s per-seller
timeout) and four buyer nodes: one per (market, route), where the big market has all the
sellers and the small one a single seller hosted the same way.

Measured in the same run, after a warm-up search each (cold key caches):

1. search -> the last of N answers in the buyer's inbox, for N = 1 and N = all, through the
   gateway and direct; goal: all <= 2 x one.
2. Then ``--bad`` sellers go bad (half stop: their port refuses; half are replaced by a server
   that sleeps 5 s on every request) and each buyer searches again: time to the first live
   offer in the buyer's owner API (goal <= 2 s), and to every healthy seller's answer.

Times are wall-clock from the owner API's POST /owner/search to the buyer inbox's accepting
the message (its observer hook, in this process). Medians over ``--reps``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from supplymesh.adapters.node_home import NodeRole
from supplymesh.testing.market import (
    CITY,
    Market,
    MarketNode,
    MarketTimeout,
    ServerGroup,
    create_node_home,
    node_app,
)
from supplymesh.testing.servers import free_port

SMALL_CITY = "std:011"
SLEEP = 5.0  # a slow seller's answer time, well past the gateway's 1 s per-seller timeout
GATEWAY_TIMEOUT = 1.0


@dataclass(frozen=True)
class SellerSpec:
    """A seller a worker hosts."""

    name: str
    city: str
    price: int


def catalog(price: int) -> list[dict[str, Any]]:
    """A seller's catalog: two boots that match the search, one item that does not."""
    return [
        {"id": "boot-40", "name": "Work boot 40", "unit_price": str(price), "on_hand": 100,
         "lead_time_days": price % 7, "attributes": {"material": "leather"}},
        {"id": "boot-42", "name": "Work boot 42", "unit_price": str(price + 40), "on_hand": 100},
        {"id": "laces", "name": "Laces", "unit_price": "20", "on_hand": 900},
    ]  # fmt: skip


def quiet() -> None:
    """Dead sellers make the nodes warn (retries, open circuits) on purpose: not news here."""
    logging.getLogger("supplymesh").setLevel(logging.ERROR)


def sleeper(delay: float) -> Starlette:
    """A seller gone slow: takes ``delay`` seconds over every request, then ACKs."""

    async def slow(_request: Request) -> Response:
        await asyncio.sleep(delay)
        return Response(b'{"message":{"ack":{"status":"ACK"}}}', media_type="application/json")

    return Starlette(routes=[Route("/{action}", slow, methods=["POST"])])


def host_sellers(conn: Connection, root: str, registry_url: str, specs: list[SellerSpec]) -> None:
    """A worker process: serve ``specs`` as real nodes on one loop until told to stop."""
    quiet()
    group = ServerGroup()
    ports: dict[str, int] = {}
    try:
        for spec in specs:
            port = free_port()
            home = create_node_home(
                Path(root), spec.name, NodeRole.BPP, registry_url, port=port, city=spec.city
            )
            node, app, _ = node_app(home)
            group.serve(app, port)
            ports[spec.name] = port
            answer = httpx.post(
                f"{node.config.url}/owner/catalog",
                json=catalog(spec.price),
                headers={"Authorization": f"Bearer {node.owner_token}"},
                timeout=30,
            )
            answer.raise_for_status()
        conn.send(("ready", len(specs)))
        while True:
            command, *args = conn.recv()
            if command == "break":
                dead, slow = args
                for name in dead:
                    group.stop(ports[name])
                for name in slow:
                    group.stop(ports[name])
                    group.serve(sleeper(SLEEP), ports[name])
                conn.send(("broken", len(dead) + len(slow)))
            elif command == "cpu":
                conn.send(("cpu", time.process_time()))
            elif command == "stop":
                break
    finally:
        group.close()
        conn.send(("stopped", 0))


@dataclass
class Worker:
    """A child process hosting sellers, and the pipe to command it."""

    process: multiprocessing.process.BaseProcess
    conn: Connection
    names: list[str]

    def ask(self, *command: Any, timeout: float = 300.0) -> Any:
        """Send a command; the worker's answer."""
        self.conn.send(command)
        return self.expect(timeout)

    def expect(self, timeout: float) -> Any:
        """The worker's next message (or an error naming the worker)."""
        if not self.conn.poll(timeout):
            raise TimeoutError(f"worker {self.process.pid} did not answer in {timeout:g} s")
        return self.conn.recv()


def start_workers(
    root: Path, registry_url: str, specs: list[SellerSpec], count: int
) -> list[Worker]:
    """Start ``count`` workers sharing ``specs``; returns once all serve."""
    context = multiprocessing.get_context("spawn")
    workers = []
    for index in range(count):
        share = specs[index::count]
        here, there = context.Pipe()
        process = context.Process(
            target=host_sellers, args=(there, str(root), registry_url, share), daemon=True
        )
        process.start()
        workers.append(Worker(process, here, [s.name for s in share]))
    for worker in workers:
        status, _ = worker.expect(600)
        if status != "ready":
            raise RuntimeError(f"worker {worker.process.pid}: {status}")
    return workers


@dataclass
class Timing:
    """One search: when each answer came, and when the first live offer was listed."""

    answers: list[float]
    first_live_offer: float | None = None
    first_any_offer: float | None = None

    @property
    def last(self) -> float:
        """Seconds to the last awaited answer."""
        return max(self.answers)

    @property
    def first(self) -> float:
        """Seconds to the first answer."""
        return min(self.answers)


def warm_up(buyer: MarketNode, expected: int, within: float = 150.0) -> tuple[int, float]:
    """Search until all ``expected`` sellers answer one search; (searches, seconds).

    Cold, a hundred sellers look the buyer's and the gateway's keys up at once; a seller
    whose lookup times out NACKs the search 401 and (the registry client's negative TTL)
    does not ask again for 60 s, so it may take that long before every seller answers.
    """
    started = time.monotonic()
    for attempt in range(1, 1000):
        try:
            timed_search(buyer, expected, timeout=10)
        except MarketTimeout:
            if time.monotonic() - started > within:
                raise
            continue
        return attempt, time.monotonic() - started
    raise MarketTimeout("warm-up")


def timed_search(
    buyer: MarketNode, expected: int, watch_offers: bool = False, timeout: float = 60
) -> Timing:
    """Search, and time until ``expected`` answers arrived (and the first offers were listed)."""
    started = time.monotonic()
    tx = buyer.search("boot")["transaction_id"]
    timing = Timing(answers=[])
    if watch_offers:
        deadline = started + 30
        while timing.first_live_offer is None and time.monotonic() < deadline:
            offers = buyer.offers(tx)
            now = time.monotonic() - started
            if offers and timing.first_any_offer is None:
                timing.first_any_offer = now
            if any(o.get("source", "live") == "live" for o in offers):
                timing.first_live_offer = now
            time.sleep(0.005)
    arrived = buyer.arrivals.wait(tx, expected, timeout=timeout)
    timing.answers = [a.at - started for a in arrived[:expected]]
    return timing


def cpu_seconds(workers: list[Worker]) -> tuple[float, float]:
    """CPU seconds used so far: this process (registry, gateway, buyers), and the workers."""
    return time.process_time(), sum(worker.ask("cpu")[1] for worker in workers)


def cpu_rate(workers: list[Worker], seconds: float) -> tuple[float, float]:
    """CPU seconds per second the market burns while nobody searches (pollers, timers)."""
    before = cpu_seconds(workers)
    time.sleep(seconds)
    after = cpu_seconds(workers)
    return (after[0] - before[0]) / seconds, (after[1] - before[1]) / seconds


def median(values: list[float]) -> float:
    """The median, in milliseconds."""
    return statistics.median(values) * 1000


def row(*cells: str) -> str:
    """A table row."""
    widths = (52, 12, 12, 8, 11)
    return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))


def _ms(values: dict[str, float]) -> tuple[str, str]:
    return f"{values['gateway']:.0f}", f"{values['direct']:.0f}"


def verdict(value: float, goal: float) -> str:
    """PASS when ``value`` meets the goal (lower is better), else BELOW."""
    return "PASS" if value <= goal else "BELOW"


def main() -> int:
    """Run the benchmark; prints the table. Exit code 0 (figures are reported, not asserted)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sellers", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--bad", type=int, default=10)
    parser.add_argument("--reps", type=int, default=5)
    options = parser.parse_args()
    quiet()
    sellers = options.sellers
    specs = [SellerSpec(f"seller-{i:03d}", CITY, 1000 + 3 * i) for i in range(sellers)]
    specs.append(SellerSpec("lone-seller", SMALL_CITY, 1000))
    print(f"bench_fanout: {sellers} sellers in {options.workers} worker processes, "
          f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}")  # fmt: skip
    setup = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="bench-fanout-") as folder,
        Market(Path(folder)) as market,
    ):
        root = Path(folder)
        market.start_registry()
        gateway = market.start_gateway(seller_timeout=GATEWAY_TIMEOUT, concurrency=32)
        workers = start_workers(root, market.registry_url, specs, options.workers)
        try:
            buyers = {
                ("all", "gateway"): market.add_node(
                    "buyer-all-gw", NodeRole.BAP, gateways=[gateway.url]
                ),
                ("all", "direct"): market.add_node("buyer-all-direct", NodeRole.BAP),
                ("one", "gateway"): market.add_node(
                    "buyer-one-gw", NodeRole.BAP, city=SMALL_CITY, gateways=[gateway.url]
                ),
                ("one", "direct"): market.add_node(
                    "buyer-one-direct", NodeRole.BAP, city=SMALL_CITY
                ),
            }
            everyone = [f"{s.name}.example" for s in specs]
            everyone += [b.subscriber_id for b in buyers.values()]
            market.wait_subscribed(*everyone, timeout=120)
            print(f"setup: {time.monotonic() - setup:.1f} s")
            return measure(options, buyers, workers, sellers)
        finally:
            for worker in workers:
                worker.ask("stop", timeout=60)
                worker.process.join(30)


def measure(
    options: argparse.Namespace,
    buyers: dict[tuple[str, str], MarketNode],
    workers: list[Worker],
    sellers: int,
) -> int:
    """The two phases; prints the table."""
    counts = {"all": sellers, "one": 1}
    for (market, route), buyer in buyers.items():  # keys fetched, pools opened
        searches, seconds = warm_up(buyer, counts[market])
        print(f"warm-up, {market} via {route}: {searches} search(es), {seconds:.1f} s")
    idle = cpu_rate(workers, 2.0)
    runs: dict[tuple[str, str], list[Timing]] = {key: [] for key in buyers}
    cpu: dict[tuple[str, str], tuple[float, float]] = {}
    for key, buyer in buyers.items():
        before, started = cpu_seconds(workers), time.monotonic()
        for _ in range(options.reps):
            runs[key].append(timed_search(buyer, counts[key[0]]))
        after, took = cpu_seconds(workers), time.monotonic() - started
        cpu[key] = (  # CPU seconds per search, less what the idle market burns meanwhile
            (after[0] - before[0] - idle[0] * took) / options.reps,
            (after[1] - before[1] - idle[1] * took) / options.reps,
        )

    bad = min(options.bad, sellers)
    names = [f"seller-{i:03d}" for i in range(sellers)]
    chosen = names[:: max(1, sellers // bad)][:bad] if bad else []
    dead, slow = set(chosen[: bad // 2]), set(chosen[bad // 2 :])
    for worker in workers:
        worker.ask(
            "break", [n for n in worker.names if n in dead], [n for n in worker.names if n in slow]
        )
    healthy = sellers - bad
    degraded: dict[str, list[Timing]] = {"gateway": [], "direct": []}
    for _ in range(max(1, options.reps // 2)):
        for route in ("gateway", "direct"):
            degraded[route].append(timed_search(buyers[("all", route)], healthy, watch_offers=True))

    routes = ("gateway", "direct")

    def of(timings: dict[Any, list[Timing]], key: Any, pick: str) -> float:
        values = [getattr(t, pick) for t in timings[key]]
        return median([60.0 if v is None else v for v in values])

    one = {r: of(runs, ("one", r), "last") for r in routes}
    every = {r: of(runs, ("all", r), "last") for r in routes}
    ratio = {r: every[r] / one[r] for r in routes}
    live = {r: of(degraded, r, "first_live_offer") for r in routes}
    lines: list[tuple[str, str, str, str, str]] = [
        ("measure (median of runs)", "via gateway", "direct", "goal", "result"),
        ("search -> the answer of 1 seller (ms)", *_ms(one), "", ""),
        (f"search -> first of {sellers} answers (ms)", *_ms(
            {r: of(runs, ("all", r), "first") for r in routes}), "", ""),
        (f"search -> all {sellers} answers (ms)", *_ms(every), "", ""),
        (f"all {sellers} / one", f"{ratio['gateway']:.1f}x", f"{ratio['direct']:.1f}x", "<= 2x",
         "/".join(verdict(ratio[r], 2.0) for r in routes)),
        (f"{bad} of {sellers} bad: {len(dead)} dead, {len(slow)} slow ({SLEEP:.0f} s)",
         "", "", "", ""),
        ("  search -> first live offer listed (ms)", *_ms(live), "<= 2000",
         "/".join(verdict(live[r], 2000.0) for r in routes)),
        ("  search -> first offer listed, cache too", *_ms(
            {r: of(degraded, r, "first_any_offer") for r in routes}), "", ""),
        (f"  search -> all {healthy} healthy answers (ms)", *_ms(
            {r: of(degraded, r, "last") for r in routes}), "", ""),
    ]  # fmt: skip
    for key in (("one", "gateway"), ("one", "direct"), ("all", "gateway"), ("all", "direct")):
        here, there = cpu[key]
        lines.append((
            f"CPU ms per search, {key[0]} via {key[1]}: main / sellers",
            f"{here * 1000:.0f}", f"{there * 1000:.0f}", "", "",
        ))  # fmt: skip
    lines.append(
        ("CPU ms per second, idle market: main / sellers",
         f"{idle[0] * 1000:.0f}", f"{idle[1] * 1000:.0f}", "", "")
    )  # fmt: skip
    print()
    for line in lines:
        print(row(*line))
    print(
        f"\n{os.cpu_count()} CPUs shared by the registry, the gateway and 4 buyer nodes (this "
        f"process) and {len(workers)} seller worker processes. result: gateway/direct."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
