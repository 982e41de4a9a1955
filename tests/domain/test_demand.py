"""Whether a maker's item can be made to meet a consumer's demand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from supplymesh.domain.catalog import CatalogItem
from supplymesh.domain.demand import Demand, can_make, fits
from supplymesh.domain.errors import DomainError

TODAY = date(2026, 11, 26)
SNEAKER = CatalogItem(
    id="custom-sneaker",
    name="Custom leather sneaker",
    unit_price=Decimal("2800"),
    category="footwear",
    attributes={"colour": "*", "size": "38-46", "material": "leather|suede"},
    lead_time_days=12,
)


@pytest.mark.parametrize(
    ("offered", "wanted", "expected"),
    [
        ("*", "teal", True),
        ("38-46", "42", True),
        ("38-46", "47", False),
        ("38-46", "large", False),
        ("leather|suede", "Suede", True),
        ("leather|suede", "canvas", False),
        ("leather", "LEATHER", True),
    ],
)
def test_attribute_fits(offered: str, wanted: str, expected: bool) -> None:
    """Anything, options, numeric ranges and plain values."""
    assert fits(offered, wanted) is expected


def test_a_maker_answers_with_its_public_price_and_a_promise_date() -> None:
    """Spec fits, price under the ceiling: made to order, ready after the lead time."""
    wanted = Demand(
        "footwear", {"colour": "teal", "size": "42"}, 2, Decimal("3000"), date(2026, 12, 20)
    )
    offer = can_make(SNEAKER, wanted, TODAY)
    assert offer is not None
    assert offer.unit_price == Decimal("2800")
    assert offer.promise_date == date(2026, 12, 8)
    assert offer.in_time


def test_a_late_promise_is_still_shown_as_late() -> None:
    """Needed sooner than the maker can: the offer says so rather than vanishing."""
    offer = can_make(SNEAKER, Demand("footwear", {"size": "42"}, 1, None, date(2026, 12, 1)), TODAY)
    assert offer is not None
    assert not offer.in_time


def test_no_offer_when_the_spec_price_or_category_does_not_fit() -> None:
    """A size outside the range, an unknown attribute, a low ceiling, another category."""
    for wanted in (
        Demand("footwear", {"size": "47"}),
        Demand("footwear", {"heel": "high"}),
        Demand("footwear", {}, 1, Decimal("2000")),
        Demand("furniture", {}),
    ):
        assert can_make(SNEAKER, wanted, TODAY) is None


def test_a_demand_is_sane() -> None:
    """At least one unit; a ceiling is not negative."""
    with pytest.raises(DomainError):
        Demand("footwear", {}, 0)
    with pytest.raises(DomainError):
        Demand("footwear", {}, 1, Decimal(-1))
