"""The order state machine and its cancellation terms."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from supplymesh.domain.errors import CancellationRefused, IllegalTransition
from supplymesh.domain.orders import (
    CancellationTerm,
    Order,
    OrderLine,
    OrderState,
    Party,
)
from supplymesh.protocol.errors import ErrorCode

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def an_order(**changes: object) -> Order:
    order = Order(
        id="o-1",
        transaction_id="t-1",
        buyer_id="shop.example",
        seller_id="maker.example",
        lines=(OrderLine("sneaker-42", 10, Decimal("2499.00")),),
        currency="INR",
        created_at=NOW,
        extra_charges=Decimal("150.00"),
    )
    return replace(order, **changes)  # type: ignore[arg-type]


def test_an_order_moves_forward_one_step_at_a_time_to_completed() -> None:
    """Created -> Accepted -> In-progress -> Completed, each step in the history."""
    order = an_order()
    for state in (OrderState.ACCEPTED, OrderState.IN_PROGRESS, OrderState.COMPLETED):
        order = order.advance(state, NOW)
    assert order.state is OrderState.COMPLETED
    assert [c.state for c in order.history] == [
        OrderState.ACCEPTED,
        OrderState.IN_PROGRESS,
        OrderState.COMPLETED,
    ]
    assert order.total == Decimal("25140.00")


@given(st.lists(st.sampled_from(list(OrderState)), max_size=8))
def test_only_the_next_forward_step_is_ever_accepted(steps: list[OrderState]) -> None:
    """Any other target raises IllegalTransition with the invalid-order-state code."""
    order = an_order()
    following = {
        OrderState.CREATED: OrderState.ACCEPTED,
        OrderState.ACCEPTED: OrderState.IN_PROGRESS,
        OrderState.IN_PROGRESS: OrderState.COMPLETED,
    }
    for step in steps:
        if following.get(order.state) is step:
            order = order.advance(step, NOW)
        else:
            with pytest.raises(IllegalTransition) as caught:
                order.advance(step, NOW)
            assert caught.value.code is ErrorCode.INVALID_ORDER_STATE


def test_confirming_twice_is_refused() -> None:
    """Accepting an accepted order is an illegal transition, and the order is unchanged."""
    order = an_order().advance(OrderState.ACCEPTED, NOW)
    with pytest.raises(IllegalTransition, match="Accepted"):
        order.advance(OrderState.ACCEPTED, NOW)
    assert order.state is OrderState.ACCEPTED


def test_cancelling_before_production_is_free() -> None:
    """The default terms charge nothing while Created or Accepted."""
    order = an_order().advance(OrderState.ACCEPTED, NOW).cancel(NOW, Party.CONSUMER)
    assert order.state is OrderState.CANCELLED
    assert order.cancellation_fee == Decimal("0.00")


def test_cancelling_in_production_costs_the_agreed_fee_and_needs_a_reason() -> None:
    """In-progress: 20 % of the order value, and a reason is required."""
    order = an_order().advance(OrderState.ACCEPTED, NOW).advance(OrderState.IN_PROGRESS, NOW)
    with pytest.raises(CancellationRefused, match="reason"):
        order.cancel(NOW, Party.CONSUMER)
    cancelled = order.cancel(NOW, Party.CONSUMER, "changed my mind")
    assert cancelled.cancellation_fee == Decimal("5028.00")
    assert cancelled.history[-1].reason == "changed my mind"


def test_a_completed_or_cancelled_order_cannot_be_cancelled() -> None:
    """Final states refuse cancellation with the cancel-not-possible code."""
    done = an_order()
    for state in (OrderState.ACCEPTED, OrderState.IN_PROGRESS, OrderState.COMPLETED):
        done = done.advance(state, NOW)
    for final in (done, an_order().cancel(NOW, Party.PROVIDER)):
        with pytest.raises(CancellationRefused) as caught:
            final.cancel(NOW, Party.CONSUMER, "why not")
        assert caught.value.code is ErrorCode.CANCEL_NOT_POSSIBLE


def test_terms_can_forbid_cancellation_in_a_state() -> None:
    """A term with allowed=False refuses, naming the state."""
    order = an_order(cancellation_terms=(CancellationTerm(OrderState.CREATED, allowed=False),))
    with pytest.raises(CancellationRefused, match="Created"):
        order.cancel(NOW, Party.CONSUMER)


def test_advance_refuses_to_cancel() -> None:
    """Cancellation goes through cancel(), which applies the terms."""
    with pytest.raises(IllegalTransition):
        an_order().advance(OrderState.CANCELLED, NOW)
