"""The domain's error tree; each error carries the protocol code its NACK will use.

DomainError
├── IllegalTransition      an order cannot move from its state to the one asked
├── CancellationRefused    the order's cancellation terms forbid it now
├── UnknownItem            the catalog has no such item
└── InsufficientStock      not enough stock on hand to reserve
"""

from __future__ import annotations

from supplymesh.protocol.errors import ErrorCode


class DomainError(Exception):
    """A business rule refused an operation; ``code`` maps it onto the wire."""

    code: ErrorCode = ErrorCode.BUSINESS_ERROR

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class IllegalTransition(DomainError):
    """The order's state machine has no such edge."""

    code = ErrorCode.INVALID_ORDER_STATE


class CancellationRefused(DomainError):
    """Cancellation is not possible in the order's current state."""

    code = ErrorCode.CANCEL_NOT_POSSIBLE


class UnknownItem(DomainError):
    """No item with that id in the catalog."""

    code = ErrorCode.ITEM_NOT_FOUND


class InsufficientStock(DomainError):
    """Fewer units on hand than asked for."""

    code = ErrorCode.QUANTITY_UNAVAILABLE
