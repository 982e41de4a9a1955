"""``/metrics`` in Prometheus' text format: messages in and out, outbox depth, latency."""

from __future__ import annotations

from collections import Counter

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from supplymesh.adapters.node_store import Delivery, NodeStore


class Metrics:
    """Counters kept in memory; outbox figures read from the store at scrape time."""

    def __init__(self, store: NodeStore) -> None:
        self.store = store
        self.incoming_total: Counter[tuple[str, str]] = Counter()
        self.handling_seconds = 0.0
        self.handled = 0

    def incoming(self, action: str, result: str, seconds: float | None = None) -> None:
        """Count one incoming message by action and result (ack, duplicate, late, nack)."""
        self.incoming_total[(action, result)] += 1
        if seconds is not None:
            self.handling_seconds += seconds
            self.handled += 1

    def render(self) -> str:
        """The exposition text."""
        stats = self.store.delivery_stats()
        lines = [
            "# HELP supplymesh_messages_in_total Beckn messages received, by action and result.",
            "# TYPE supplymesh_messages_in_total counter",
        ]
        for (action, result), count in sorted(self.incoming_total.items()):
            lines.append(
                f'supplymesh_messages_in_total{{action="{action}",result="{result}"}} {count}'
            )
        lines += [
            "# HELP supplymesh_inbox_seconds Time to verify, store and ACK accepted messages.",
            "# TYPE supplymesh_inbox_seconds summary",
            f"supplymesh_inbox_seconds_sum {self.handling_seconds:.6f}",
            f"supplymesh_inbox_seconds_count {self.handled}",
            "# HELP supplymesh_outbox_messages Outgoing messages by delivery state.",
            "# TYPE supplymesh_outbox_messages gauge",
        ]
        for state in Delivery:
            lines.append(
                f'supplymesh_outbox_messages{{state="{state.value}"}} '
                f"{stats['by_state'].get(state.value, 0)}"
            )
        lines += [
            "# HELP supplymesh_delivery_seconds Time from queued to ACKed.",
            "# TYPE supplymesh_delivery_seconds summary",
            f"supplymesh_delivery_seconds_sum {stats['latency_sum']:.6f}",
            f"supplymesh_delivery_seconds_count {stats['delivered']}",
        ]
        return "\n".join(lines) + "\n"

    async def endpoint(self, _request: Request) -> Response:
        """GET /metrics."""
        text = await run_in_threadpool(self.render)
        return Response(text, media_type="text/plain; version=0.0.4")
