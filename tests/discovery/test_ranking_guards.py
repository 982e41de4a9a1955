"""No number a seller sends can spoil the ranking of the others' offers."""

from __future__ import annotations

import math
from decimal import Decimal

from supplymesh.domain.ranking import Criterion, Offer, rank

HUGE = Decimal("9" * 400)  # a valid wire DecimalValue; float() makes it inf


def offer(seller: str, price: Decimal, days: float | None = None) -> Offer:
    """A one-item offer."""
    return Offer(seller, "boot", "Boot", price, "INR", delivery_days=days)


def test_an_absurd_price_from_one_seller_leaves_every_other_score_a_number() -> None:
    """A 400-digit price counts as no price: the others keep finite scores and their order."""
    ranked = rank([offer("a", Decimal(100), 1), offer("b", Decimal(200), 2), offer("x", HUGE, 3)])

    assert all(math.isfinite(r.score) for r in ranked)
    assert [r.offer.seller_id for r in ranked] == ["a", "b", "x"]
    price = {r.offer.seller_id: r.parts[0] for r in ranked}
    assert price["x"].criterion is Criterion.PRICE
    assert price["x"].value is None
    assert price["x"].score == 0.0
    assert (price["a"].score, price["b"].score) == (1.0, 0.0)


def test_an_endless_lead_time_counts_as_none() -> None:
    """A lead time that overflows to inf scores 0 on delivery, and the others are unaffected."""
    weights = {Criterion.DELIVERY: 1.0}

    ranked = rank(
        [offer("a", Decimal(1), 2), offer("b", Decimal(1), 4), offer("x", Decimal(1), math.inf)],
        weights,
    )

    assert [(r.offer.seller_id, r.score) for r in ranked] == [("a", 1.0), ("b", 0.0), ("x", 0.0)]


def test_a_negative_price_cannot_buy_first_place() -> None:
    """A price below zero is no price: ranked on price alone the cheapest real offer leads."""
    ranked = rank(
        [offer("a", Decimal(100)), offer("b", Decimal(200)), offer("x", Decimal(-1))],
        {Criterion.PRICE: 1.0},
    )

    assert ranked[0].offer.seller_id == "a"
    assert ranked[0].score == 1.0
    assert all(r.score == 0.0 for r in ranked[1:])
