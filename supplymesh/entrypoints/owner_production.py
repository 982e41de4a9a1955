"""The owner API for production: import a maker's data, see its plan's commitments, delay.

POST /owner/production                production data (JSON, see services.production_import)
GET  /owner/production                sales with promise dates, purchase orders, stock, load
POST /owner/orders/{id}/delay         a seller's order will be late  {"date": …, "reason": …}
POST /owner/orders/{id}/ready         a made-to-order sale's goods are finished (buyer told)
POST /owner/production/sourcing       keep a search's best offers as an item's suppliers
                                      {"item_id", "search": transaction, "take", "match",
                                       "first", "ask_quotes"}
"""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from supplymesh.adapters import production_store as store
from supplymesh.adapters import sales_store
from supplymesh.adapters.production_store import ProductionData
from supplymesh.domain.ranking import parse_gps
from supplymesh.entrypoints.node_app import Node
from supplymesh.entrypoints.owner_api import _body, _error, _json, _owner, node_weights
from supplymesh.services import chain_status, sourcing_discovery
from supplymesh.services.production_import import production_from_json


class DiscoveredRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    item_id: str
    search: str
    take: int = 3
    match: str | None = None
    first: bool = False
    ask_quotes: bool | None = None


class DelayRequest(msgspec.Struct, frozen=True):
    date: str
    reason: str = ""


async def _with_urls(node: Node, data: ProductionData) -> ProductionData:
    """Sourcing entries without a URL get the supplier's URL from the registries."""
    sources = []
    for source in data.sources:
        if source.url is None:
            url = await node.buyer.directory.url_of(source.supplier_id)
            if url is None:
                raise ValueError(
                    f"supplier {source.supplier_id} (for {source.item_id}) is on no registry "
                    "this node can reach; give its url in the sourcing rule"
                )
            sources.append(dataclasses.replace(source, url=url))
        else:
            sources.append(source)
    if data.shipping is not None:
        carriers = []
        for carrier_id, given in data.shipping.carriers:
            url = given or await node.buyer.directory.url_of(carrier_id)
            if url is None:
                raise ValueError(
                    f"carrier {carrier_id} is on no registry this node can reach; give its url"
                )
            carriers.append((carrier_id, url))
        shipping = dataclasses.replace(data.shipping, carriers=tuple(carriers))
        return dataclasses.replace(data, sources=tuple(sources), shipping=shipping)
    return dataclasses.replace(data, sources=tuple(sources))


async def production(node: Node, request: Request) -> Response:
    """POST: replace the production data; GET: what sales committed."""
    if request.method == "POST":
        data = await _with_urls(node, production_from_json(await request.body()))

        def save() -> None:
            with node.service.store.engine.begin() as connection:
                store.replace_master(connection, data)

        await run_in_threadpool(save)
    return _json(await run_in_threadpool(production_view, node))


def production_view(node: Node) -> dict[str, Any]:
    """Sales, purchase orders, stock and load, as JSON-ready values."""
    with node.service.store.engine.connect() as connection:
        sources = store.sources(connection)
        return {
            "items": len(store.structure(connection).items),
            "sales": [
                {
                    "transaction_id": s.transaction_id,
                    "order_id": s.order_id,
                    "item_id": s.item_id,
                    "quantity": str(s.quantity),
                    "promise_date": s.promise_date.isoformat(),
                    "critical_path": s.explanation,
                    "state": s.state,
                    "stage": s.stage,
                }
                for s in sales_store.sales(connection)
            ],
            "shipments": [
                {
                    "sale": sh.sale_tx,
                    "carrier_id": sh.carrier_id,
                    "transaction_id": sh.transaction_id,
                    "lane_id": sh.lane_id,
                    "packages": sh.packages,
                    "ready": sh.ready.isoformat(),
                    "pickup": sh.pickup.isoformat(),
                    "delivery": sh.delivery.isoformat(),
                    "price": str(sh.price),
                    "state": sh.state,
                }
                for sh in sales_store.shipments(connection)
            ],
            "purchase_orders": [
                {
                    "id": po.id,
                    "item_id": po.item_id,
                    "quantity": str(po.quantity),
                    "due": po.due.isoformat(),
                    "state": po.state,
                    "sale": po.sale_tx,
                    "supplier_id": po.supplier_id,
                    "transaction_id": po.transaction_id,
                    "note": po.note,
                }
                for po in sales_store.purchase_orders(connection)
            ],
            "sourcing": {
                item_id: [_source_view(src) for src in sources if src.item_id == item_id]
                for item_id in sorted({src.item_id for src in sources})
            },
            "stock": {
                item: {"on_hand": str(level.on_hand), "reserved": str(level.reserved)}
                for item, level in store.stock(connection).items()
            },
            "load": [
                {"work_center_id": c, "date": d.isoformat(), "hours": str(h)}
                for (c, d), h in store.ledger(connection).hours.items()
            ],
        }


async def delay(node: Node, request: Request) -> Response:
    """Tell the buyer of one of this node's orders that it will be late."""
    asked = _body(await request.body(), DelayRequest)
    try:
        new_date = date.fromisoformat(asked.date)
    except ValueError:
        return _error(f"date {asked.date!r} is not YYYY-MM-DD", 400)
    order = await run_in_threadpool(
        chain_status.report_delay,
        node.service,
        request.path_params["order_id"],
        new_date,
        asked.reason or "no reason given",
    )
    node.dispatcher.wake()
    return _json({"order_id": order.id, "new_date": new_date.isoformat()})


async def discovered_sources(node: Node, request: Request) -> Response:
    """Keep the best offers of a search this node ran as suppliers of one bought item."""
    asked = _body(await request.body(), DiscoveredRequest)
    found = await run_in_threadpool(
        sourcing_discovery.candidates,
        node.service,
        asked.search,
        node_weights(node),
        match=asked.match,
        take=asked.take,
        here=parse_gps(node.config.gps),
    )
    with_urls = [
        (entry, await node.buyer.directory.url_of(entry.offer.seller_id)) for entry in found
    ]

    def save() -> list[store.Source]:
        with node.service.store.engine.begin() as connection:
            return sourcing_discovery.keep(
                connection, asked.item_id, with_urls, first=asked.first, ask=asked.ask_quotes
            )

    kept = await run_in_threadpool(save)
    return _json({"item_id": asked.item_id, "suppliers": [_source_view(src) for src in kept]})


def _source_view(source: store.Source) -> dict[str, Any]:
    return {
        "rank": source.rank,
        "supplier_id": source.supplier_id,
        "supplier_item_id": source.supplier_item_id,
        "lead_time_days": source.lead_time_days,
        "unit_price": str(source.unit_price) if source.unit_price is not None else None,
        "url": source.url,
        "ask_quotes": source.ask,
    }


async def ready(node: Node, request: Request) -> Response:
    """A made-to-order sale's goods are finished: its buyer hears they are ready."""
    sale = await run_in_threadpool(
        chain_status.mark_ready, node.service, request.path_params["order_id"]
    )
    node.dispatcher.wake()
    return _json({"order_id": sale.order_id, "stage": sale.stage})


def routes(node: Node) -> list[Route]:
    """The production routes, each behind the owner token (before the generic order routes)."""
    return [
        Route("/owner/production", _owner(production, node), methods=["GET", "POST"]),
        Route("/owner/production/sourcing", _owner(discovered_sources, node), methods=["POST"]),
        Route("/owner/orders/{order_id}/delay", _owner(delay, node), methods=["POST"]),
        Route("/owner/orders/{order_id}/ready", _owner(ready, node), methods=["POST"]),
    ]
