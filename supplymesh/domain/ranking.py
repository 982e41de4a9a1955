"""Ranking offers by the buyer's own weights, with every score explained.

The buyer's node ranks; nothing a seller sends can buy a place. Each criterion is scored in
[0, 1] against the other offers of the same search (min-max: the best offer on a criterion
scores 1, the worst 0; all equal scores 1); an offer that does not state a criterion scores 0
on it, and so does one stating a value off any scale (infinite, or a negative amount). The
total is the weighted mean of the criterion scores, and ties are broken by price, then by
seller and item id, so the same offers and weights always give the same order.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType

from supplymesh.domain.demand import fits


class Criterion(enum.StrEnum):
    """What an offer is scored on."""

    PRICE = "price"
    DELIVERY = "delivery"
    DISTANCE = "distance"
    RATING = "rating"
    ATTRIBUTES = "attributes"


DEFAULT_WEIGHTS: Mapping[Criterion, float] = MappingProxyType(
    {
        Criterion.PRICE: 0.4,
        Criterion.DELIVERY: 0.25,
        Criterion.DISTANCE: 0.1,
        Criterion.RATING: 0.1,
        Criterion.ATTRIBUTES: 0.15,
    }
)

_LOWER_IS_BETTER = {Criterion.PRICE, Criterion.DELIVERY, Criterion.DISTANCE}


class WeightsError(ValueError):
    """Weights that cannot rank: unknown criteria, negative or all zero."""


def parse_weights(
    text: str, base: Mapping[Criterion, float] = DEFAULT_WEIGHTS
) -> dict[Criterion, float]:
    """``price=0.5,delivery=0.3`` over ``base``; criteria not named keep their base weight."""
    weights = dict(base)
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, value = part.partition("=")
        try:
            criterion = Criterion(name.strip().lower())
        except ValueError:
            known = ", ".join(c.value for c in Criterion)
            raise WeightsError(f"unknown criterion {name.strip()!r}; use {known}") from None
        try:
            weight = float(value)
        except ValueError:
            raise WeightsError(
                f"weight of {criterion.value} must be a number, got {value!r}"
            ) from None
        if not math.isfinite(weight) or weight < 0:
            raise WeightsError(f"weight of {criterion.value} must be a finite number >= 0")
        weights[criterion] = weight
    if sum(weights.values()) <= 0:
        raise WeightsError("at least one weight must be above 0")
    return weights


@dataclass(frozen=True, slots=True)
class Offer:
    """One item one seller offers, as the buyer's node understood its on_search."""

    seller_id: str
    item_id: str
    name: str
    unit_price: Decimal
    currency: str
    delivery_days: float | None = None
    distance_km: float | None = None
    rating: float | None = None
    attributes: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    late: bool = False
    from_cache: bool = False


@dataclass(frozen=True, slots=True)
class Part:
    """One criterion's share of an offer's score."""

    criterion: Criterion
    value: float | None
    score: float
    weight: float
    contribution: float


@dataclass(frozen=True, slots=True)
class Ranked:
    """An offer, its place and why."""

    rank: int
    offer: Offer
    score: float
    parts: tuple[Part, ...]


def _raw(offer: Offer, criterion: Criterion, wanted: Mapping[str, str]) -> float | None:
    value: float | None
    if criterion is Criterion.PRICE:
        value = float(offer.unit_price)
    elif criterion is Criterion.DELIVERY:
        value = offer.delivery_days
    elif criterion is Criterion.DISTANCE:
        value = offer.distance_km
    elif criterion is Criterion.RATING:
        value = offer.rating
    else:
        return _matched(offer, wanted)
    # A seller's absurd number (a 400-digit price is a valid DecimalValue, and becomes inf as a
    # float; a negative price) would stretch or break the min-max scale, turning every offer's
    # score into NaN: it counts as not stated instead, and spoils no one else's score.
    if value is None or not math.isfinite(value) or value < 0:
        return None
    return value


def _matched(offer: Offer, wanted: Mapping[str, str]) -> float | None:
    if not wanted:
        return None
    matched = sum(
        1 for k, v in wanted.items() if k in offer.attributes and fits(offer.attributes[k], v)
    )
    return matched / len(wanted)


def rank(
    offers: Sequence[Offer],
    weights: Mapping[Criterion, float] = DEFAULT_WEIGHTS,
    wanted: Mapping[str, str] | None = None,
) -> list[Ranked]:
    """The offers, best first, each with its score breakdown."""
    wanted = wanted or {}
    total_weight = sum(max(w, 0.0) for w in weights.values())
    if total_weight <= 0:
        raise WeightsError("at least one weight must be above 0")
    raw = {c: [_raw(o, c, wanted) for o in offers] for c in Criterion}
    bounds: dict[Criterion, tuple[float, float]] = {}
    for criterion, values in raw.items():
        present = [v for v in values if v is not None]
        if present:
            bounds[criterion] = (min(present), max(present))
    scored: list[tuple[float, Offer, tuple[Part, ...]]] = []
    for index, offer in enumerate(offers):
        parts = []
        for criterion in Criterion:
            weight = max(weights.get(criterion, 0.0), 0.0)
            value = raw[criterion][index]
            score = 0.0
            if value is not None:
                low, high = bounds[criterion]
                if high == low:
                    score = 1.0
                elif criterion in _LOWER_IS_BETTER:
                    score = (high - value) / (high - low)
                else:
                    score = (value - low) / (high - low)
            parts.append(Part(criterion, value, score, weight, weight * score / total_weight))
        scored.append((sum(p.contribution for p in parts), offer, tuple(parts)))
    scored.sort(key=lambda s: (-s[0], s[1].unit_price, s[1].seller_id, s[1].item_id))
    return [
        Ranked(rank=place, offer=offer, score=score, parts=parts)
        for place, (score, offer, parts) in enumerate(scored, start=1)
    ]


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (latitude, longitude) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


def parse_gps(text: str | None) -> tuple[float, float] | None:
    """Beckn's ``"lat,lng"`` (a space after the comma allowed); None if absent or invalid."""
    if not text:
        return None
    try:
        lat, lng = (float(p) for p in text.split(","))
    except ValueError:
        return None
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        return None
    return lat, lng
