"""A consumer's own demand (C2M), and whether a maker's item can be made to meet it.

A demand states what a person actually wants: a category, spec attributes (size, material,
colour…), a quantity, a price ceiling and a needed-by date. A maker's item can meet it when
every spec attribute fits what the item can be made in, its public unit price is within the
ceiling, and its lead time gives a promise date (reported either way, so the person sees a
later date rather than nothing).

An item states what it can be made in through its attributes: ``*`` (anything), options
``teal|navy|black``, a numeric range ``38-46``, or one value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from types import MappingProxyType

from supplymesh.domain.catalog import CatalogItem
from supplymesh.domain.errors import DomainError

_RANGE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*-\s*(-?\d+(?:\.\d+)?)\s*$")


@dataclass(frozen=True, slots=True)
class Demand:
    """What a consumer wants made."""

    category: str | None
    spec: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    quantity: int = 1
    price_ceiling: Decimal | None = None
    needed_by: date | None = None

    def __post_init__(self) -> None:
        if self.quantity < 1:
            raise DomainError("a demand is for at least one unit")
        if self.price_ceiling is not None and self.price_ceiling < 0:
            raise DomainError("a price ceiling cannot be negative")


@dataclass(frozen=True, slots=True)
class MadeToOrder:
    """A maker's answer to a demand: this item, at this price, ready on this date."""

    item: CatalogItem
    unit_price: Decimal
    promise_date: date
    in_time: bool


def fits(offered: str, wanted: str) -> bool:
    """True when an item made as ``offered`` can be made as ``wanted``."""
    offered, wanted = offered.strip(), wanted.strip()
    if offered == "*":
        return True
    if "|" in offered:
        return wanted.lower() in {o.strip().lower() for o in offered.split("|")}
    span = _RANGE.match(offered)
    if span is not None:
        try:
            value = float(wanted)
        except ValueError:
            return False
        return float(span.group(1)) <= value <= float(span.group(2))
    return offered.lower() == wanted.lower()


def can_make(item: CatalogItem, demand: Demand, today: date) -> MadeToOrder | None:
    """The made-to-order offer ``item`` makes for ``demand``, or None when it cannot meet it."""
    if demand.category is not None and item.category != demand.category:
        return None
    for name, wanted in demand.spec.items():
        offered = item.attributes.get(name)
        if offered is None or not fits(offered, wanted):
            return None
    if demand.price_ceiling is not None and item.unit_price > demand.price_ceiling:
        return None
    promise = today + timedelta(days=item.lead_time_days)
    in_time = demand.needed_by is None or promise <= demand.needed_by
    return MadeToOrder(item=item, unit_price=item.unit_price, promise_date=promise, in_time=in_time)
