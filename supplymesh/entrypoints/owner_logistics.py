"""The owner API for a carrier: its lanes and the shipments booked on them.

POST /owner/logistics     replace the lanes (JSON, see services.lanes_import)
GET  /owner/logistics     lanes and bookings
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from supplymesh.adapters import logistics_store
from supplymesh.entrypoints.node_app import Node
from supplymesh.entrypoints.owner_api import _json, _owner
from supplymesh.services.lanes_import import lanes_from_json


async def logistics(node: Node, request: Request) -> Response:
    """POST: replace the lanes; GET: lanes and bookings."""
    if request.method == "POST":
        lanes = lanes_from_json(await request.body())

        def save() -> None:
            with node.service.store.engine.begin() as connection:
                logistics_store.replace_lanes(connection, lanes)

        await run_in_threadpool(save)
    return _json(await run_in_threadpool(logistics_view, node))


def logistics_view(node: Node) -> dict[str, Any]:
    """Lanes and bookings, as JSON-ready values."""
    with node.service.store.engine.connect() as connection:
        return {
            "lanes": [
                {
                    "id": lane.id,
                    "origin": lane.origin,
                    "destination": lane.destination,
                    "transit_days": lane.transit_days,
                    "capacity_per_day": lane.capacity_per_day,
                    "base_price": str(lane.base_price),
                    "package_price": str(lane.package_price),
                    "currency": lane.currency,
                }
                for lane in logistics_store.lanes(connection)
            ],
            "bookings": [
                {
                    "transaction_id": b.transaction_id,
                    "order_id": b.order_id,
                    "lane_id": b.lane_id,
                    "pickup": b.pickup.isoformat(),
                    "delivery": b.delivery.isoformat(),
                    "packages": b.packages,
                    "state": b.state,
                }
                for b in logistics_store.bookings(connection)
            ],
        }


def routes(node: Node) -> list[Route]:
    """The carrier's routes, behind the owner token."""
    return [Route("/owner/logistics", _owner(logistics, node), methods=["GET", "POST"])]
