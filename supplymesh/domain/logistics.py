"""A carrier's lanes, the shipments booked on them, and the pickup and delivery it can promise.

A lane carries packages from one city to another (city codes, e.g. ``std:080``): it picks up on
its pickup days, at most ``capacity_per_day`` packages a day, and delivers ``transit_days``
calendar days later, for a base price per shipment plus a price per package. A shipment is
picked up whole on one day. :func:`quote_shipment` finds, over every lane of the route, the
earliest pickup day on or after the goods are ready whose free capacity takes the shipment, and
picks the lane that delivers first (then the cheaper, then by id: the same inputs always give
the same answer).

Errors: :class:`InvalidLane` for lane data that cannot be used, :class:`NotServiceable` for a
route no lane serves, :class:`NoCapacity` when no lane has room within the horizon.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from types import MappingProxyType

from supplymesh.domain.errors import DomainError
from supplymesh.protocol.errors import ErrorCode

LOGISTICS_DOMAINS = frozenset({"nic2004:60232", "ONDC:LOG10", "ONDC:LOG11"})
"""The domain codes ONDC uses for logistics: 1.x, then P2P and P2H2P."""
LOGISTICS_DOMAIN = "nic2004:60232"
HORIZON_DAYS = 366
CENT = Decimal("0.01")
ZERO = Decimal(0)

Bookings = Mapping[tuple[str, date], int]
"""Packages already booked per (lane id, pickup day)."""
NO_BOOKINGS: Bookings = MappingProxyType({})


class InvalidLane(DomainError):
    """Lane data that cannot be quoted from."""


class NotServiceable(DomainError):
    """No lane runs from the origin to the destination."""

    code = ErrorCode.NOT_SERVICEABLE


class NoCapacity(DomainError):
    """Lanes exist, but none can take the shipment within the horizon."""

    code = ErrorCode.NO_CARRIER_CAPACITY


@dataclass(frozen=True, slots=True)
class Lane:
    """A route a carrier serves, its calendar, capacity, transit time and tariff."""

    id: str
    origin: str
    destination: str
    transit_days: int
    capacity_per_day: int
    base_price: Decimal = ZERO
    package_price: Decimal = ZERO
    currency: str = "INR"
    pickup_weekdays: frozenset[int] = frozenset(range(7))
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        if not self.id or not self.origin or not self.destination:
            raise InvalidLane("a lane needs an id, an origin and a destination")
        if self.transit_days < 0:
            raise InvalidLane(f"lane {self.id}: transit days cannot be negative")
        if self.capacity_per_day <= 0:
            raise InvalidLane(f"lane {self.id}: capacity per day must be above 0")
        if self.base_price < 0 or self.package_price < 0:
            raise InvalidLane(f"lane {self.id}: prices cannot be negative")
        if not self.pickup_weekdays or not self.pickup_weekdays <= frozenset(range(7)):
            raise InvalidLane(f"lane {self.id}: pickup weekdays must be a non-empty subset of 0..6")

    def picks_up_on(self, day: date) -> bool:
        """Whether the lane collects on ``day``."""
        return day.weekday() in self.pickup_weekdays and day not in self.holidays

    def price(self, packages: int) -> Decimal:
        """The tariff for a shipment of ``packages``."""
        return (self.base_price + self.package_price * packages).quantize(CENT, ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class ShipmentRequest:
    """Carry ``packages`` from ``origin`` to ``destination``, ready for pickup on ``ready``."""

    origin: str
    destination: str
    ready: date
    packages: int

    def __post_init__(self) -> None:
        if self.packages <= 0:
            raise DomainError(f"a shipment needs at least one package, got {self.packages}")


@dataclass(frozen=True, slots=True)
class ShipmentQuote:
    """What a lane promises for a shipment: pickup and delivery days, and the price."""

    lane_id: str
    packages: int
    pickup: date
    delivery: date
    price: Decimal
    currency: str

    @property
    def explanation(self) -> str:
        """One line: lane, pickup, delivery."""
        return (
            f"shipping {self.packages} packages on lane {self.lane_id}: pickup {self.pickup}, "
            f"delivery {self.delivery}"
        )


def earliest_pickup(
    lane: Lane, packages: int, ready: date, bookings: Bookings, horizon_days: int = HORIZON_DAYS
) -> date | None:
    """The first day on or after ``ready`` the lane collects and has room, within the horizon."""
    if packages > lane.capacity_per_day:
        return None
    for offset in range(horizon_days):
        day = ready + timedelta(days=offset)
        if lane.picks_up_on(day) and (
            bookings.get((lane.id, day), 0) + packages <= lane.capacity_per_day
        ):
            return day
    return None


def quote_shipment(
    lanes: Iterable[Lane],
    request: ShipmentRequest,
    bookings: Bookings = NO_BOOKINGS,
    horizon_days: int = HORIZON_DAYS,
) -> ShipmentQuote:
    """The best lane's pickup, delivery and price for ``request``: earliest delivery first."""
    route = [
        lane
        for lane in lanes
        if lane.origin == request.origin and lane.destination == request.destination
    ]
    if not route:
        raise NotServiceable(f"no lane from {request.origin} to {request.destination}")
    quotes = []
    for lane in route:
        pickup = earliest_pickup(lane, request.packages, request.ready, bookings, horizon_days)
        if pickup is not None:
            quotes.append(
                ShipmentQuote(
                    lane_id=lane.id,
                    packages=request.packages,
                    pickup=pickup,
                    delivery=pickup + timedelta(days=lane.transit_days),
                    price=lane.price(request.packages),
                    currency=lane.currency,
                )
            )
    if not quotes:
        largest = max(lane.capacity_per_day for lane in route)
        if request.packages > largest:
            raise NoCapacity(
                f"{request.packages} packages exceed the largest daily capacity ({largest}) "
                f"from {request.origin} to {request.destination}"
            )
        raise NoCapacity(
            f"no lane from {request.origin} to {request.destination} has room for "
            f"{request.packages} packages within {horizon_days} days of {request.ready}"
        )
    return min(quotes, key=lambda q: (q.delivery, q.price, q.lane_id))


def book(bookings: Bookings, quote: ShipmentQuote) -> Bookings:
    """The bookings with ``quote``'s shipment added on its lane and pickup day."""
    key = (quote.lane_id, quote.pickup)
    updated = dict(bookings)
    updated[key] = updated.get(key, 0) + quote.packages
    return MappingProxyType(updated)
