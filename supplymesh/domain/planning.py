"""What a plan takes and what it gives: demands, stock, open orders, sourcing; orders, promises.

:func:`supplymesh.domain.mrp.plan` turns a :class:`PlanInputs` into a :class:`Plan`. Every value
here is frozen; quantities and hours are Decimals in the item's unit, dates are passed in.

Errors: :class:`InvalidPlanInput` (a :class:`~supplymesh.domain.errors.DomainError`, code
``BUSINESS_ERROR``) for a demand, stock level, open order or sourcing rule that cannot be planned.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from types import MappingProxyType

from supplymesh.domain.bom import ProductStructure
from supplymesh.domain.capacity import EMPTY_LEDGER, LoadLedger, Moment, WorkCenter
from supplymesh.domain.errors import DomainError

ZERO = Decimal(0)


class InvalidPlanInput(DomainError):
    """A demand, stock level, open order or sourcing rule that cannot be planned."""


class SupplyKind(enum.StrEnum):
    """Where a quantity comes from."""

    STOCK = "stock"
    RECEIPT = "open-order"
    PURCHASE = "planned-purchase"
    PRODUCTION = "planned-production"


@dataclass(frozen=True, slots=True)
class Demand:
    """A quantity of an item someone wants, as soon as possible; lower priority goes first."""

    id: str
    item_id: str
    quantity: Decimal
    priority: int = 0

    def __post_init__(self) -> None:
        if self.quantity <= 0:
            raise InvalidPlanInput(f"demand {self.id}: the quantity must be above 0")


@dataclass(frozen=True, slots=True)
class StockLevel:
    """An item's stock: on hand, of which some is reserved for orders already confirmed."""

    on_hand: Decimal = ZERO
    reserved: Decimal = ZERO

    def __post_init__(self) -> None:
        if not ZERO <= self.reserved <= self.on_hand:
            raise InvalidPlanInput(
                f"reserved ({self.reserved}) must be within 0..on hand ({self.on_hand})"
            )

    @property
    def available(self) -> Decimal:
        """What can still be planned: on hand - reserved."""
        return self.on_hand - self.reserved


@dataclass(frozen=True, slots=True)
class ScheduledReceipt:
    """An open order (purchase or production) that will bring ``quantity`` on ``due``."""

    id: str
    item_id: str
    quantity: Decimal
    due: date
    supplier_id: str | None = None

    def __post_init__(self) -> None:
        if self.quantity <= 0:
            raise InvalidPlanInput(f"open order {self.id}: the quantity must be above 0")


@dataclass(frozen=True, slots=True)
class SupplierQuote:
    """One entry of a sourcing rule: a supplier node and the lead time it quoted."""

    supplier_id: str
    lead_time_days: int

    def __post_init__(self) -> None:
        if self.lead_time_days < 0:
            raise InvalidPlanInput(f"supplier {self.supplier_id}: a lead time cannot be negative")


@dataclass(frozen=True, slots=True)
class PlanInputs:
    """Everything a plan depends on; ``sourcing`` ranks suppliers per bought item, best first."""

    demands: tuple[Demand, ...]
    structure: ProductStructure
    today: date
    stock: Mapping[str, StockLevel] = field(default_factory=lambda: MappingProxyType({}))
    receipts: tuple[ScheduledReceipt, ...] = ()
    work_centers: tuple[WorkCenter, ...] = ()
    ledger: LoadLedger = EMPTY_LEDGER
    sourcing: Mapping[str, tuple[SupplierQuote, ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )

    def with_receipt_due(self, receipt_id: str, due: date) -> PlanInputs:
        """The same inputs with one open order now due on ``due`` (a supplier's new date)."""
        if not any(r.id == receipt_id for r in self.receipts):
            raise InvalidPlanInput(f"no open order {receipt_id}")
        receipts = tuple(replace(r, due=due) if r.id == receipt_id else r for r in self.receipts)
        return replace(self, receipts=receipts)


@dataclass(frozen=True, slots=True)
class PlannedPurchase:
    """Order ``quantity`` of a bought item from a supplier today, due after its lead time."""

    id: str
    item_id: str
    quantity: Decimal
    supplier_id: str | None
    order_date: date
    due_date: date
    demand_id: str


@dataclass(frozen=True, slots=True)
class PlannedOperation:
    """One routing step of a production order, as booked on its work center."""

    sequence: int
    work_center_id: str
    hours: Decimal
    start: Moment
    finish: Moment
    load: tuple[tuple[date, Decimal], ...]


@dataclass(frozen=True, slots=True)
class PlannedProduction:
    """Make ``quantity`` of an item once its materials are ready, through its operations."""

    id: str
    item_id: str
    quantity: Decimal
    demand_id: str
    materials_ready: Moment
    operations: tuple[PlannedOperation, ...]
    finish: Moment

    @property
    def start(self) -> Moment:
        """When the first operation starts (materials ready, if there are none)."""
        return self.operations[0].start if self.operations else self.materials_ready


@dataclass(frozen=True, slots=True)
class NetRequirement:
    """One item's totals: gross need, covered by stock and open orders, net, and planned."""

    item_id: str
    low_level_code: int
    gross: Decimal
    from_stock: Decimal
    from_receipts: Decimal
    net: Decimal
    planned: Decimal


@dataclass(frozen=True, slots=True)
class PathStep:
    """One link of a critical path: a supply, when it is ready, and why."""

    item_id: str
    kind: SupplyKind
    reference: str
    ready: Moment
    explanation: str


@dataclass(frozen=True, slots=True)
class Promise:
    """When a demand can be met, and the chain of supplies that decides it (earliest first)."""

    demand_id: str
    item_id: str
    quantity: Decimal
    date: date
    ready: Moment
    critical_path: tuple[PathStep, ...]

    @property
    def explanation(self) -> str:
        """The critical path as one line: ``timber T-01: … → leg L-01: … → …``."""
        return " → ".join(step.explanation for step in self.critical_path)


@dataclass(frozen=True, slots=True)
class Plan:
    """The result of :func:`plan`, every tuple in stable order."""

    today: date
    promises: tuple[Promise, ...]
    purchases: tuple[PlannedPurchase, ...]
    productions: tuple[PlannedProduction, ...]
    requirements: tuple[NetRequirement, ...]
    ledger: LoadLedger

    def promise(self, demand_id: str) -> Promise:
        """The promise for one demand."""
        for promise in self.promises:
            if promise.demand_id == demand_id:
                return promise
        raise InvalidPlanInput(f"no demand {demand_id} in this plan")


@dataclass(frozen=True, slots=True)
class PromiseMove:
    """A demand whose promise date changed on re-planning, and the cause."""

    demand_id: str
    before: date | None
    after: date
    reason: str


@dataclass(frozen=True, slots=True)
class Replan:
    """The new plan and every promise that moved."""

    plan: Plan
    moves: tuple[PromiseMove, ...]
