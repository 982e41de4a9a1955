"""Demand pools: one public, signed tier table; one final price for every member.

A pool is an offer by its host (usually the maker): an item and spec, a tier table (the
minimum batch and a unit price for each quantity tier), a deadline, and the promise date if it
fills. The tier table is fixed once the first member joins. At the deadline (or as soon as the
top tier is reached, if the terms say so) the pool closes: filled, every member pays the unit
price of the tier the **total** reached, early joiners included; not filled, nobody pays.

The outcome is provable. Each member's commitment is a hash of the pool id, its order, its
quantity and a secret nonce only that member knows; the host signs the outcome (tier, unit
price, total, member count and the Merkle root over all commitments), and each member checks
its own inclusion proof and its price against the signed tier table. Members learn the count,
never each other's identities.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

import msgspec
from nacl.signing import VerifyKey

from supplymesh.domain.errors import DomainError
from supplymesh.protocol import merkle
from supplymesh.protocol.errors import ErrorCode
from supplymesh.protocol.keys import SigningKeyPair, verify_signature

TERMS_DOMAIN = b"supplymesh.pool.terms.v1\n"
OUTCOME_DOMAIN = b"supplymesh.pool.outcome.v1\n"


class PoolClosed(DomainError):
    """The pool no longer takes joins or leaves (deadline passed, or it closed)."""

    code = ErrorCode.POLICY_ERROR


class PoolFull(DomainError):
    """The join would take the pool past its maximum total quantity."""

    code = ErrorCode.QUANTITY_UNAVAILABLE


class QuantityOverLimit(DomainError):
    """One member may not ask for this many."""

    code = ErrorCode.QUANTITY_UNAVAILABLE


class TermsFrozen(DomainError):
    """The tier table cannot change after the first member joined."""

    code = ErrorCode.POLICY_ERROR


@dataclass(frozen=True, slots=True)
class Tier:
    """From ``min_quantity`` units in total, every unit costs ``unit_price``."""

    min_quantity: int
    unit_price: Decimal


class _TermsWire(msgspec.Struct, frozen=True, kw_only=True):
    pool_id: str
    host_id: str
    item_id: str
    spec: dict[str, str]
    currency: str
    tiers: list[tuple[int, str]]
    deadline: str
    promise_date: str | None
    max_per_member: int
    max_total: int | None
    close_when_top_tier: bool


@dataclass(frozen=True, slots=True)
class PoolTerms:
    """What the host offers; signed, public, and fixed once anyone joined."""

    pool_id: str
    host_id: str
    item_id: str
    spec: tuple[tuple[str, str], ...]
    currency: str
    tiers: tuple[Tier, ...]
    deadline: datetime
    promise_date: str | None = None
    max_per_member: int = 1000
    max_total: int | None = None
    close_when_top_tier: bool = False

    def __post_init__(self) -> None:
        if not self.tiers:
            raise DomainError("a pool needs at least one tier (its minimum batch)")
        quantities = [t.min_quantity for t in self.tiers]
        prices = [t.unit_price for t in self.tiers]
        if quantities != sorted(set(quantities)) or quantities[0] < 1:
            raise DomainError("tiers must have distinct, rising minimum quantities from 1 up")
        if any(p < 0 for p in prices) or prices != sorted(prices, reverse=True):
            raise DomainError("a higher tier never costs more per unit")
        if self.deadline.tzinfo is None:
            raise DomainError("the deadline must be timezone-aware")
        if self.max_total is not None and self.max_total < quantities[0]:
            raise DomainError("the maximum total is below the minimum batch")

    @property
    def minimum(self) -> int:
        """The minimum batch: below it the pool fails."""
        return self.tiers[0].min_quantity

    def tier_for(self, total: int) -> Tier | None:
        """The tier a total reaches (None below the minimum batch)."""
        reached = [t for t in self.tiers if total >= t.min_quantity]
        return reached[-1] if reached else None

    def canonical(self) -> bytes:
        """The terms as canonical JSON (what travels, and what is signed after a label)."""
        wire = _TermsWire(
            pool_id=self.pool_id,
            host_id=self.host_id,
            item_id=self.item_id,
            spec=dict(self.spec),
            currency=self.currency,
            tiers=[(t.min_quantity, str(t.unit_price)) for t in self.tiers],
            deadline=self.deadline.isoformat(),
            promise_date=self.promise_date,
            max_per_member=self.max_per_member,
            max_total=self.max_total,
            close_when_top_tier=self.close_when_top_tier,
        )
        return msgspec.json.encode(wire, order="sorted")

    def signing_bytes(self) -> bytes:
        """The bytes the host signs: a domain label, then the canonical JSON."""
        return TERMS_DOMAIN + self.canonical()

    @classmethod
    def from_canonical(cls, data: bytes) -> PoolTerms:
        """Terms back from their canonical JSON; DomainError if they are not valid terms."""
        try:
            wire = msgspec.json.decode(data, type=_TermsWire)
            return cls(
                pool_id=wire.pool_id,
                host_id=wire.host_id,
                item_id=wire.item_id,
                spec=tuple(sorted(wire.spec.items())),
                currency=wire.currency,
                tiers=tuple(Tier(q, Decimal(p)) for q, p in wire.tiers),
                deadline=datetime.fromisoformat(wire.deadline),
                promise_date=wire.promise_date,
                max_per_member=wire.max_per_member,
                max_total=wire.max_total,
                close_when_top_tier=wire.close_when_top_tier,
            )
        except (msgspec.DecodeError, msgspec.ValidationError, ValueError, ArithmeticError) as exc:
            raise DomainError(f"not valid pool terms: {exc}") from None


def commitment(pool_id: str, order_ref: str, member_id: str, quantity: int, nonce: bytes) -> bytes:
    """A member's commitment: binds its order and quantity; opaque without the nonce."""
    data = "\x1f".join((pool_id, order_ref, member_id, str(quantity))).encode() + b"\x1f" + nonce
    return hashlib.blake2b(data, digest_size=32).digest()


@dataclass(frozen=True, slots=True)
class Member:
    """One member's conditional order in the pool."""

    member_id: str
    order_ref: str
    quantity: int
    commitment: bytes
    joined_at: datetime


class PoolState(enum.StrEnum):
    """Open, or closed one way or the other."""

    OPEN = "open"
    FILLED = "filled"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened, signed by the host; each member checks it."""

    pool_id: str
    state: PoolState
    total_quantity: int
    member_count: int
    tier_min_quantity: int | None
    unit_price: Decimal | None
    merkle_root: bytes
    closed_at: datetime
    signature: bytes = b""

    def canonical(self) -> bytes:
        """Canonical JSON of the outcome without its signature."""
        body = {
            "pool_id": self.pool_id,
            "state": self.state.value,
            "total_quantity": self.total_quantity,
            "member_count": self.member_count,
            "tier_min_quantity": self.tier_min_quantity,
            "unit_price": None if self.unit_price is None else str(self.unit_price),
            "merkle_root": self.merkle_root.hex(),
            "closed_at": self.closed_at.isoformat(),
        }
        return msgspec.json.encode(body, order="sorted")

    def signing_bytes(self) -> bytes:
        """The bytes the host signs."""
        return OUTCOME_DOMAIN + self.canonical()

    @classmethod
    def from_canonical(cls, data: bytes, signature: bytes) -> Outcome:
        """An outcome back from its canonical JSON and signature."""
        try:
            body = msgspec.json.decode(data, type=_OutcomeWire)
            return cls(
                pool_id=body.pool_id,
                state=PoolState(body.state),
                total_quantity=body.total_quantity,
                member_count=body.member_count,
                tier_min_quantity=body.tier_min_quantity,
                unit_price=Decimal(body.unit_price) if body.unit_price is not None else None,
                merkle_root=bytes.fromhex(body.merkle_root),
                closed_at=datetime.fromisoformat(body.closed_at),
                signature=signature,
            )
        except (msgspec.DecodeError, msgspec.ValidationError, ValueError, ArithmeticError) as exc:
            raise DomainError(f"not a valid pool outcome: {exc}") from None


class _OutcomeWire(msgspec.Struct, frozen=True, kw_only=True):
    pool_id: str
    state: str
    total_quantity: int
    member_count: int
    tier_min_quantity: int | None
    unit_price: str | None
    merkle_root: str
    closed_at: str


@dataclass(frozen=True, slots=True)
class Pool:
    """A pool's terms and members; every change returns a new pool."""

    terms: PoolTerms
    members: tuple[Member, ...] = ()
    state: PoolState = PoolState.OPEN
    outcome: Outcome | None = None

    @property
    def total(self) -> int:
        """Units asked for by all members."""
        return sum(m.quantity for m in self.members)

    def _open_at(self, at: datetime) -> None:
        check_open(self.terms, self.state, at)

    def join(self, member: Member) -> Pool:
        """Add a member; the same order again is a no-op, a changed one is refused."""
        existing = next((m for m in self.members if m.order_ref == member.order_ref), None)
        already = sum(m.quantity for m in self.members if m.member_id == member.member_id)
        if not admit(
            self.terms,
            state=self.state,
            total=self.total,
            already=already,
            existing=existing,
            member=member,
        ):
            return self
        return replace(self, members=(*self.members, member))

    def leave(self, order_ref: str, at: datetime) -> Pool:
        """Remove a member's order before the deadline; leaving twice is a no-op."""
        self._open_at(at)
        return replace(self, members=tuple(m for m in self.members if m.order_ref != order_ref))

    def due(self, now: datetime, total: int | None = None) -> bool:
        """True when the pool should close now (``total``: the units, if the members are not
        loaded)."""
        if self.state is not PoolState.OPEN:
            return False
        top = self.terms.tiers[-1].min_quantity
        units = self.total if total is None else total
        return now >= self.terms.deadline or (self.terms.close_when_top_tier and units >= top)

    def leaves(self) -> list[bytes]:
        """The commitments in the tree's order (sorted: the order reveals nothing)."""
        return sorted(m.commitment for m in self.members)

    def close(self, at: datetime, host_key: SigningKeyPair) -> Pool:
        """Close the pool: filled at the reached tier's price for all, or failed; signed."""
        if self.state is not PoolState.OPEN:
            return self
        tier = self.terms.tier_for(self.total)
        outcome = Outcome(
            pool_id=self.terms.pool_id,
            state=PoolState.FILLED if tier is not None else PoolState.FAILED,
            total_quantity=self.total,
            member_count=len(self.members),
            tier_min_quantity=tier.min_quantity if tier else None,
            unit_price=tier.unit_price if tier else None,
            merkle_root=merkle.root(self.leaves()),
            closed_at=at,
        )
        signed = replace(outcome, signature=host_key.sign(outcome.signing_bytes()))
        return replace(self, state=outcome.state, outcome=signed)

    def proof_for(self, order_ref: str) -> tuple[merkle.ProofStep, ...]:
        """A member's inclusion proof."""
        proofs = self.proofs()
        if order_ref not in proofs:
            raise DomainError(f"order {order_ref} is not in pool {self.terms.pool_id}")
        return proofs[order_ref]

    def proofs(self) -> dict[str, tuple[merkle.ProofStep, ...]]:
        """Every member's inclusion proof, from one tree."""
        leaves = self.leaves()
        all_proofs = merkle.proofs(leaves)
        where = {commitment: index for index, commitment in enumerate(leaves)}
        return {m.order_ref: all_proofs[where[m.commitment]] for m in self.members}


def check_open(terms: PoolTerms, state: PoolState, at: datetime) -> None:
    """Refuse a join or leave once the pool is closed or its deadline has come."""
    if state is not PoolState.OPEN:
        raise PoolClosed(f"pool {terms.pool_id} is {state.value}")
    if at >= terms.deadline:
        raise PoolClosed(f"pool {terms.pool_id} closed at {terms.deadline.isoformat()}")


def admit(
    terms: PoolTerms,
    *,
    state: PoolState,
    total: int,
    already: int,
    existing: Member | None,
    member: Member,
) -> bool:
    """May ``member`` join? False for an exact duplicate (a no-op); raises when refused.

    ``total`` is the pool's units so far, ``already`` this member's units in other orders,
    ``existing`` the order with the same reference, if any.
    """
    check_open(terms, state, member.joined_at)
    if existing is not None:
        if (existing.member_id, existing.quantity, existing.commitment) == (
            member.member_id,
            member.quantity,
            member.commitment,
        ):
            return False
        raise DomainError(f"order {member.order_ref} already joined with other terms; leave first")
    if member.quantity < 1 or already + member.quantity > terms.max_per_member:
        raise QuantityOverLimit(
            f"a member asks 1 to {terms.max_per_member} units in all; "
            f"{member.member_id} has {already} and asks {member.quantity} more"
        )
    if terms.max_total is not None and total + member.quantity > terms.max_total:
        raise PoolFull(f"pool {terms.pool_id} has room for {terms.max_total - total} more")
    return True


def check_outcome(
    terms: PoolTerms,
    *,
    terms_signature: bytes,
    outcome: Outcome,
    host_key: VerifyKey,
    own_commitment: bytes,
    own_proof: Sequence[merkle.ProofStep],
    charged_unit_price: Decimal | None,
) -> list[str]:
    """What a member's node finds wrong with the host's outcome (empty: all is well)."""
    alarms = []
    if not verify_signature(host_key, terms.signing_bytes(), terms_signature):
        alarms.append("the tier table is not signed by the host")
    if not verify_signature(host_key, outcome.signing_bytes(), outcome.signature):
        alarms.append("the outcome is not signed by the host")
    if outcome.pool_id != terms.pool_id:
        alarms.append("the outcome is for another pool")
    if not merkle.verify(own_commitment, own_proof, outcome.merkle_root):
        alarms.append("our order is not in the outcome's Merkle root: the host left us out")
    tier = terms.tier_for(outcome.total_quantity)
    expected = tier.unit_price if tier is not None else None
    if (outcome.state is PoolState.FILLED) != (tier is not None):
        alarms.append(
            f"the outcome says {outcome.state.value} but {outcome.total_quantity} units "
            f"{'reach' if tier else 'do not reach'} the minimum batch of {terms.minimum}"
        )
    if outcome.unit_price != expected:
        alarms.append(
            f"the outcome's unit price {outcome.unit_price} is not the tier table's "
            f"{expected} for {outcome.total_quantity} units"
        )
    if charged_unit_price != expected:
        alarms.append(
            f"we are charged {charged_unit_price} per unit, the signed tier price for "
            f"{outcome.total_quantity} units is {expected}"
        )
    return alarms
