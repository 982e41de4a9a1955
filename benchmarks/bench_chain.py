"""Quote time for a four-tier made-to-order chain, end to end over HTTP, against one hop.

    python benchmarks/bench_chain.py [--rounds 20] [--warmup 3]

Six nodes, each its own process, keys and SQLite database, on 127.0.0.1, all subscribed at
one registry (also a process): a shop, a furniture maker, a board mill, a timber merchant, a
hardware supplier and a carrier (a logistics node, domain ``nic2004:60232``). The maker's
production data has tables of 2 boards and a hardware kit; boards are quoted by the mill
(``ask_quotes``), which is a maker too and asks the timber merchant; kits come on a lead time;
the carrier is asked to ship what the plan has ready. So one quote is:

    shop --select--> maker --select--> mill --select--> timber
                                            <-on_select--
                           <-on_select--  (the mill plans, answers)
                     maker --select--> carrier
                           <-on_select--  (the maker plans, answers)
    shop <-on_select--

seven signed messages and their seven callbacks, three MRP runs, each step through the
senders' outboxes. Timed from the shop's ``POST /owner/select`` to the shop's owner API showing
the on_select (polled every 5 ms, so up to 5 ms of each figure is the poll), with its
``plan`` tags carrying a promise date. The baseline, interleaved round by round: the same
shop's select of a catalog item from the hardware supplier (one hop, no planning), timed the
same way. Each round asks for a different quantity, so no answer is reused.

Goal (issue 7): the chain's quote in under a second on this machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from supplymesh.domain.logistics import LOGISTICS_DOMAIN
from supplymesh.entrypoints.demo_chain import board_mill, furniture_maker, lanes
from supplymesh.testing.network import CITY, FAST_DELIVERY, NodeProcess, network, wait_until

GOAL_SECONDS = 1.0
POLL_SECONDS = 0.005


def timed_select(shop: NodeProcess, seller: str, item: str, quantity: int) -> tuple[float, Any]:
    """Seconds from the shop's select to its on_select, and the on_select's message."""
    tx = str(uuid.uuid4())
    body = {"transaction_id": tx, "bpp_id": seller, "items": [{"id": item, "quantity": quantity}]}
    started = time.perf_counter()
    shop.post("/owner/select", body)
    [answer] = wait_until(
        lambda: shop.incoming(tx, "on_select") or None,
        30,
        f"the on_select for {item} x {quantity}",
        interval=POLL_SECONDS,
    )
    return time.perf_counter() - started, answer["message"]


def promise_date(message: Any) -> str:
    """The plan tags' promise date; fails loudly when the quote has none."""
    for group in message["order"].get("tags") or []:
        if group["descriptor"]["code"] == "plan":
            values = {t["descriptor"]["code"]: t["value"] for t in group["list"]}
            if "promise_date" in values:
                return str(values["promise_date"])
            raise SystemExit(f"the chain could not quote: {values}")
    raise SystemExit(f"no plan tags in {message['order']}")


def start(root: Path) -> Any:
    """The network, its six nodes started, subscribed and loaded with their data."""
    net = network(root, "sqlite")
    handle = net.__enter__()
    try:
        handle.start_registry()
        nodes = {
            "timber": handle.add_node("timber", "bpp", delivery=FAST_DELIVERY),
            "hardware": handle.add_node("hardware", "bpp", delivery=FAST_DELIVERY),
            "lsp": handle.add_node("lsp", "bpp", delivery=FAST_DELIVERY, domain=LOGISTICS_DOMAIN),
            "mill": handle.add_node("mill", "both", delivery=FAST_DELIVERY),
            "maker": handle.add_node("maker", "both", delivery=FAST_DELIVERY),
            "shop": handle.add_node("shop", "bap", delivery=FAST_DELIVERY),
        }
        for node in nodes.values():
            node.start(wait=False)
        for node in nodes.values():
            node.wait_healthy()
        handle.wait_subscribed(*nodes.values())
        nodes["timber"].post(
            "/owner/catalog",
            [{"id": "timber", "name": "Oak log", "unit_price": "90", "on_hand": 100000}],
        )
        nodes["hardware"].post(
            "/owner/catalog",
            [{"id": "kit-oak", "name": "Hinge kit", "unit_price": "150", "on_hand": 100000}],
        )
        nodes["lsp"].post("/owner/logistics", lanes(CITY, CITY))
        nodes["mill"].post("/owner/production", board_mill("example", quote_wait_seconds=5))
        nodes["maker"].post("/owner/production", furniture_maker("example", quote_wait_seconds=5))
    except BaseException:
        net.__exit__(*sys.exc_info())
        raise
    return net, nodes


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    """Run the rounds and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args(argv)
    chain_times: list[float] = []
    hop_times: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench-chain-") as directory:
        print("starting a registry and six node processes ...", flush=True)
        net, nodes = start(Path(directory))
        try:
            shop, maker, hardware = nodes["shop"], nodes["maker"], nodes["hardware"]
            for index in range(args.warmup + args.rounds):
                quantity = 1 + index % 5
                chain_seconds, quoted = timed_select(shop, maker.subscriber_id, "table", quantity)
                promised = promise_date(quoted)
                hop_seconds, _ = timed_select(shop, hardware.subscriber_id, "kit-oak", quantity)
                if index >= args.warmup:
                    chain_times.append(chain_seconds)
                    hop_times.append(hop_seconds)
                    print(
                        f"  round {index - args.warmup + 1:>3}: chain {chain_seconds * 1000:7.1f}"
                        f" ms (promise {promised}), one hop {hop_seconds * 1000:6.1f} ms",
                        flush=True,
                    )
        finally:
            net.__exit__(None, None, None)
    chain_median, hop_median = statistics.median(chain_times), statistics.median(hop_times)
    print()
    print(f"{'':34}{'median':>10}{'p95':>10}{'max':>10}")
    for label, values in (("four-tier chain quote", chain_times), ("one hop (catalog)", hop_times)):
        print(
            f"{label:34}{statistics.median(values) * 1000:>8.1f}ms"
            f"{_p95(values) * 1000:>8.1f}ms{max(values) * 1000:>8.1f}ms"
        )
    print(f"{'ratio chain / one hop (median)':34}{chain_median / hop_median:>9.1f}x")
    print()
    print(f"{'goal':38}{'measured':>10}{'goal':>8}  result")
    for label, value in (
        ("chain quote, median", chain_median),
        ("chain quote, p95", _p95(chain_times)),
    ):
        verdict = "PASS" if value < GOAL_SECONDS else "BELOW"
        print(f"{label:38}{value:>9.3f}s{GOAL_SECONDS:>7.1f}s  {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
