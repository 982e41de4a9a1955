"""Catalog stock and quotes."""

from __future__ import annotations

import contextlib
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from supplymesh.domain.catalog import CatalogItem, build_quote
from supplymesh.domain.errors import DomainError, InsufficientStock, UnknownItem
from supplymesh.protocol.errors import ErrorCode


def sneaker(**changes: object) -> CatalogItem:
    base: dict[str, object] = {
        "id": "sneaker-42",
        "name": "Leather sneaker, size 42",
        "unit_price": Decimal("2499.00"),
        "on_hand": 100,
    }
    return CatalogItem(**{**base, **changes})  # type: ignore[arg-type]


@given(st.lists(st.tuples(st.sampled_from(["reserve", "release", "ship"]), st.integers(-3, 40))))
def test_stock_never_goes_negative_or_over_reserved(ops: list[tuple[str, int]]) -> None:
    """Whatever is asked, 0 <= reserved <= on_hand holds; refused steps change nothing."""
    item = sneaker()
    for op, quantity in ops:
        with contextlib.suppress(DomainError):
            item = getattr(item, op)(quantity)
        assert 0 <= item.reserved <= item.on_hand
        assert item.available == item.on_hand - item.reserved


def test_reserving_more_than_available_is_quantity_unavailable() -> None:
    """InsufficientStock carries Beckn's 40002."""
    with pytest.raises(InsufficientStock) as caught:
        sneaker(on_hand=5).reserve(6)
    assert caught.value.code is ErrorCode.QUANTITY_UNAVAILABLE


def test_a_quote_prices_the_selection_at_public_prices_with_charges() -> None:
    """Lines at unit price x quantity, then delivery and tax on the subtotal."""
    items = {
        "sneaker-42": sneaker(),
        "laces": sneaker(id="laces", name="Laces", unit_price=Decimal("19.90")),
    }
    quote = build_quote(
        items,
        [("sneaker-42", 2), ("laces", 3)],
        delivery_charge=Decimal("150"),
        tax_percent=Decimal("12"),
    )
    assert [line.amount for line in quote.lines] == [
        Decimal("4998.00"),
        Decimal("59.70"),
        Decimal("150.00"),
        Decimal("606.92"),
    ]
    assert quote.total == Decimal("5814.62")


def test_quoting_an_unknown_item_or_too_many_is_refused() -> None:
    """Unknown ids and quantities beyond stock raise typed errors."""
    with pytest.raises(UnknownItem):
        build_quote({"sneaker-42": sneaker()}, [("boot", 1)])
    with pytest.raises(InsufficientStock):
        build_quote({"sneaker-42": sneaker(on_hand=1)}, [("sneaker-42", 2)])
    with pytest.raises(DomainError):
        build_quote({"sneaker-42": sneaker()}, [])
