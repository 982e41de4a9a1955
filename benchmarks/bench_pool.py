"""Demand pool benchmark: 10,000 joins to one pool on one node, against its plain ingest.

    python benchmarks/bench_pool.py [--joins 10000] [--seconds 3] [--skip-pg]

What runs, each in its own process, all on 127.0.0.1:

- a bare ACK server standing in for the buyers' endpoints (every ``on_*`` callback lands there,
  so deliveries settle at once and nothing retries);
- the seller node hosting the pool (``build_node`` + ``create_app``, ONE uvicorn worker), on
  SQLite and then (unless ``--skip-pg``) on PostgreSQL. Its dispatcher is held while the
  inbox is measured (its callbacks stay queued: the figures are the inbox alone) and released
  by a route this script adds. The buyers' keys are in the node's key cache before it starts
  (``HOME/key-cache.json``: their subject-signed records), so no registry is needed;
- the load generator: pre-built, pre-signed, DISTINCT messages, each sent once, on 16
  keep-alive connections, so it does no crypto while it measures.

Per database, in one run on the same node:

1. plain ingest: distinct ``search`` messages (verify, decode, dedupe, inbox row, transaction
   and an ``on_search`` queued in one transaction, ACK), as ``bench_ingest.py`` measures it;
2. joins: ``--joins`` distinct ``confirm`` messages joining the one pool (a ``pool`` tag group
   with pool_id and commitment), from a few hundred buyers (each joins many times, one unit a
   time); goal: joins per second >= 50 % of (1). All but the last join are timed;
3. plain ingest again, with the pool holding its members (info);
4. settle: the dispatcher is released and the backlog of callbacks delivered; then the last
   join reaches the top tier, the node's scheduler closes the pool (``close_when_top_tier``)
   and queues every member's ``on_status`` (filled, at the top tier's price, with the signed
   outcome and the member's Merkle proof) in the close's transaction. Timed from the close
   (the outcome's ``closed_at``) to all of them queued (the close committed) and to all of
   them ACKed by the buyers' endpoint.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import math
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import msgspec
import uvicorn
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).parent))

from loadgen import build_request, run_load
from node_harness import (
    HeldDispatcher,
    Processes,
    healthy,
    machine_cpu,
    serve_ack,
    verdict,
    wait_until,
)

from supplymesh.adapters.node_home import NodeConfig, NodeHome, NodeRole
from supplymesh.adapters.node_store import inbox as inbox_table
from supplymesh.adapters.node_store import outbox as outbox_table
from supplymesh.adapters.pool_store import pool_members, pools
from supplymesh.adapters.registry_cache import CacheEntry, FileKeyCache
from supplymesh.adapters.sql import make_engine
from supplymesh.domain.pools import commitment
from supplymesh.entrypoints.node_app import build_node
from supplymesh.entrypoints.node_server import create_app
from supplymesh.protocol import schema as s
from supplymesh.protocol import signing
from supplymesh.protocol.ack import ACK_BODY
from supplymesh.protocol.actions import Action
from supplymesh.protocol.context import new_context, seconds_duration
from supplymesh.protocol.envelope import encode, envelope
from supplymesh.protocol.messages import Message, OrderMessage, SearchMessage
from supplymesh.protocol.registry import SubscriberType
from supplymesh.services import pools as pool_service
from supplymesh.services.subscription import key_id_for
from supplymesh.testing.participants import Participant
from supplymesh.testing.servers import free_port

DOMAIN = "supplymesh:MFG10"
CITY = "std:080"
MEMBERS = 300  # distinct buyer identities joining the pool
CONNECTIONS = 16
WARM_SECONDS = 1.0
VALID_SECONDS = 1800  # signatures and context ttl of the pre-signed messages
ITEM = "tee-shirt-custom"
GOAL = 0.50
JSON = "application/json"
NO_REGISTRY = "http://127.0.0.1:9"  # never asked: every key the node needs is in its cache
QUIET_BELOW = 0.25  # cores busy with other work before a measured phase starts
QUIET_PATIENCE = 30.0

# -- the servers (run in child processes) ------------------------------------------------------


def bench_app() -> Starlette:
    """The real node app from $SUPPLYMESH_NODE_HOME (held dispatcher) plus a release route."""
    node = build_node(Path(os.environ["SUPPLYMESH_NODE_HOME"]))
    dispatcher = HeldDispatcher(
        node=node.service, transport=node.peers, policy=node.dispatcher.policy
    )
    node.dispatcher = dispatcher
    app = create_app(node, subscribe_on_start=False)

    async def release(_request: Request) -> Response:
        dispatcher.release()
        return Response(ACK_BODY, media_type=JSON)

    app.router.routes[0:0] = [Route("/bench/dispatch/release", release, methods=["POST"])]
    return app


def serve_node(home: str, port: int) -> None:
    """The benchmark node on one uvicorn worker."""
    os.environ["SUPPLYMESH_NODE_HOME"] = home
    logging.basicConfig(level=logging.WARNING)
    uvicorn.run(
        "bench_pool:bench_app",
        factory=True,
        workers=1,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
    )


# -- sending every message once ----------------------------------------------------------------


async def _once_connection(
    port: int,
    pending: Iterator[bytes],
    started: float,
    done: list[float],
    failures: list[bytes],
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for request in pending:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            body = await reader.readexactly(length) if length else b""
            if 200 <= status < 300:
                done.append(time.monotonic() - started)
            else:
                failures.append(head[:12] + b" " + body[:300])
    finally:
        writer.close()


async def _once(
    port: int, requests: Sequence[bytes], connections: int
) -> tuple[list[float], list[bytes], float]:
    pending = iter(requests)  # shared: each connection takes the next unsent message
    done: list[float] = []
    failures: list[bytes] = []
    started = time.monotonic()
    await asyncio.gather(
        *(
            _once_connection(port, pending, started, done, failures)
            for _ in range(min(connections, len(requests)))
        )
    )
    return done, failures, time.monotonic() - started


def _once_worker(
    port: int,
    requests: Sequence[bytes],
    connections: int,
    queue: multiprocessing.Queue[tuple[list[float], list[bytes], float]],
) -> None:
    queue.put(asyncio.run(_once(port, requests, connections)))


def send_once(
    port: int, requests: Sequence[bytes], connections: int = CONNECTIONS
) -> tuple[list[float], float]:
    """Send every request exactly once from a separate process.

    Returns when each request was ACKed (seconds from the start, in the load process) and the
    elapsed time; raises RuntimeError if any got a non-2xx answer.
    """
    queue: multiprocessing.Queue[tuple[list[float], list[bytes], float]] = multiprocessing.Queue()
    process = multiprocessing.Process(
        target=_once_worker, args=(port, list(requests), connections, queue)
    )
    process.start()
    done, failures, elapsed = queue.get(timeout=3600)
    process.join(timeout=30)
    if failures:
        raise RuntimeError(
            f"{len(failures)} of {len(requests)} requests failed; first: {failures[0]!r}"
        )
    return done, elapsed


# -- the harness -------------------------------------------------------------------------------


def wait_quiet() -> float:
    """Wait (up to QUIET_PATIENCE s) until other work on the machine is below QUIET_BELOW cores
    (a shared machine's other jobs take the cores the benchmark measures); the cores last seen
    busy."""
    deadline = time.monotonic() + QUIET_PATIENCE
    while True:
        busy, every = machine_cpu()
        time.sleep(0.5)
        busy_after, every_after = machine_cpu()
        cores = (busy_after - busy) / max(every_after - every, 1e-9) * (os.cpu_count() or 1)
        if cores < QUIET_BELOW or time.monotonic() > deadline:
            return cores


def reader_engine(db_url: str) -> Engine:
    """An engine for looking at the node's database from outside.

    On SQLite a plain engine (the node's own engine begins every transaction IMMEDIATE, which
    would take the write lock for every poll); read-only queries in WAL mode block no one.
    """
    if db_url.startswith("sqlite"):
        return create_engine(db_url, connect_args={"timeout": 30})
    return make_engine(db_url)


def new_home(path: Path, name: str, port: int, db_url: str, buyers: list[Participant]) -> NodeHome:
    """A seller node home (as ``supplymesh node init`` makes it), knowing the buyers' keys."""
    home = NodeHome(path)
    home.create(
        NodeConfig(
            subscriber_id=name,
            role=NodeRole.BPP,
            domain=DOMAIN,
            city=CITY,
            country="IND",
            url=f"http://127.0.0.1:{port}",
            registries=(NO_REGISTRY,),
            db_url=db_url,
            unique_key_id="",
            display_name=name,
        ),
        key_id_for,
    )
    now = datetime.now(UTC)
    FileKeyCache(home.key_cache_path).put(
        [CacheEntry(record=buyer.signed(now), fetched_at=now) for buyer in buyers], now
    )
    return home


@dataclass
class Node:
    """A running benchmark node."""

    port: int
    subscriber_id: str
    process: subprocess.Popen[bytes]
    db_url: str
    home: NodeHome
    engine: Engine

    @property
    def url(self) -> str:
        """Its base URL."""
        return f"http://127.0.0.1:{self.port}"

    def scalar(self, query: Any) -> Any:
        """One value from the node's database."""
        with self.engine.connect() as connection:
            return connection.execute(query).scalar_one()

    def inbox_rows(self) -> int:
        """Rows in the inbox."""
        return int(self.scalar(select(func.count()).select_from(inbox_table)))

    def outbox(self, action: str | None = None) -> dict[str, int]:
        """Outbox messages by delivery state (of one action, if given)."""
        query = select(outbox_table.c.state, func.count()).group_by(outbox_table.c.state)
        if action is not None:
            query = query.where(outbox_table.c.action == action)
        with self.engine.connect() as connection:
            return {str(state): int(count) for state, count in connection.execute(query).all()}

    def pool_state(self, pool_id: str) -> tuple[str, str]:
        """(state, body) of the pool's row."""
        with self.engine.connect() as connection:
            row = connection.execute(
                select(pools.c.state, pools.c.body).where(pools.c.pool_id == pool_id)
            ).one()
        return str(row[0]), str(row[1])

    def owner(self, method: str, path: str, body: object = None) -> Any:
        """Call the owner API."""
        response = httpx.request(
            method,
            f"{self.url}{path}",
            json=body,
            headers={"Authorization": f"Bearer {self.home.owner_token()}"},
            timeout=30,
        )
        response.raise_for_status()
        return response.json()


@dataclass
class Bench:
    """The run: its folder, processes, buyers and settings."""

    tmp: Path
    processes: Processes
    buyers: list[Participant]
    seconds: float
    joins: int
    busiest: float = 0.0  # the most other work seen when a measured phase started, in cores

    def quiet(self) -> None:
        """Wait for the machine to be quiet before a measured phase; remember how busy it was."""
        self.busiest = max(self.busiest, wait_quiet())

    def start_node(self, name: str, db_url: str) -> Node:
        """A benchmark node (held dispatcher), up."""
        port = free_port()
        subscriber_id = f"{name}.bench"
        home = new_home(self.tmp / name, subscriber_id, port, db_url, self.buyers)
        process = self.processes.start(name, [__file__, "--serve-node", str(home.path), str(port)])
        url = f"http://127.0.0.1:{port}"
        wait_until(f"{name} to start", lambda: healthy(url), self.processes, process)
        return Node(port, subscriber_id, process, db_url, home, reader_engine(db_url))

    def signed(
        self, node: Node, action: Action, messages: Iterator[tuple[str | None, Message]]
    ) -> list[bytes]:
        """Pre-signed distinct requests to ``node``, one per (transaction id or None for a new
        one, message), from the buyers in turn (each its own message id)."""
        now = time.time()
        at = datetime.fromtimestamp(now, UTC)
        created = int(now)
        requests = []
        for i, (transaction_id, message) in enumerate(messages):
            buyer = self.buyers[i % len(self.buyers)]
            ctx = new_context(
                action,
                now=at,
                domain=DOMAIN,
                bap_id=buyer.subscriber_id,
                bap_uri=buyer.url,
                city=CITY,
                country="IND",
                bpp_id=node.subscriber_id,
                bpp_uri=node.url,
                transaction_id=transaction_id,
                ttl=seconds_duration(VALID_SECONDS),
            )
            body = encode(envelope(ctx, message))
            header = signing.sign(
                body,
                buyer.signing,
                subscriber_id=buyer.subscriber_id,
                unique_key_id=buyer.unique_key_id,
                created=created,
                expires=created + VALID_SECONDS,
            )
            requests.append(
                build_request(f"/{action.value}", body, node.port, {"Authorization": header})
            )
        return requests

    def searches(self, node: Node, count: int) -> list[bytes]:
        """Distinct pre-signed searches (the plain ingest of bench_ingest.py)."""
        message = SearchMessage(intent=s.Intent(item=s.Item(descriptor=s.Descriptor(name="bolt"))))
        return self.signed(node, Action.SEARCH, ((None, message) for _ in range(count)))

    def pool_joins(self, node: Node, pool_id: str) -> list[bytes]:
        """One distinct pre-signed confirm per join: one unit each, its own transaction."""

        def joins() -> Iterator[tuple[str | None, Message]]:
            for i in range(self.joins):
                buyer = self.buyers[i % len(self.buyers)]
                transaction_id = f"join-{i:06d}-{os.urandom(4).hex()}"
                digest = commitment(pool_id, transaction_id, buyer.subscriber_id, 1, os.urandom(16))
                yield (
                    transaction_id,
                    OrderMessage(
                        order=s.Order(
                            provider=s.Provider(id=node.subscriber_id),
                            items=(
                                s.Item(
                                    id=ITEM,
                                    quantity=s.ItemQuantity(selected=s.QuantityValue(count=1)),
                                ),
                            ),
                            tags=(
                                s.TagGroup(
                                    descriptor=s.Descriptor(code=pool_service.POOL_TAG),
                                    entries=(
                                        s.Tag(
                                            descriptor=s.Descriptor(code="pool_id"), value=pool_id
                                        ),
                                        s.Tag(
                                            descriptor=s.Descriptor(code="commitment"),
                                            value=digest.hex(),
                                        ),
                                    ),
                                ),
                            ),
                        )
                    ),
                )

        return self.signed(node, Action.CONFIRM, joins())

    def ingest_rate(self, node: Node) -> float:
        """Plain ingest (POST /search, distinct messages), warm-up then measured; checks that
        every ACK added one inbox row (no message sent twice)."""
        calibrate = self.searches(node, 4000)
        self.quiet()
        before = node.inbox_rows()
        warm, warm_elapsed = run_load(node.port, calibrate, WARM_SECONDS, CONNECTIONS)
        if warm >= len(calibrate):
            raise SystemExit("the warm-up repeated messages; raise its message count")
        bound = warm / warm_elapsed
        measured = self.searches(node, math.ceil(bound * self.seconds * 4) + 2000)
        ok, elapsed = run_load(node.port, measured, self.seconds, CONNECTIONS)
        added = node.inbox_rows() - before
        if added != warm + ok:
            raise SystemExit(
                f"{warm + ok} ACKs but {added} new inbox rows: messages repeated "
                f"(warm {warm}/{len(calibrate)}, measured {ok}/{len(measured)})"
            )
        return ok / elapsed


@dataclass
class Row:
    """One line of the table."""

    label: str
    value: str
    goal: str = ""
    verdict: str = ""


@dataclass
class Report:
    """What the run measured."""

    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def deciles(done: list[float]) -> str:
    """Joins per second in each tenth of the run (by ACK order): does a join slow down as the
    pool grows?"""
    times = sorted(done)
    step = max(1, len(times) // 10)
    rates = []
    previous = 0.0
    for end in range(step, len(times) + 1, step):
        at = times[end - 1]
        rates.append(step / max(at - previous, 1e-9))
        previous = at
    return " ".join(f"{r:,.0f}" for r in rates[:10])


def run_case(bench: Bench, report: Report, label: str, db_url: str) -> None:
    """Ingest, joins, ingest again and the settle on one node."""
    name = label.lower().replace(" ", "")
    node = bench.start_node(name, db_url)
    try:
        _case(bench, report, label, node)
    finally:
        bench.processes.stop(node.process)
        node.engine.dispose()


def _case(bench: Bench, report: Report, label: str, node: Node) -> None:
    joins = bench.joins
    top = joins
    tiers = [
        {"min_quantity": max(1, top // 10), "unit_price": "100.00"},
        {"min_quantity": max(2, top // 2), "unit_price": "90.00"},
        {"min_quantity": top, "unit_price": "80.00"},
    ]
    if len({t["min_quantity"] for t in tiers}) < len(tiers):
        tiers = [{"min_quantity": top, "unit_price": "80.00"}]
    created = node.owner(
        "POST",
        "/owner/pools",
        {
            "item_id": ITEM,
            "spec": {"size": "M", "colour": "indigo"},
            "tiers": tiers,
            "deadline": (datetime.now(UTC) + timedelta(hours=2)).isoformat(),
            "max_per_member": 1000,
            "close_when_top_tier": True,
        },
    )
    pool_id = str(created["pool_id"])
    print(f"  {label}: signing {joins:,} joins ...", file=sys.stderr)
    join_requests = bench.pool_joins(node, pool_id)

    print(f"  {label}: plain ingest ...", file=sys.stderr)
    ingest = bench.ingest_rate(node)

    print(f"  {label}: {joins - 1:,} joins ...", file=sys.stderr)
    bench.quiet()
    done, elapsed = send_once(node.port, join_requests[:-1])
    join_rate = len(done) / elapsed
    members = int(node.scalar(select(func.count()).select_from(pool_members)))
    if members != joins - 1:
        raise SystemExit(f"{len(done)} joins ACKed but the pool has {members} members")

    print(f"  {label}: plain ingest with the pool full ...", file=sys.stderr)
    ingest_after = bench.ingest_rate(node)

    print(f"  {label}: delivering the backlog of callbacks ...", file=sys.stderr)
    backlog = sum(node.outbox().values())
    released = time.time()
    httpx.post(f"{node.url}/bench/dispatch/release", timeout=5)
    drained = wait_until(
        "the backlog to be delivered",
        lambda: not ({"queued", "sending"} & set(node.outbox())),
        bench.processes,
        node.process,
        timeout=600,
        interval=0.2,
    )
    failed = node.outbox().get("failed", 0) + node.outbox().get("nacked", 0)
    if failed:
        raise SystemExit(f"{failed} callbacks were not ACKed: {node.outbox()}")

    print(f"  {label}: the last join, and the close ...", file=sys.stderr)
    bench.quiet()
    send_once(node.port, join_requests[-1:], 1)
    last_ack = time.time()
    committed = wait_until(
        "the pool to close",
        lambda: node.pool_state(pool_id)[0] != "open",
        bench.processes,
        node.process,
        timeout=600,
        interval=0.005,
    )
    state, body = node.pool_state(pool_id)
    outcome = msgspec.json.decode(body)["pool"]["outcome"]
    closed_at = datetime.fromisoformat(outcome["closed_at"]).timestamp()
    queued = node.outbox("on_status")
    if sum(queued.values()) != joins or state != "filled":
        raise SystemExit(f"pool {state}; on_status in the outbox: {queued} (want {joins})")
    delivered = wait_until(
        "every on_status to be delivered",
        lambda: node.outbox("on_status").get("acked", 0) == joins,
        bench.processes,
        node.process,
        timeout=900,
        interval=0.05,
    )
    orders = int(node.scalar(text("SELECT count(*) FROM orders")))
    if orders != joins:
        raise SystemExit(f"{orders} orders after the close, want {joins}")

    ratio = join_rate / ingest
    report.rows += [
        Row(f"{label}: plain ingest POST /search", f"{ingest:,.0f} req/s"),
        Row(f"{label}: joins (POST /confirm into one pool)", f"{join_rate:,.0f} joins/s"),
        Row("    joins / plain ingest", f"{ratio:.0%}", ">= 50 %", verdict(ratio >= GOAL)),
        Row(f"    plain ingest, pool at {joins - 1:,} members", f"{ingest_after:,.0f} req/s"),
        Row(
            f"    settle: close -> {joins:,} on_status queued",
            f"{committed - closed_at:,.2f} s",
        ),
        Row(
            f"    settle: close -> {joins:,} on_status ACKed",
            f"{delivered - closed_at:,.2f} s",
        ),
        Row("    (info) top tier reached -> close starts", f"{closed_at - last_ack:,.2f} s"),
    ]
    report.notes.append(
        f"{label}: {joins - 1:,} joins in {elapsed:.1f} s; joins/s by tenths of the run (pool "
        f"growing): {deciles(done)}. Outcome: {outcome['state']}, {outcome['member_count']:,} "
        f"members at {outcome['unit_price']} each. Backlog before the close: {backlog:,} "
        f"callbacks (on_search, on_confirm) delivered in {drained - released:.1f} s "
        f"({backlog / max(drained - released, 1e-9):,.0f}/s)."
    )


@contextlib.contextmanager
def network(seconds: float, joins: int) -> Iterator[Bench]:
    """The buyers' ACK endpoint in its own process, for the whole run."""
    with tempfile.TemporaryDirectory(prefix="bench-pool-") as folder:
        tmp = Path(folder)
        (tmp / "logs").mkdir()
        processes = Processes(tmp / "logs")
        try:
            ack_port = free_port()
            ack_url = f"http://127.0.0.1:{ack_port}"
            ack = processes.start("buyers-ack", [__file__, "--serve-ack", str(ack_port)])
            buyers = [
                Participant(subscriber_id=f"buyer{i}.bench", url=ack_url, type=SubscriberType.BAP)
                for i in range(MEMBERS)
            ]
            wait_until("the buyers' ACK server", lambda: healthy(ack_url), processes, ack)
            yield Bench(tmp, processes, buyers, seconds, joins)
        finally:
            processes.stop_all()


def show(report: Report, bench: Bench) -> None:
    """Print the table and the notes."""
    print(
        f"\nsupplymesh demand pool: {bench.joins:,} joins (1 unit each) to ONE pool from "
        f"{MEMBERS} buyers, one node on 1 uvicorn worker, {CONNECTIONS} keep-alive connections; "
        f"plain ingest {bench.seconds:g} s after {WARM_SECONDS:g} s warm-up; "
        f"{os.cpu_count()} cores"
    )
    print(f"{'figure':48} {'value':>16}  {'goal':9} verdict")
    for row in report.rows:
        print(f"{row.label:48} {row.value:>16}  {row.goal:9} {row.verdict}".rstrip())
    print()
    report.notes.append(
        f"Each measured phase waited up to {QUIET_PATIENCE:g} s for the machine to be quiet "
        f"(< {QUIET_BELOW:g} core busy elsewhere); the busiest start saw {bench.busiest:.2f} "
        "cores busy."
    )
    for note in report.notes:
        print(f"- {note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--joins", type=int, default=10_000, help="joins to the one pool")
    parser.add_argument("--seconds", type=float, default=3.0, help="seconds of plain ingest")
    parser.add_argument("--skip-pg", action="store_true", help="skip the PostgreSQL run")
    parser.add_argument("--serve-node", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--serve-ack", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_node:
        serve_node(args.serve_node[0], int(args.serve_node[1]))
        return
    if args.serve_ack:
        serve_ack(int(args.serve_ack))
        return
    if args.joins < 2:
        parser.error("--joins must be at least 2")

    report = Report()
    with network(args.seconds, args.joins) as bench:
        print("SQLite ...", file=sys.stderr)
        run_case(bench, report, "SQLite", f"sqlite:///{bench.tmp / 'sqlite' / 'node.sqlite'}")
        if not args.skip_pg:
            from supplymesh.testing.databases import (  # noqa: PLC0415 - optional extra
                PostgresUnavailable,
                postgres_database,
            )

            print("PostgreSQL ...", file=sys.stderr)
            try:
                with postgres_database() as url:
                    run_case(bench, report, "PostgreSQL", url)
            except PostgresUnavailable as exc:
                report.notes.append(f"PostgreSQL skipped: {exc}")
        show(report, bench)


if __name__ == "__main__":
    main()
