"""An order's life: Created -> Accepted -> In-progress -> Completed, or Cancelled on the way.

States use ONDC's names (``Created``, ``Accepted``, ``In-progress``, ``Completed``,
``Cancelled``). An order is a frozen value: every change returns a new order with the change
appended to its history, so a service can persist old and new in one transaction and a replay
of the same request is recognisable. Cancellation follows the terms agreed in the quote: per
state, whether it is allowed and what fee (a share of the order value) it costs.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from supplymesh.domain.errors import CancellationRefused, IllegalTransition


class OrderState(enum.StrEnum):
    """Where an order is in its life."""

    CREATED = "Created"
    ACCEPTED = "Accepted"
    IN_PROGRESS = "In-progress"
    COMPLETED = "Completed"
    CANCELLED = "Cancelled"

    @property
    def is_final(self) -> bool:
        """True when nothing can happen to the order any more."""
        return self in (OrderState.COMPLETED, OrderState.CANCELLED)

    @property
    def following(self) -> OrderState | None:
        """The state an order moves forward to from this one (None from a final state)."""
        return _FORWARD.get(self)


_FORWARD: dict[OrderState, OrderState] = {
    OrderState.CREATED: OrderState.ACCEPTED,
    OrderState.ACCEPTED: OrderState.IN_PROGRESS,
    OrderState.IN_PROGRESS: OrderState.COMPLETED,
}


class Party(enum.StrEnum):
    """Who acted (Beckn's cancelled_by values)."""

    CONSUMER = "CONSUMER"
    PROVIDER = "PROVIDER"


@dataclass(frozen=True, slots=True)
class CancellationTerm:
    """In ``state``, may the order be cancelled, and for what share of its value."""

    state: OrderState
    allowed: bool = True
    fee_percent: Decimal = Decimal(0)
    reason_required: bool = False


DEFAULT_CANCELLATION_TERMS: tuple[CancellationTerm, ...] = (
    CancellationTerm(OrderState.CREATED),
    CancellationTerm(OrderState.ACCEPTED),
    CancellationTerm(OrderState.IN_PROGRESS, fee_percent=Decimal(20), reason_required=True),
)
"""Free before production starts; a 20 % fee once it has; never after completion."""


@dataclass(frozen=True, slots=True)
class OrderLine:
    """One item of an order at the price quoted."""

    item_id: str
    quantity: int
    unit_price: Decimal

    @property
    def amount(self) -> Decimal:
        """quantity x unit price."""
        return self.unit_price * self.quantity


@dataclass(frozen=True, slots=True)
class Change:
    """One step in an order's history."""

    state: OrderState
    at: datetime
    by: Party
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Order:
    """A confirmed order between a buyer and a seller."""

    id: str
    transaction_id: str
    buyer_id: str
    seller_id: str
    lines: tuple[OrderLine, ...]
    currency: str
    created_at: datetime
    state: OrderState = OrderState.CREATED
    history: tuple[Change, ...] = ()
    cancellation_terms: tuple[CancellationTerm, ...] = DEFAULT_CANCELLATION_TERMS
    cancellation_fee: Decimal | None = None
    extra_charges: Decimal = field(default=Decimal(0))

    @property
    def total(self) -> Decimal:
        """What the buyer pays: lines plus charges (delivery, taxes) agreed in the quote."""
        return sum((line.amount for line in self.lines), Decimal(0)) + self.extra_charges

    def advance(self, to: OrderState, at: datetime, by: Party = Party.PROVIDER) -> Order:
        """Move forward one step (Created -> Accepted -> In-progress -> Completed)."""
        if to is OrderState.CANCELLED:
            raise IllegalTransition("use cancel() to cancel an order")
        if _FORWARD.get(self.state) is not to:
            raise IllegalTransition(
                f"order {self.id} is {self.state.value}; it cannot become {to.value}"
                + (f" (next is {_FORWARD[self.state].value})" if self.state in _FORWARD else "")
            )
        return replace(self, state=to, history=(*self.history, Change(to, at, by)))

    def observe(self, state: OrderState, at: datetime, reason: str | None = None) -> Order:
        """The buyer's copy follows the seller's reported state: forward or cancelled, never back.

        Reports may skip steps (a status poll after two changes), but an order never returns
        to an earlier state, and a final state is final.
        """
        if state is self.state:
            return self
        order = list(OrderState)
        if self.state.is_final or (
            state is not OrderState.CANCELLED and order.index(state) < order.index(self.state)
        ):
            raise IllegalTransition(
                f"order {self.id} is {self.state.value}; a report of {state.value} cannot follow"
            )
        return replace(
            self, state=state, history=(*self.history, Change(state, at, Party.PROVIDER, reason))
        )

    def term_now(self) -> CancellationTerm | None:
        """The cancellation term for the order's current state, if any."""
        return next((t for t in self.cancellation_terms if t.state is self.state), None)

    def cancel(self, at: datetime, by: Party, reason: str | None = None) -> Order:
        """Cancel under the agreed terms; the fee is recorded on the order."""
        if self.state.is_final:
            raise CancellationRefused(
                f"order {self.id} is {self.state.value}; it cannot be cancelled"
            )
        term = self.term_now()
        if term is None or not term.allowed:
            raise CancellationRefused(
                f"the terms of order {self.id} allow no cancellation while {self.state.value}"
            )
        if term.reason_required and not reason:
            raise CancellationRefused(
                f"cancelling order {self.id} while {self.state.value} needs a reason"
            )
        fee = (self.total * term.fee_percent / 100).quantize(Decimal("0.01"), ROUND_HALF_UP)
        return replace(
            self,
            state=OrderState.CANCELLED,
            history=(*self.history, Change(OrderState.CANCELLED, at, by, reason)),
            cancellation_fee=fee,
        )
