"""The offers a search brought back, read from the buyer's own inbox and ranked by its weights.

Every ``on_search`` of the transaction counts, including those that came after the search's
ttl (marked late, merged in); sellers that have not answered yet are shown from the buyer's
catalog cache (kept fresh by incremental pulls), marked as such. Promised delivery comes from
an item's ``time.duration`` (lead time), distance from the provider's location GPS and the
buyer's own, rating from the ratings this buyer itself gave the seller before; a seller's
self-reported rating is ignored, so no seller can buy a place.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec

from supplymesh.adapters import catalog_cache
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
from supplymesh.protocol.messages import OnSearchMessage, RatingMessage, SearchMessage
from supplymesh.protocol.schema import Intent, Item, Provider


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


def _search_intent(store: NodeStore, transaction_id: str) -> Intent | None:
    for message in store.outgoing(transaction_id):
        if message.action == Action.SEARCH.value:
            env = decode(message.body)
            if isinstance(env.message, SearchMessage):
                return env.message.intent
    return None


def _wanted_by(intent: Intent | None, item: Item) -> bool:
    """The buyer's own reading of its search, applied to a cached item."""
    if intent is None:
        return True
    name = (item.descriptor.name if item.descriptor else None) or ""
    words = [
        d.name.lower()
        for d in (intent.descriptor, intent.item.descriptor if intent.item else None)
        if d is not None and d.name
    ]
    if any(word not in name.lower() for word in words):
        return False
    category = intent.category.id if intent.category else None
    return not category or category in (item.category_ids or ())


def _offer(
    seller: str,
    item: Item,
    provider: Provider | None,
    here: tuple[float, float] | None,
    ratings: Mapping[str, float],
    *,
    late: bool = False,
    from_cache: bool = False,
) -> Offer | None:
    if item.id is None or item.price is None or item.price.value is None:
        return None
    try:
        price = Decimal(item.price.value)
    except InvalidOperation:
        return None
    return Offer(
        seller_id=seller,
        item_id=item.id,
        name=(item.descriptor.name or item.id) if item.descriptor else item.id,
        unit_price=price,
        currency=item.price.currency or "",
        delivery_days=_delivery_days(item),
        distance_km=_distance(provider, here) if provider is not None else None,
        rating=ratings.get(seller),
        attributes=_attributes(item),
        late=late,
        from_cache=from_cache,
    )


def cached_offers(
    store: NodeStore,
    transaction_id: str,
    answered: set[str],
    here: tuple[float, float] | None,
    ratings: Mapping[str, float],
) -> list[Offer]:
    """Offers from the catalog cache for sellers that have not answered this search live yet."""
    intent = _search_intent(store, transaction_id)
    if intent is None:
        return []
    with store.engine.connect() as connection:
        rows = catalog_cache.cached(connection)
    offers = []
    for seller, body, _fetched in rows:
        if seller in answered:
            continue
        try:
            item = msgspec.convert(body, Item)
        except msgspec.ValidationError:
            continue
        if _wanted_by(intent, item):
            offer = _offer(seller, item, None, here, ratings, from_cache=True)
            if offer is not None:
                offers.append(offer)
    return offers


def offers_in(
    store: NodeStore, transaction_id: str, here: tuple[float, float] | None
) -> list[Offer]:
    """The transaction's live on_search offers, and cached ones from sellers not yet heard."""
    ratings = own_ratings(store)
    offers: list[Offer] = []
    answered: set[str] = set()
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
        answered.add(seller)
        for provider in env.message.catalog.all_providers:
            for item in provider.items or ():
                offer = _offer(seller, item, provider, here, ratings, late=bool(row["late"]))
                if offer is not None:
                    offers.append(offer)
    offers.extend(cached_offers(store, transaction_id, answered, here, ratings))
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
            "source": "cache" if r.offer.from_cache else "live",
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
