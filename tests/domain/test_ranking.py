"""Ranking offers by the buyer's weights."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from supplymesh.domain.ranking import (
    Criterion,
    Offer,
    WeightsError,
    distance_km,
    parse_gps,
    parse_weights,
    rank,
)


def offer(
    seller: str, price: str, days: float | None = None, km: float | None = None, **attrs: str
) -> Offer:
    return Offer(
        seller_id=seller,
        item_id="sneaker-42",
        name="Leather sneaker",
        unit_price=Decimal(price),
        currency="INR",
        delivery_days=days,
        distance_km=km,
        attributes=attrs,
    )


def test_hand_computed_order_for_price_heavy_weights() -> None:
    """Cheap-but-slow beats dear-but-fast when price weighs 0.8 and delivery 0.2."""
    offers = [
        offer("fast", "3000", days=2),
        offer("cheap", "2000", days=10),
        offer("mid", "2500", days=6),
    ]
    weights = {Criterion.PRICE: 0.8, Criterion.DELIVERY: 0.2}
    ranked = rank(offers, weights)
    # cheap: 0.8*1 + 0.2*0 = 0.8; mid: 0.8*0.5 + 0.2*0.5 = 0.5; fast: 0.8*0 + 0.2*1 = 0.2
    assert [r.offer.seller_id for r in ranked] == ["cheap", "mid", "fast"]
    assert [round(r.score, 6) for r in ranked] == [0.8, 0.5, 0.2]


def test_hand_computed_order_for_delivery_heavy_weights() -> None:
    """The same offers reverse when delivery weighs 0.8."""
    offers = [
        offer("fast", "3000", days=2),
        offer("cheap", "2000", days=10),
        offer("mid", "2500", days=6),
    ]
    ranked = rank(offers, {Criterion.PRICE: 0.2, Criterion.DELIVERY: 0.8})
    assert [r.offer.seller_id for r in ranked] == ["fast", "mid", "cheap"]


def test_every_ranked_offer_explains_its_score() -> None:
    """The parts add up to the score, one part per criterion, with value, score and weight."""
    ranked = rank(
        [offer("a", "10", days=1, km=5, material="leather"), offer("b", "12", days=3, km=1)],
        parse_weights("price=1,delivery=1,distance=1,rating=0,attributes=1"),
        wanted={"material": "leather"},
    )
    for entry in ranked:
        assert {p.criterion for p in entry.parts} == set(Criterion)
        assert sum(p.contribution for p in entry.parts) == pytest.approx(entry.score)
    top = ranked[0]
    assert top.offer.seller_id == "a"
    attributes = next(p for p in top.parts if p.criterion is Criterion.ATTRIBUTES)
    assert attributes.value == 1.0


def test_an_offer_that_does_not_state_a_criterion_scores_zero_on_it() -> None:
    """No promised delivery date is no delivery score."""
    ranked = rank([offer("silent", "10"), offer("promises", "10", days=5)], {Criterion.DELIVERY: 1})
    assert [r.offer.seller_id for r in ranked] == ["promises", "silent"]


offers_strategy = st.lists(
    st.builds(
        offer,
        seller=st.text("abcdef", min_size=1, max_size=4),
        price=st.integers(1, 10_000).map(str),
        days=st.one_of(st.none(), st.integers(0, 60).map(float)),
        km=st.one_of(st.none(), st.floats(0, 2000)),
    ),
    min_size=2,
    max_size=8,
)
weight = st.floats(0.01, 10)


@given(
    offers_strategy,
    st.sampled_from([Criterion.PRICE, Criterion.DELIVERY, Criterion.DISTANCE]),
    st.fixed_dictionaries(dict.fromkeys(Criterion, weight)),
    st.floats(1.0, 50.0),
)
def test_raising_a_weight_never_puts_the_better_offer_below_an_otherwise_equal_worse_one(
    offers: list[Offer], criterion: Criterion, weights: dict[Criterion, float], factor: float
) -> None:
    """A is better than B on one criterion and equal on the rest: A stays above B."""
    base = offers[0]
    better_value = {"price": Decimal(1), "delivery": 0.0, "distance": 0.0}
    worse_value = {"price": Decimal(99_999), "delivery": 999.0, "distance": 99_999.0}
    field_name = {
        Criterion.PRICE: "unit_price",
        Criterion.DELIVERY: "delivery_days",
        Criterion.DISTANCE: "distance_km",
    }[criterion]
    a = replace(base, seller_id="A", **{field_name: better_value[criterion.value]})
    b = replace(base, seller_id="B", **{field_name: worse_value[criterion.value]})
    pool = [*offers[1:], a, b]
    raised = {**weights, criterion: weights[criterion] * factor}
    for w in (weights, raised):
        order = [r.offer.seller_id for r in rank(pool, w)]
        assert order.index("A") < order.index("B")


def test_weights_parse_and_refuse_nonsense() -> None:
    """Known criteria with finite, non-negative numbers; not all zero."""
    assert parse_weights("price=0.5, delivery=0.3")[Criterion.PRICE] == 0.5
    for bad in (
        "colour=1",
        "price=abc",
        "price=-1",
        "price=nan",
        "price=0,delivery=0,distance=0,rating=0,attributes=0",
    ):
        with pytest.raises(WeightsError):
            parse_weights(bad)


def test_distance_and_gps() -> None:
    """Bengaluru to Chennai is about 290 km; bad GPS strings are None."""
    assert distance_km((12.9716, 77.5946), (13.0827, 80.2707)) == pytest.approx(290, abs=5)
    assert parse_gps("12.97, 77.59") == (12.97, 77.59)
    for bad in (None, "", "x,y", "91,0", "1,2,3"):
        assert parse_gps(bad) is None
