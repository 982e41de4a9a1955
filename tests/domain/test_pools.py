"""Demand pools: one price for all, and an outcome each member can check."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supplymesh.domain.errors import DomainError
from supplymesh.domain.pools import (
    Member,
    Pool,
    PoolClosed,
    PoolFull,
    PoolState,
    PoolTerms,
    QuantityOverLimit,
    Tier,
    check_outcome,
    commitment,
)
from supplymesh.protocol import merkle
from supplymesh.protocol.keys import SigningKeyPair

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
HOST = SigningKeyPair.from_seed(bytes(range(32)))


def terms(**changes: object) -> PoolTerms:
    base = PoolTerms(
        pool_id="pool-1",
        host_id="maker.example",
        item_id="sneaker-custom",
        spec=(("colour", "teal"), ("material", "leather")),
        currency="INR",
        tiers=(Tier(20, Decimal("3000")), Tier(50, Decimal("2600")), Tier(100, Decimal("2300"))),
        deadline=NOW + timedelta(days=7),
        max_per_member=10,
        max_total=200,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def member(i: int, quantity: int = 1, at: datetime = NOW) -> tuple[Member, bytes]:
    nonce = os.urandom(16)
    ref = f"tx-{i}"
    who = f"consumer{i}.example"
    return Member(who, ref, quantity, commitment("pool-1", ref, who, quantity, nonce), at), nonce


def filled_pool(count: int, quantity: int = 1) -> Pool:
    pool = Pool(terms())
    for i in range(count):
        pool = pool.join(member(i, quantity)[0])
    return pool


def test_everyone_pays_the_price_of_the_tier_the_total_reached() -> None:
    """55 units reach the 50-unit tier: every member, early or late, pays 2600."""
    pool = filled_pool(55).close(NOW + timedelta(days=7), HOST)
    assert pool.state is PoolState.FILLED
    assert pool.outcome is not None
    assert pool.outcome.unit_price == Decimal("2600")
    assert pool.outcome.member_count == 55


def test_below_the_minimum_batch_nobody_is_charged() -> None:
    """19 units: the pool fails and has no price."""
    pool = filled_pool(19).close(NOW + timedelta(days=7), HOST)
    assert pool.state is PoolState.FAILED
    assert pool.outcome is not None
    assert pool.outcome.unit_price is None


def test_joins_and_leaves_are_idempotent_and_closed_after_the_deadline() -> None:
    """The same join twice is one member; leaving twice is fine; after the deadline, refused."""
    first, _ = member(1, 2)
    pool = Pool(terms()).join(first).join(first)
    assert pool.total == 2
    pool = pool.leave("tx-1", NOW).leave("tx-1", NOW)
    assert pool.total == 0
    late, _ = member(2, 1, at=NOW + timedelta(days=8))
    with pytest.raises(PoolClosed):
        pool.join(late)
    with pytest.raises(DomainError):
        Pool(terms()).join(first).join(replace(first, quantity=3))


def test_limits_per_member_and_per_pool_are_enforced() -> None:
    """Over the per-member limit or past the pool's maximum: refused with a code."""
    with pytest.raises(QuantityOverLimit):
        Pool(terms()).join(member(1, 11)[0])
    pool = Pool(terms(max_total=25)).join(member(1, 10)[0]).join(member(2, 10)[0])
    with pytest.raises(PoolFull):
        pool.join(member(3, 10)[0])


def test_a_pool_that_says_so_closes_when_the_top_tier_is_reached() -> None:
    """close_when_top_tier: due as soon as the total reaches 100."""
    pool = Pool(terms(close_when_top_tier=True))
    for i in range(10):
        pool = pool.join(member(i, 10)[0])
    assert pool.due(NOW)
    assert not filled_pool(99).due(NOW)


def test_each_member_checks_its_inclusion_and_price() -> None:
    """An honest outcome raises no alarm for any member."""
    pool = Pool(terms())
    nonces = {}
    for i in range(30):
        joined, nonce = member(i, 2)
        nonces[joined.order_ref] = (joined, nonce)
        pool = pool.join(joined)
    closed = pool.close(NOW + timedelta(days=7), HOST)
    assert closed.outcome is not None
    signature = HOST.sign(closed.terms.signing_bytes())
    for ref, (joined, _) in nonces.items():
        alarms = check_outcome(
            closed.terms,
            terms_signature=signature,
            outcome=closed.outcome,
            host_key=HOST.signing_key.verify_key,
            own_commitment=joined.commitment,
            own_proof=closed.proof_for(ref),
            charged_unit_price=Decimal("2600"),
        )
        assert alarms == []


def test_a_host_that_overcharges_or_leaves_a_member_out_is_caught() -> None:
    """The overcharged member and the left-out member each raise an alarm."""
    pool = filled_pool(25)
    outsider, _ = member(99, 1)
    closed = pool.close(NOW + timedelta(days=7), HOST)
    assert closed.outcome is not None
    signature = HOST.sign(closed.terms.signing_bytes())
    ref = closed.members[0].order_ref
    overcharged = check_outcome(
        closed.terms,
        terms_signature=signature,
        outcome=closed.outcome,
        host_key=HOST.signing_key.verify_key,
        own_commitment=closed.members[0].commitment,
        own_proof=closed.proof_for(ref),
        charged_unit_price=Decimal("3100"),
    )
    assert any("charged 3100" in a for a in overcharged)
    left_out = check_outcome(
        closed.terms,
        terms_signature=signature,
        outcome=closed.outcome,
        host_key=HOST.signing_key.verify_key,
        own_commitment=outsider.commitment,
        own_proof=closed.proof_for(ref),
        charged_unit_price=Decimal("3000"),
    )
    assert any("left us out" in a for a in left_out)
    forged = replace(closed.outcome, unit_price=Decimal("2900"))
    alarms = check_outcome(
        closed.terms,
        terms_signature=signature,
        outcome=forged,
        host_key=HOST.signing_key.verify_key,
        own_commitment=closed.members[0].commitment,
        own_proof=closed.proof_for(ref),
        charged_unit_price=Decimal("2900"),
    )
    assert "the outcome is not signed by the host" in alarms


def test_tier_tables_must_be_sane() -> None:
    """Rising quantities, non-rising prices, aware deadline."""
    for bad in (
        {"tiers": ()},
        {"tiers": (Tier(50, Decimal(1)), Tier(20, Decimal(2)))},
        {"tiers": (Tier(20, Decimal(1)), Tier(50, Decimal(2)))},
        {"deadline": datetime(2026, 12, 1)},  # noqa: DTZ001 - the naive value is the point
    ):
        with pytest.raises(DomainError):
            terms(**bad)


@settings(max_examples=60)
@given(
    st.lists(st.binary(min_size=1, max_size=40), min_size=1, max_size=40, unique=True), st.data()
)
def test_every_leaf_proves_and_no_outsider_does(leaves: list[bytes], data: st.DataObject) -> None:
    """Merkle: each leaf's proof verifies against the root; a value not in the tree fails."""
    top = merkle.root(leaves)
    index = data.draw(st.integers(0, len(leaves) - 1))
    steps = merkle.proof(leaves, index)
    assert merkle.verify(leaves[index], steps, top)
    assert not merkle.verify(leaves[index] + b"x", steps, top)
