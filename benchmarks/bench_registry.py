"""Registry benchmark: signed lookups by subscriber_id vs a bare ACK on the same server.

    python benchmarks/bench_registry.py [--seconds 3] [--records 500]

One uvicorn worker in its own process serves the real registry app (SQLite), with one extra
route answering a constant ACK; a load generator in another process drives both in the same
run. Goal: lookups at >= 60 % of the bare ACK rate.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import uvicorn
from fastapi.responses import Response

sys.path.insert(0, str(Path(__file__).parent))

from loadgen import build_request, measure

from supplymesh.adapters.registry_client import RegistryClient
from supplymesh.adapters.registry_store import RegistryStore
from supplymesh.adapters.sql import make_engine, migrate
from supplymesh.entrypoints.registry_server import RegistrySettings, create_app
from supplymesh.protocol.ack import ACK_BODY
from supplymesh.protocol.codec import encode_json
from supplymesh.protocol.registry import LookupRequest, SubscriptionStatus
from supplymesh.testing.participants import Participant
from supplymesh.testing.servers import free_port


def serve(port: int, home: Path, db_url: str) -> None:
    """Run the registry app plus a bare ACK route on one uvicorn worker."""
    app = create_app(
        RegistrySettings(db_url=db_url, home=home, public_url=f"http://127.0.0.1:{port}")
    )

    async def bare_ack() -> Response:
        return Response(ACK_BODY, media_type="application/json")

    app.add_api_route("/bench/ack", bare_ack, methods=["POST"])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="error", access_log=False)


def populate(db_url: str, count: int) -> list[str]:
    """Store ``count`` subscribed, subject-signed records (setup only: no challenges)."""
    engine = make_engine(db_url)
    migrate(engine, "registry")
    store = RegistryStore(engine)
    ids = []
    now = datetime.now(UTC)
    with engine.begin() as connection:
        for i in range(count):
            member = Participant(
                subscriber_id=f"seller{i}.example", url=f"http://127.0.0.1:{9000 + i % 100}"
            )
            record = member.signed(now)
            store.insert(
                connection,
                record,
                body=encode_json(record),
                status=SubscriptionStatus.SUBSCRIBED,
                reason=None,
                now=now.timestamp(),
            )
            ids.append(member.subscriber_id)
    engine.dispose()
    return ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--records", type=int, default=500)
    parser.add_argument("--serve", nargs=3, metavar=("PORT", "HOME", "DB"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(int(args.serve[0]), Path(args.serve[1]), args.serve[2])
        return

    with tempfile.TemporaryDirectory() as tmp:
        db_url = f"sqlite:///{tmp}/registry.sqlite"
        ids = populate(db_url, args.records)
        port = free_port()
        server = subprocess.Popen(  # noqa: S603 - our own interpreter and script
            [sys.executable, __file__, "--serve", str(port), f"{tmp}/home", db_url],
            env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])},
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("the registry did not start")
                time.sleep(0.1)
            ack = [build_request("/bench/ack", b"{}", port)]
            lookups = [
                build_request("/lookup", b'{"subscriber_id":"%s"}' % sid.encode(), port)
                for sid in ids
            ]
            measure(port, ack, seconds=1.0)  # warm up
            measure(port, lookups, seconds=1.0)
            ack_rate = measure(port, ack, seconds=args.seconds)
            lookup_rate = measure(port, lookups, seconds=args.seconds)
            uncached, cached = asyncio.run(
                client_rates(f"http://127.0.0.1:{port}", ids, args.seconds)
            )
        finally:
            server.terminate()
            server.wait(timeout=30)

    ratio = lookup_rate / ack_rate
    print(f"{'case':44} {'req/s':>10}")
    print(f"{'bare ACK (same server, one worker)':44} {ack_rate:10.0f}")
    print(f"{'signed lookup by subscriber_id':44} {lookup_rate:10.0f}")
    verdict = "PASS" if ratio >= 0.60 else "BELOW"
    print(f"lookup / bare ACK = {ratio:.0%} (goal >= 60 %) {verdict}")
    print()
    print(f"{'registry client, key for (subscriber, key id)':44} {'keys/s':>10}")
    print(f"{'  without cache: a verified lookup each time':44} {uncached:10.0f}")
    print(f"{'  with its cache (warm)':44} {cached:10.0f}")
    print(f"cache / no cache = {cached / uncached:.0f}x")


async def client_rates(url: str, ids: list[str], seconds: float) -> tuple[float, float]:
    """Keys per second through RegistryClient: a full verified lookup each time vs its cache."""
    async with RegistryClient(url, timeout=10.0) as client:
        done, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            items = await client.lookup(LookupRequest(subscriber_id=ids[done % len(ids)]))
            assert items, "the registry lost a record"
            done += 1
        uncached = done / (time.perf_counter() - started)
        for sid in ids:
            assert await client.verify_key(sid, "k1") is not None
        done, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            await client.verify_key(ids[done % len(ids)], "k1")
            done += 1
        cached = done / (time.perf_counter() - started)
    return uncached, cached


if __name__ == "__main__":
    main()
