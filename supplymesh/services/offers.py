"""The offers a search brought back, read from the buyer's own inbox and ranked by its weights.

Every ``on_search`` of the transaction counts, including those that came after the search's
ttl (marked late, merged in). Promised delivery comes from an item's ``time.duration`` (lead
time), distance from the provider's location GPS and the buyer's own, rating from the ratings
this buyer itself gave the seller before; a seller's self-reported rating is ignored, so no
seller can buy a place.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from supplymesh.adapters.node_store import NodeStore
from supplymesh.domain.ranking import (
    Criterion,
    Offer,
    Ranked,
    distance_km,
    parse_gps,
    rank,
)
from supplymesh.protocol.actions import Action
from supplymesh.protocol.context import duration_seconds
from supplymesh.protocol.envelope import decode
from supplymesh.protocol.errors import ProtocolError
from supplymesh.protocol.messages import OnSearchMessage, RatingMessage
from supplymesh.protocol.schema import Item, Provider


def _attributes(item: Item) -> dict[str, str]:
    found: dict[str, str] = {}
    for group in item.tags or ():
        for tag in group.entries or ():
            if tag.key and tag.value is not None:
                found[tag.key] = tag.value
    return found


def _delivery_days(item: Item) -> float | None:
    if item.time is None or item.time.duration is None:
        return None
    try:
        return duration_seconds(item.time.duration) / 86400
    except ValueError:
        return None


def _distance(provider: Provider, here: tuple[float, float] | None) -> float | None:
    if here is None:
        return None
    for location in provider.locations or ():
        there = parse_gps(location.gps)
        if there is not None:
            return distance_km(here, there)
    return None


def own_ratings(store: NodeStore) -> dict[str, float]:
    """The mean rating this node gave each seller (from the rating messages it sent)."""
    given: dict[str, list[int]] = defaultdict(list)
    for message in store.outgoing(limit=10_000):
        if message.action != Action.RATING.value:
            continue
        env = decode(message.body)
        if isinstance(env.message, RatingMessage):
            for rating in env.message.ratings or ():
                if rating.value and rating.value.isdigit():
                    given[message.peer_id].append(int(rating.value))
    return {seller: sum(values) / len(values) for seller, values in given.items()}


def offers_in(
    store: NodeStore, transaction_id: str, here: tuple[float, float] | None
) -> list[Offer]:
    """Every item offered in the transaction's on_search answers."""
    ratings = own_ratings(store)
    offers: list[Offer] = []
    for row in store.incoming(transaction_id):
        if row["action"] != Action.ON_SEARCH.value:
            continue
        try:
            env = decode(row["body"].encode())
        except ProtocolError:
            continue  # it was verified and stored; a body we cannot read offers nothing
        if not isinstance(env.message, OnSearchMessage):
            continue
        seller = row["sender"]
        for provider in env.message.catalog.all_providers:
            for item in provider.items or ():
                if item.id is None or item.price is None or item.price.value is None:
                    continue
                try:
                    price = Decimal(item.price.value)
                except InvalidOperation:
                    continue
                offers.append(
                    Offer(
                        seller_id=seller,
                        item_id=item.id,
                        name=item.descriptor.name or item.id if item.descriptor else item.id,
                        unit_price=price,
                        currency=item.price.currency or "",
                        delivery_days=_delivery_days(item),
                        distance_km=_distance(provider, here),
                        rating=ratings.get(seller),
                        attributes=_attributes(item),
                        late=bool(row["late"]),
                    )
                )
    return offers


def ranked_offers(
    store: NodeStore,
    transaction_id: str,
    weights: Mapping[Criterion, float],
    wanted: Mapping[str, str] | None = None,
    here: tuple[float, float] | None = None,
) -> list[Ranked]:
    """The transaction's offers, best first by the buyer's weights."""
    return rank(offers_in(store, transaction_id, here), weights, wanted)


def ranked_view(entries: list[Ranked]) -> list[dict[str, Any]]:
    """Ranked offers as JSON values, each with its breakdown."""
    return [
        {
            "rank": r.rank,
            "score": round(r.score, 6),
            "seller": r.offer.seller_id,
            "item_id": r.offer.item_id,
            "name": r.offer.name,
            "unit_price": str(r.offer.unit_price),
            "currency": r.offer.currency,
            "delivery_days": r.offer.delivery_days,
            "distance_km": r.offer.distance_km,
            "rating": r.offer.rating,
            "attributes": dict(r.offer.attributes),
            "late": r.offer.late,
            "breakdown": {
                p.criterion.value: {
                    "value": p.value,
                    "score": round(p.score, 6),
                    "weight": p.weight,
                    "contribution": round(p.contribution, 6),
                }
                for p in r.parts
            },
        }
        for r in entries
    ]
