"""Material requirements planning: from demands to purchases, production and promise dates.

:func:`plan` turns :class:`~supplymesh.domain.planning.PlanInputs` into a
:class:`~supplymesh.domain.planning.Plan` in two passes, each touching every requirement once:

1. **Quantities**, items by ascending low-level code (so every parent comes before its
   components, all levels in one pass). Each demand's requirement for an item is netted in
   turn, demands by (priority, id): first against available stock (on hand - reserved), then
   open orders (scheduled receipts, by due date), then what earlier planned orders of the item
   made beyond their own need (lot sizing), and what is still missing becomes one planned order
   sized by the item's lot rule. A planned production order adds its components' gross
   requirements (quantity per, plus scrap) for the same demand. Requirements are pegged to the
   demand they serve so that each demand has its own orders and its own promise date.
2. **Time**, forward from ``today``. Stock is ready today, an open order on its due date, a
   planned purchase ``lead time`` days after today (the first-ranked supplier's quoted lead
   time when a sourcing rule names one, else the item's own). Production orders are scheduled
   demand by demand, deepest first, on finite capacity: an order starts when its last component
   is ready and runs operation by operation through its routing, each at the earliest slot that
   fits (see :mod:`supplymesh.domain.capacity`).

The promise for a demand is when its last unit is ready, and its critical path is the chain of
supplies that set that moment, each step explained. The same inputs always give the same plan:
everything is processed and returned in stable key order, never in the order inputs arrived.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from supplymesh.domain.bom import Item, Procurement
from supplymesh.domain.capacity import CapacityBoard, Moment, hours_text
from supplymesh.domain.errors import UnknownItem
from supplymesh.domain.planning import (
    InvalidPlanInput,
    NetRequirement,
    PathStep,
    Plan,
    PlanInputs,
    PlannedOperation,
    PlannedProduction,
    PlannedPurchase,
    Promise,
    PromiseMove,
    Replan,
    ScheduledReceipt,
    SupplyKind,
)

ZERO = Decimal(0)

# When two supplies are ready at the same moment, the longer chain is the one to explain.
_KIND_RANK = {
    SupplyKind.STOCK: 0,
    SupplyKind.RECEIPT: 1,
    SupplyKind.PURCHASE: 2,
    SupplyKind.PRODUCTION: 3,
}


@dataclass(slots=True, eq=False)
class _Order:
    """A planned order while the run builds it."""

    id: str
    item: Item
    demand: int
    quantity: Decimal
    leftover: Decimal
    supplier_id: str | None = None
    lead_time_days: int = 0
    ready: Moment | None = None  # purchases at once; production once scheduled
    materials_ready: Moment | None = None
    operations: tuple[PlannedOperation, ...] = ()
    components: list[_Requirement] = field(default_factory=list)  # production: by component


@dataclass(slots=True)
class _Supply:
    """A quantity allocated to one requirement."""

    kind: SupplyKind
    reference: str
    quantity: Decimal
    ready: Moment | None = None  # stock and open orders
    order: _Order | None = None  # planned orders

    def when(self) -> Moment:
        ready = self.order.ready if self.order is not None else self.ready
        if ready is None:  # the scheduling order guarantees components first
            raise RuntimeError(f"{self.reference} used before it was scheduled")
        return ready


@dataclass(slots=True, eq=False)
class _Requirement:
    """What one demand needs of one item, and the supplies allocated to it."""

    item_id: str
    demand: int
    gross: Decimal
    supplies: list[_Supply] = field(default_factory=list)
    ready: Moment | None = None

    def when(self) -> Moment:
        """When the last supply is ready (asked only once every supply is timed)."""
        if self.ready is None:
            self.ready = max(supply.when() for supply in self.supplies)
        return self.ready


@dataclass(slots=True)
class _Open:
    """What is left of an open order while netting."""

    receipt: ScheduledReceipt
    left: Decimal


class _Run:
    """One planning run's working state; :func:`plan` is its only user."""

    def __init__(self, inputs: PlanInputs) -> None:
        self.inputs = inputs
        self.structure = inputs.structure
        self.today = Moment(inputs.today)
        self.demands = sorted(inputs.demands, key=lambda d: (d.priority, d.id))
        self.board = CapacityBoard(inputs.work_centers, inputs.ledger)
        self.needs: dict[str, dict[int, _Requirement]] = {}  # item -> demand -> requirement
        self.orders: list[_Order] = []
        self.productions: list[list[_Order]] = [[] for _ in self.demands]
        self.requirements: list[NetRequirement] = []
        self.receipts: dict[str, list[ScheduledReceipt]] = {}
        self.receipt_by_id: dict[str, ScheduledReceipt] = {}
        self._validate()

    def _validate(self) -> None:
        items = self.structure.items
        for index, demand in enumerate(self.demands):
            self.structure.item(demand.item_id)
            self.needs.setdefault(demand.item_id, {})[index] = _Requirement(
                demand.item_id, index, demand.quantity
            )
        if len({d.id for d in self.demands}) != len(self.demands):
            raise InvalidPlanInput("demand ids must be unique")
        for item_id in self.inputs.stock:
            if item_id not in items:
                raise UnknownItem(f"stock for unknown item {item_id}")
        for receipt in sorted(self.inputs.receipts, key=lambda r: (r.item_id, r.due, r.id)):
            if receipt.item_id not in items:
                raise UnknownItem(f"open order {receipt.id} for unknown item {receipt.item_id}")
            if receipt.id in self.receipt_by_id:
                raise InvalidPlanInput(f"open order {receipt.id} is given twice")
            self.receipt_by_id[receipt.id] = receipt
            self.receipts.setdefault(receipt.item_id, []).append(receipt)
        for routing in self.structure.routings.values():
            for operation in routing.operations:
                self.board.work_center(operation.work_center_id)

    def explode(self) -> None:
        """Pass 1: net and lot-size every requirement, items by low-level code."""
        stock = self.inputs.stock
        codes = self.structure.low_level_codes
        items = self.structure.items
        for item_id in self.structure.planning_order:
            needs = self.needs.get(item_id)
            if not needs:
                continue
            item = items[item_id]
            level = stock.get(item_id)
            on_shelf = level.available if level is not None else ZERO
            receipts = deque(_Open(r, r.quantity) for r in self.receipts.get(item_id, ()))
            surplus: deque[_Order] = deque()  # planned orders of this item with some left over
            gross = from_stock = from_receipts = net = planned = ZERO
            for demand in sorted(needs):
                requirement = needs[demand]
                need = requirement.gross
                gross += need
                allocated = requirement.supplies
                if on_shelf > 0:
                    take = min(need, on_shelf)
                    on_shelf -= take
                    need -= take
                    from_stock += take
                    allocated.append(_Supply(SupplyKind.STOCK, "stock", take, self.today))
                while need > 0 and receipts:
                    open_order = receipts[0]
                    take = min(need, open_order.left)
                    need -= take
                    from_receipts += take
                    open_order.left -= take
                    due = max(open_order.receipt.due, self.inputs.today)
                    allocated.append(
                        _Supply(SupplyKind.RECEIPT, open_order.receipt.id, take, Moment(due))
                    )
                    if open_order.left == 0:
                        receipts.popleft()
                net += need
                while need > 0 and surplus:
                    order = surplus[0]
                    take = min(need, order.leftover)
                    need -= take
                    order.leftover -= take
                    allocated.append(_supply_from(order, take))
                    if order.leftover == 0:
                        surplus.popleft()
                if need > 0:
                    order = self._new_order(item, demand, need)
                    planned += order.quantity
                    allocated.append(_supply_from(order, need))
                    if order.leftover > 0:
                        surplus.append(order)
            self.requirements.append(
                NetRequirement(
                    item_id, codes[item_id], gross, from_stock, from_receipts, net, planned
                )
            )

    def _new_order(self, item: Item, demand: int, need: Decimal) -> _Order:
        quantity = item.lot_sizing.size(need, item.increment)
        demand_id = self.demands[demand].id
        if item.procurement is Procurement.BUY:
            order = _Order(f"PR/{demand_id}/{item.id}", item, demand, quantity, quantity - need)
            ranked = self.inputs.sourcing.get(item.id, ())
            if ranked:
                order.supplier_id = ranked[0].supplier_id
                order.lead_time_days = ranked[0].lead_time_days
            else:
                order.lead_time_days = item.lead_time_days
            order.ready = Moment(self.inputs.today + timedelta(days=order.lead_time_days))
        else:
            order = _Order(f"MO/{demand_id}/{item.id}", item, demand, quantity, quantity - need)
            for line in self.structure.lines_of(item.id):
                needs = self.needs.setdefault(line.component, {})
                requirement = needs.get(demand)
                if requirement is None:
                    requirement = needs[demand] = _Requirement(line.component, demand, ZERO)
                requirement.gross += line.gross_for(quantity)
                order.components.append(requirement)
            self.productions[demand].append(order)
        self.orders.append(order)
        return order

    def schedule(self) -> None:
        """Pass 2: production orders on finite capacity, demand by demand, deepest first.

        Orders were created by ascending low-level code, so taking each demand's in reverse
        schedules every component's order before its parent's.
        """
        routings = self.structure.routings
        for orders in self.productions:
            for order in reversed(orders):
                materials = self.today
                for requirement in order.components:
                    ready = requirement.when()
                    materials = max(materials, ready)
                moment = materials
                operations: list[PlannedOperation] = []
                routing = routings.get(order.item.id)
                for step in routing.operations if routing is not None else ():
                    slot = self.board.book(
                        step.work_center_id, step.hours_for(order.quantity), moment
                    )
                    operations.append(
                        PlannedOperation(
                            step.sequence,
                            step.work_center_id,
                            slot.hours,
                            slot.start,
                            slot.finish,
                            slot.load,
                        )
                    )
                    moment = slot.finish
                order.materials_ready = materials
                order.operations = tuple(operations)
                order.ready = moment

    def critical_path(self, requirement: _Requirement) -> tuple[PathStep, ...]:
        """The chain of supplies, earliest first, that decides when the requirement is ready."""
        steps: list[PathStep] = []
        while True:
            supply = max(
                requirement.supplies,
                key=lambda s: (s.when(), _KIND_RANK[s.kind], s.reference),
            )
            steps.append(self._step(requirement.item_id, supply))
            order = supply.order
            if order is None or order.materials_ready is None or not order.components:
                break  # stock, an open order or a planned purchase starts the chain
            if order.materials_ready <= self.today:
                break  # every component was at hand: the chain starts with this order
            latest = order.components[0]
            for component in order.components[1:]:
                if component.when() > latest.when():
                    latest = component
            requirement = latest
        steps.reverse()
        return tuple(steps)

    def _step(self, item_id: str, supply: _Supply) -> PathStep:
        item = self.structure.items[item_id]
        ready = supply.when()
        quantity = f"{hours_text(supply.quantity)} {item.unit}"
        order = supply.order
        if supply.kind is SupplyKind.STOCK:
            text = f"{item.label}: {quantity} from stock"
        elif supply.kind is SupplyKind.RECEIPT:
            receipt = self.receipt_by_id[supply.reference]
            text = (
                f"{item.label}: {quantity} on open order {receipt.id}"
                f"{_from(receipt.supplier_id)}, due {ready.day}"
            )
        elif order is not None and supply.kind is SupplyKind.PURCHASE:
            text = (
                f"{item.label}: {order.lead_time_days} days supplier lead time"
                f"{_from(order.supplier_id)} for {hours_text(order.quantity)} {item.unit}, "
                f"due {ready.day}"
            )
        elif order is not None and order.materials_ready is not None:
            text = f"{item.label}: make {hours_text(order.quantity)} {item.unit}"
            previous = order.materials_ready
            for index, operation in enumerate(order.operations):
                center = self.board.work_center(operation.work_center_id)
                text += (
                    f"{', then' if index else ':'} {hours_text(operation.hours)} h on {center.id} "
                    f"(capacity {hours_text(center.hours_per_day)} h/day) "
                    f"{operation.start} → {operation.finish}"
                )
                if operation.start > previous:
                    text += f" (waited for {center.id} from {previous})"
                previous = operation.finish
        else:  # pragma: no cover - every supply kind is handled above
            raise RuntimeError(f"unexplained supply {supply.kind}")
        return PathStep(item_id, supply.kind, supply.reference, ready, text)

    def result(self) -> Plan:
        """The finished plan, in stable order."""
        names = [d.id for d in self.demands]
        today = self.inputs.today
        purchases: list[PlannedPurchase] = []
        productions: list[PlannedProduction] = []
        for o in self.orders:
            if o.ready is None:  # pragma: no cover - every order is timed by now
                raise RuntimeError(f"order {o.id} was never scheduled")
            if o.item.procurement is Procurement.BUY:
                purchases.append(
                    PlannedPurchase(
                        o.id,
                        o.item.id,
                        o.quantity,
                        o.supplier_id,
                        today,
                        o.ready.day,
                        names[o.demand],
                    )
                )
            else:
                productions.append(
                    PlannedProduction(
                        o.id,
                        o.item.id,
                        o.quantity,
                        names[o.demand],
                        o.materials_ready or o.ready,
                        o.operations,
                        o.ready,
                    )
                )
        promises = []
        for index, demand in enumerate(self.demands):
            requirement = self.needs[demand.item_id][index]
            ready = requirement.when()
            path = self.critical_path(requirement)
            promises.append(
                Promise(demand.id, demand.item_id, demand.quantity, ready.day, ready, path)
            )
        return Plan(
            today=today,
            promises=tuple(promises),
            purchases=tuple(purchases),
            productions=tuple(productions),
            requirements=tuple(self.requirements),
            ledger=self.board.ledger(),
        )


def _supply_from(order: _Order, quantity: Decimal) -> _Supply:
    kind = (
        SupplyKind.PURCHASE if order.item.procurement is Procurement.BUY else SupplyKind.PRODUCTION
    )
    return _Supply(kind, order.id, quantity, order=order)


def _from(supplier_id: str | None) -> str:
    return f" from {supplier_id}" if supplier_id else ""


def plan(inputs: PlanInputs) -> Plan:
    """Explode, net, lot-size and schedule every demand; a pure function of ``inputs``."""
    run = _Run(inputs)
    run.explode()
    run.schedule()
    return run.result()


def replan(previous: Plan, inputs: PlanInputs) -> Replan:
    """Plan again after an input changed; say which promises moved and why."""
    new = plan(inputs)
    before = {p.demand_id: p for p in previous.promises}
    moves = []
    for promise in new.promises:
        old = before.get(promise.demand_id)
        if old is None or old.date != promise.date:
            moves.append(
                PromiseMove(
                    promise.demand_id,
                    old.date if old is not None else None,
                    promise.date,
                    _why(old, promise),
                )
            )
    return Replan(new, tuple(moves))


def _why(old: Promise | None, new: Promise) -> str:
    """The first step, earliest first, of the new critical path that changed."""
    if old is None:
        return f"new demand; {new.explanation}"
    change = f"promise moved from {old.date} to {new.date}"
    was = {(s.item_id, s.kind, s.reference): s for s in old.critical_path}
    for step in new.critical_path:
        before = was.get((step.item_id, step.kind, step.reference))
        if before is None:
            return f"{change}: now waits on {step.explanation}"
        if before.ready != step.ready:
            return f"{change}: {step.explanation} (was {before.ready})"
    return f"{change}: {new.explanation}"
