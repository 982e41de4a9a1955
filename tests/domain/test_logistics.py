"""Carrier lanes: pickup calendars, daily capacity, lane choice and the errors a quote can raise."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supplymesh.domain.errors import DomainError
from supplymesh.domain.logistics import (
    NO_BOOKINGS,
    Bookings,
    InvalidLane,
    Lane,
    NoCapacity,
    NotServiceable,
    ShipmentQuote,
    ShipmentRequest,
    book,
    earliest_pickup,
    quote_shipment,
)
from supplymesh.protocol.errors import ErrorCode

BLR, DEL, BOM = "std:080", "std:011", "std:022"
SATURDAY = date(2026, 11, 28)
SUNDAY, MONDAY, TUESDAY = (SATURDAY + timedelta(days=n) for n in (1, 2, 3))
WEEKDAYS = frozenset(range(5))


def lane(lane_id: str = "L1", **changes: object) -> Lane:
    fields: dict[str, object] = {
        "id": lane_id,
        "origin": BLR,
        "destination": DEL,
        "transit_days": 2,
        "capacity_per_day": 10,
        "base_price": D("50.00"),
        "package_price": D("12.50"),
        "pickup_weekdays": WEEKDAYS,
    }
    fields.update(changes)
    return Lane(**fields)  # type: ignore[arg-type]


def request(packages: int = 1, ready: date = SATURDAY, **changes: object) -> ShipmentRequest:
    fields: dict[str, object] = {
        "origin": BLR,
        "destination": DEL,
        "ready": ready,
        "packages": packages,
    }
    fields.update(changes)
    return ShipmentRequest(**fields)  # type: ignore[arg-type]


def test_the_fixed_dates_fall_on_the_weekdays_the_tests_assume() -> None:
    """28 Nov 2026 is a Saturday, so the next Monday is 30 Nov and Tuesday 1 Dec."""
    assert SATURDAY.weekday() == 5
    assert SUNDAY.weekday() == 6
    assert (MONDAY, MONDAY.weekday()) == (date(2026, 11, 30), 0)
    assert (TUESDAY, TUESDAY.weekday()) == (date(2026, 12, 1), 1)


def test_goods_ready_on_a_saturday_are_picked_up_on_monday() -> None:
    """A Mon-Fri lane skips the weekend; delivery = pickup + transit; price = base + per package."""
    quote = quote_shipment([lane()], request(packages=3))
    assert quote == ShipmentQuote(
        lane_id="L1",
        packages=3,
        pickup=MONDAY,
        delivery=date(2026, 12, 2),
        price=D("87.50"),
        currency="INR",
    )
    assert quote.explanation == (
        "shipping 3 packages on lane L1: pickup 2026-11-30, delivery 2026-12-02"
    )


def test_a_holiday_moves_the_pickup_to_the_next_pickup_day() -> None:
    """With Monday a holiday, the Saturday-ready shipment goes on Tuesday and arrives Thursday."""
    holiday_lane = lane(holidays=frozenset({MONDAY}), transit_days=2)
    assert not holiday_lane.picks_up_on(MONDAY)
    assert holiday_lane.picks_up_on(TUESDAY)
    quote = quote_shipment([holiday_lane], request(packages=1))
    assert (quote.pickup, quote.delivery) == (TUESDAY, date(2026, 12, 3))
    assert quote.delivery.weekday() == 3


def test_a_pickup_day_that_is_ready_day_is_used_the_same_day() -> None:
    """Ready on a pickup day with room: pickup that very day; zero transit delivers it too."""
    same_day = lane(transit_days=0)
    quote = quote_shipment([same_day], request(ready=TUESDAY))
    assert (quote.pickup, quote.delivery) == (TUESDAY, TUESDAY)


def test_price_is_quantized_to_cents_half_up() -> None:
    """0.005 per package on 1 package rounds half up to one cent; the sum is exact to cents."""
    assert lane(base_price=D(0), package_price=D("0.005")).price(1) == D("0.01")
    assert lane(base_price=D("10"), package_price=D("0.333")).price(3) == D("11.00")
    assert lane(base_price=D("10"), package_price=D("0.333")).price(3).as_tuple().exponent == -2


def test_a_second_shipment_that_overflows_the_day_moves_to_the_next_pickup_day() -> None:
    """6 then 5 packages on a 10-a-day lane: the first takes Monday, the second Tuesday."""
    lanes = [lane(capacity_per_day=10)]
    first = quote_shipment(lanes, request(packages=6))
    assert first.pickup == MONDAY
    bookings = book(NO_BOOKINGS, first)
    assert dict(bookings) == {("L1", MONDAY): 6}
    second = quote_shipment(lanes, request(packages=5), bookings)
    assert (second.pickup, second.delivery) == (TUESDAY, date(2026, 12, 3))
    fits = quote_shipment(lanes, request(packages=4), bookings)
    assert fits.pickup == MONDAY


def test_book_adds_up_and_leaves_the_old_bookings_alone() -> None:
    """Booking twice on the same lane and day sums; the earlier mapping is unchanged."""
    quote = quote_shipment([lane()], request(packages=4))
    once = book(NO_BOOKINGS, quote)
    twice = book(once, quote)
    assert dict(NO_BOOKINGS) == {}
    assert dict(once) == {("L1", MONDAY): 4}
    assert dict(twice) == {("L1", MONDAY): 8}
    assert earliest_pickup(lane(), 3, SATURDAY, twice) == TUESDAY


def test_the_lane_that_delivers_first_wins_even_if_dearer() -> None:
    """An express lane at 3x the price beats a cheaper one that arrives a day later."""
    slow = lane("SLOW", transit_days=3, base_price=D(10), package_price=D(1))
    fast = lane("FAST", transit_days=2, base_price=D(30), package_price=D(3))
    quote = quote_shipment([slow, fast], request(packages=2))
    assert (quote.lane_id, quote.delivery, quote.price) == ("FAST", date(2026, 12, 2), D("36.00"))


def test_a_lane_picking_up_on_sunday_can_deliver_first_despite_longer_transit() -> None:
    """Sunday pickup + 2 days (Tue) beats Monday pickup + 2 days (Wed)."""
    weekend = lane("WEEKEND", pickup_weekdays=frozenset({6}), base_price=D(99))
    weekday = lane("WEEKDAY", base_price=D(1))
    quote = quote_shipment([weekday, weekend], request())
    assert (quote.lane_id, quote.pickup, quote.delivery) == ("WEEKEND", SUNDAY, TUESDAY)


def test_on_equal_delivery_the_cheaper_lane_wins_then_the_smaller_id() -> None:
    """Same delivery day: price decides; same price too: the lane id decides, whatever the order."""
    dear = lane("A", base_price=D(60))
    cheap = lane("B", base_price=D(40))
    assert quote_shipment([dear, cheap], request()).lane_id == "B"
    assert quote_shipment([cheap, dear], request()).lane_id == "B"
    twin_a, twin_b = lane("A"), lane("B")
    assert quote_shipment([twin_b, twin_a], request()).lane_id == "A"
    assert quote_shipment([twin_a, twin_b], request()).lane_id == "A"


def test_lanes_of_other_routes_are_ignored() -> None:
    """A faster lane BLR→BOM or DEL→BLR plays no part in a BLR→DEL quote."""
    lanes = [
        lane("OTHER", destination=BOM, transit_days=0),
        lane("BACK", origin=DEL, destination=BLR, transit_days=0),
        lane("MINE", transit_days=5),
    ]
    assert quote_shipment(lanes, request()).lane_id == "MINE"


def test_a_route_without_lanes_is_not_serviceable() -> None:
    """No lane BLR→BOM: NotServiceable naming both cities, code NOT_SERVICEABLE."""
    with pytest.raises(NotServiceable) as caught:
        quote_shipment([lane(), lane("X", origin=BOM, destination=BLR)], request(destination=BOM))
    assert BLR in caught.value.message
    assert BOM in caught.value.message
    assert caught.value.code is ErrorCode.NOT_SERVICEABLE
    assert isinstance(caught.value, DomainError)
    with pytest.raises(NotServiceable):
        quote_shipment([], request())


def test_a_shipment_larger_than_every_lane_names_the_largest_capacity() -> None:
    """12 packages over lanes of 5 and 8 a day: NoCapacity naming 8, code NO_CARRIER_CAPACITY."""
    lanes = [lane("S", capacity_per_day=5), lane("M", capacity_per_day=8)]
    with pytest.raises(NoCapacity) as caught:
        quote_shipment(lanes, request(packages=12))
    assert "(8)" in caught.value.message
    assert "12 packages" in caught.value.message
    assert caught.value.code is ErrorCode.NO_CARRIER_CAPACITY
    assert earliest_pickup(lanes[1], 9, SATURDAY, NO_BOOKINGS) is None


def test_a_lane_fully_booked_within_the_horizon_has_no_capacity() -> None:
    """Every pickup day in the horizon full: NoCapacity; one day past it, there is room."""
    horizon = 10
    bookings: Bookings = NO_BOOKINGS
    lanes = [lane(capacity_per_day=3)]
    # Ten days from Saturday 28 Nov (to Monday 7 Dec) hold six Mon-Fri days; fill each one.
    pickups = []
    for _ in range(6):
        quote = quote_shipment(lanes, request(packages=3), bookings, horizon_days=horizon)
        pickups.append(quote.pickup)
        bookings = book(bookings, quote)
    assert pickups == [MONDAY + timedelta(days=n) for n in (0, 1, 2, 3, 4, 7)]
    with pytest.raises(NoCapacity) as caught:
        quote_shipment(lanes, request(packages=1), bookings, horizon_days=horizon)
    assert "within 10 days" in caught.value.message
    assert caught.value.code is ErrorCode.NO_CARRIER_CAPACITY
    later = quote_shipment(lanes, request(packages=1), bookings, horizon_days=horizon + 5)
    assert later.pickup == date(2026, 12, 8)


@pytest.mark.parametrize(
    "changes",
    [
        {"transit_days": -1},
        {"capacity_per_day": 0},
        {"capacity_per_day": -3},
        {"base_price": D("-0.01")},
        {"package_price": D("-1")},
        {"pickup_weekdays": frozenset()},
        {"pickup_weekdays": frozenset({0, 7})},
        {"pickup_weekdays": frozenset({-1})},
        {"origin": ""},
        {"destination": ""},
    ],
)
def test_unusable_lane_data_is_refused(changes: dict[str, Any]) -> None:
    """Negative transit or price, no capacity, bad weekdays or a missing city: InvalidLane."""
    with pytest.raises(InvalidLane) as caught:
        lane(**changes)
    assert isinstance(caught.value, DomainError)


def test_a_lane_without_id_is_refused() -> None:
    """An empty id cannot key bookings."""
    with pytest.raises(InvalidLane):
        lane("")


def test_a_shipment_needs_at_least_one_package() -> None:
    """Zero or negative packages: a DomainError at construction."""
    for packages in (0, -1):
        with pytest.raises(DomainError, match="at least one package"):
            request(packages=packages)


# --- properties -------------------------------------------------------------------------------

BASE = date(2026, 11, 1)
HORIZON = 60


@st.composite
def route_lanes(draw: st.DrawFn) -> list[Lane]:
    count = draw(st.integers(1, 3))
    lanes = []
    for i in range(count):
        holidays = draw(
            st.frozensets(st.integers(0, 40).map(lambda n: BASE + timedelta(days=n)), max_size=6)
        )
        lanes.append(
            Lane(
                id=f"L{i}",
                origin=BLR,
                destination=DEL,
                transit_days=draw(st.integers(0, 10)),
                capacity_per_day=draw(st.integers(1, 20)),
                base_price=D(draw(st.integers(0, 5000))) / 100,
                package_price=D(draw(st.integers(0, 999))) / 1000,
                pickup_weekdays=draw(st.frozensets(st.integers(0, 6), min_size=1)),
                holidays=holidays,
            )
        )
    return lanes


requests = st.lists(
    st.builds(
        ShipmentRequest,
        origin=st.just(BLR),
        destination=st.just(DEL),
        ready=st.integers(0, 30).map(lambda n: BASE + timedelta(days=n)),
        packages=st.integers(1, 25),
    ),
    max_size=30,
)


def brute_force_best(
    lanes: list[Lane], req: ShipmentRequest, bookings: Bookings, horizon: int
) -> tuple[date, D, str] | None:
    """The (delivery, price, lane id) of the best quote, by trying every lane and day."""
    candidates = []
    for candidate in lanes:
        for offset in range(horizon):
            day = req.ready + timedelta(days=offset)
            room = candidate.capacity_per_day - bookings.get((candidate.id, day), 0)
            if candidate.picks_up_on(day) and req.packages <= room:
                delivery = day + timedelta(days=candidate.transit_days)
                candidates.append((delivery, candidate.price(req.packages), candidate.id))
                break
    return min(candidates) if candidates else None


@settings(max_examples=200, deadline=None)
@given(route_lanes(), requests, st.integers(1, HORIZON))
def test_booking_quote_after_quote_keeps_every_promise(
    lanes: list[Lane], reqs: list[ShipmentRequest], horizon: int
) -> None:
    """Each quote is on a pickup day ≥ ready, delivers after the lane's transit, never overbooks,
    is deterministic and optimal; NoCapacity comes only when no lane has room in the horizon."""
    by_id = {candidate.id: candidate for candidate in lanes}
    bookings: Bookings = NO_BOOKINGS
    for req in reqs:
        expected = brute_force_best(lanes, req, bookings, horizon)
        if expected is None:
            with pytest.raises(NoCapacity) as refused:
                quote_shipment(lanes, req, bookings, horizon_days=horizon)
            assert refused.value.code is ErrorCode.NO_CARRIER_CAPACITY
            largest = max(candidate.capacity_per_day for candidate in lanes)
            assert (f"({largest})" in refused.value.message) == (req.packages > largest)
            continue
        quote = quote_shipment(lanes, req, bookings, horizon_days=horizon)
        chosen = by_id[quote.lane_id]
        assert req.ready <= quote.pickup < req.ready + timedelta(days=horizon)
        assert chosen.picks_up_on(quote.pickup)
        assert quote.pickup.weekday() in chosen.pickup_weekdays
        assert quote.pickup not in chosen.holidays
        assert quote.delivery == quote.pickup + timedelta(days=chosen.transit_days)
        assert quote.packages == req.packages
        assert quote.price == chosen.price(req.packages)
        assert expected == (quote.delivery, quote.price, quote.lane_id)
        assert quote_shipment(lanes, req, bookings, horizon_days=horizon) == quote
        assert quote_shipment(list(reversed(lanes)), req, bookings, horizon_days=horizon) == quote
        bookings = book(bookings, quote)
        for (lane_id, _day), booked in bookings.items():
            assert booked <= by_id[lane_id].capacity_per_day
