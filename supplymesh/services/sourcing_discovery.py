"""Sourcing rules found through discovery: a maker searches the network as any buyer does,
and keeps the best offers, ranked by its own weights, as the suppliers of a bought item.

The search is an ordinary one (``POST /owner/search``); its offers are ranked from the maker's
own inbox (:mod:`supplymesh.services.offers`). Taking them into the rule keeps one entry per
seller, in rank order, with the offered item as the supplier's item id, its promised lead
time, its public price and the seller's URL from the registries. They go before or after the
suppliers the rule already has; a supplier already in it is not added twice.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

from sqlalchemy.engine import Connection

from supplymesh.adapters import production_store as store
from supplymesh.adapters.production_store import Source
from supplymesh.domain.bom import Procurement
from supplymesh.domain.errors import DomainError, UnknownItem
from supplymesh.domain.ranking import Criterion, Ranked
from supplymesh.services.node import NodeService
from supplymesh.services.offers import ranked_offers


class NothingDiscovered(DomainError):
    """The search brought no offer that can supply the item."""


def candidates(
    node: NodeService,
    transaction_id: str,
    weights: Mapping[Criterion, float],
    *,
    match: str | None,
    take: int,
    here: tuple[float, float] | None = None,
) -> list[Ranked]:
    """The best offer of each seller in a search, best first, at most ``take`` sellers;
    ``match`` (case-insensitive) must appear in the offered item's id or name."""
    if take <= 0:
        raise DomainError(f"take at least one supplier, not {take}")
    chosen: list[Ranked] = []
    sellers: set[str] = set()
    for entry in ranked_offers(node.store, transaction_id, weights, None, here):
        offer = entry.offer
        wanted = match is None or match.lower() in f"{offer.item_id} {offer.name}".lower()
        if (
            wanted
            and offer.seller_id not in sellers
            and offer.seller_id != node.identity.subscriber_id
        ):
            sellers.add(offer.seller_id)
            chosen.append(entry)
        if len(chosen) == take:
            break
    return chosen


def keep(
    connection: Connection,
    item_id: str,
    found: list[tuple[Ranked, str | None]],
    *,
    first: bool,
    ask: bool | None = None,
) -> list[Source]:
    """Put the found suppliers (each with its URL) in ``item_id``'s rule; the rule as kept."""
    item = store.structure(connection).items.get(item_id)
    if item is None:
        raise UnknownItem(f"no item {item_id!r} in the production data")
    if item.procurement is not Procurement.BUY:
        raise DomainError(f"item {item_id} is made here, not bought; it has no suppliers")
    if not found:
        raise NothingDiscovered(f"the search brought no offer to supply {item_id}")
    current = [src for src in store.sources(connection) if src.item_id == item_id]
    asking = ask if ask is not None else any(src.ask for src in current)
    known = {src.supplier_id for src in current}
    new = [
        Source(
            item_id=item_id,
            rank=0,
            supplier_id=entry.offer.seller_id,
            supplier_item_id=entry.offer.item_id,
            lead_time_days=math.ceil(entry.offer.delivery_days or 0),
            unit_price=entry.offer.unit_price,
            url=url,
            ask=asking,
        )
        for entry, url in found
        if entry.offer.seller_id not in known
    ]
    kept = [dataclasses.replace(src, ask=asking) for src in current]
    ranked = [*new, *kept] if first else [*kept, *new]
    store.set_sources(connection, item_id, ranked)
    return [dataclasses.replace(src, rank=rank) for rank, src in enumerate(ranked)]
