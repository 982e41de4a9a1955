"""Items, bills of materials, routings, and the low-level codes that let MRP explode in one pass.

An item is made (from components, through a routing of operations on work centers) or bought
(from a supplier, after a lead time). A bill of materials line says how much of a component one
unit of its parent takes, plus a scrap allowance: SAP's *component scrap*, so a parent quantity
``q`` needs ``q x quantity_per x (1 + scrap % / 100)`` of the component.

The low-level code of an item is the deepest level at which it appears in any structure (top
items are 0). Processing items by ascending code guarantees every parent is planned before any of
its components, so all of a component's gross requirements are known when it is reached: one pass
over all items, not one pass per level. Codes are the longest path from a root, computed by one
topological sort; a cycle is refused with :class:`BomCycle`, which names it.

Errors (all :class:`~supplymesh.domain.errors.DomainError`, code ``BUSINESS_ERROR``):

    InvalidStructure     an item, line or routing that cannot be planned
    └── BomCycle         an item is, through its components, a component of itself
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal
from types import MappingProxyType

from supplymesh.domain.errors import DomainError, UnknownItem

ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)


class InvalidStructure(DomainError):
    """An item, BOM line or routing that MRP cannot plan."""


class BomCycle(InvalidStructure):
    """The bill of materials loops back on itself; ``cycle`` lists it, first item repeated last."""

    def __init__(self, cycle: tuple[str, ...]) -> None:
        super().__init__("bill of materials has a cycle: " + " → ".join(cycle))
        self.cycle = cycle


class Procurement(enum.StrEnum):
    """How an item is obtained."""

    MAKE = "make"
    BUY = "buy"


class LotRule(enum.StrEnum):
    """How a net requirement becomes an order quantity."""

    LOT_FOR_LOT = "lot-for-lot"
    MINIMUM_BATCH = "minimum-batch"
    MULTIPLE = "multiple"


def round_up(quantity: Decimal, step: Decimal) -> Decimal:
    """The smallest multiple of ``step`` that is at least ``quantity``."""
    return (quantity / step).to_integral_value(ROUND_CEILING) * step


@dataclass(frozen=True, slots=True)
class LotSizing:
    """Lot-for-lot, a minimum batch of ``quantity``, or a multiple of ``quantity``."""

    rule: LotRule = LotRule.LOT_FOR_LOT
    quantity: Decimal = ZERO

    def __post_init__(self) -> None:
        if self.rule is LotRule.LOT_FOR_LOT:
            if self.quantity != 0:
                raise InvalidStructure("lot-for-lot takes no quantity")
        elif self.quantity <= 0:
            raise InvalidStructure(f"{self.rule.value} needs a quantity above 0")

    def size(self, net: Decimal, increment: Decimal = ONE) -> Decimal:
        """The order quantity for a net requirement; never below it, 0 when nothing is needed."""
        if net <= 0:
            return ZERO
        if self.rule is LotRule.MULTIPLE:
            return round_up(net, self.quantity)
        quantity = round_up(net, increment)
        if self.rule is LotRule.MINIMUM_BATCH:
            quantity = max(quantity, round_up(self.quantity, increment))
        return quantity


LOT_FOR_LOT = LotSizing()


@dataclass(frozen=True, slots=True)
class Item:
    """Something made or bought, in ``unit``; ``increment`` is the smallest orderable step."""

    id: str
    unit: str
    procurement: Procurement
    lead_time_days: int = 0
    lot_sizing: LotSizing = LOT_FOR_LOT
    increment: Decimal = ONE
    name: str = ""

    def __post_init__(self) -> None:
        if not self.id:
            raise InvalidStructure("an item needs an id")
        if self.lead_time_days < 0:
            raise InvalidStructure(f"item {self.id}: a lead time cannot be negative")
        if self.procurement is Procurement.MAKE and self.lead_time_days:
            raise InvalidStructure(
                f"item {self.id} is made: its time comes from its routing, not a lead time"
            )
        if self.increment <= 0:
            raise InvalidStructure(f"item {self.id}: the order increment must be above 0")

    @property
    def label(self) -> str:
        """``name id`` for explanations, or just the id."""
        return f"{self.name} {self.id}" if self.name else self.id


@dataclass(frozen=True, slots=True)
class BomLine:
    """One unit of ``parent`` takes ``quantity_per`` of ``component``, plus ``scrap_percent``."""

    parent: str
    component: str
    quantity_per: Decimal
    scrap_percent: Decimal = ZERO

    def __post_init__(self) -> None:
        if self.quantity_per <= 0:
            raise InvalidStructure(
                f"{self.parent} → {self.component}: quantity per must be above 0"
            )
        if not ZERO <= self.scrap_percent < HUNDRED:
            raise InvalidStructure(f"{self.parent} → {self.component}: scrap must be in 0..<100 %")

    def gross_for(self, parent_quantity: Decimal) -> Decimal:
        """Component quantity needed to make ``parent_quantity`` of the parent."""
        gross = parent_quantity * self.quantity_per
        if self.scrap_percent:
            gross = gross * (ONE + self.scrap_percent / HUNDRED)
        return gross


@dataclass(frozen=True, slots=True)
class Operation:
    """One step of a routing: hours per unit on a work center, plus setup hours once per order."""

    sequence: int
    work_center_id: str
    hours_per_unit: Decimal
    setup_hours: Decimal = ZERO

    def __post_init__(self) -> None:
        if self.hours_per_unit < 0 or self.setup_hours < 0:
            raise InvalidStructure(f"operation {self.sequence}: hours cannot be negative")

    def hours_for(self, quantity: Decimal) -> Decimal:
        """Hours this operation takes for an order of ``quantity``."""
        return self.setup_hours + self.hours_per_unit * quantity


@dataclass(frozen=True, slots=True)
class Routing:
    """The operations that make an item, run in ascending ``sequence``."""

    item_id: str
    operations: tuple[Operation, ...]

    def __post_init__(self) -> None:
        sequences = [op.sequence for op in self.operations]
        if sequences != sorted(set(sequences)):
            raise InvalidStructure(
                f"routing of {self.item_id}: operation sequences must be unique and ascending"
            )


_NO_LINES: tuple[BomLine, ...] = ()


@dataclass(frozen=True, slots=True)
class ProductStructure:
    """Items, their BOM lines (by parent, sorted by component), routings and low-level codes.

    Build it with :meth:`build`, which validates and computes the codes once; a structure can
    then be planned against many times.
    """

    items: Mapping[str, Item]
    components: Mapping[str, tuple[BomLine, ...]]
    routings: Mapping[str, Routing]
    low_level_codes: Mapping[str, int]
    planning_order: tuple[str, ...] = field(default=())

    @classmethod
    def build(
        cls,
        items: Iterable[Item],
        lines: Iterable[BomLine] = (),
        routings: Iterable[Routing] = (),
    ) -> ProductStructure:
        """Validate items, lines and routings and compute low-level codes (refusing cycles)."""
        # One pass over the input, then sorts of small groups only: a sort of every line
        # made building 100k lines grow faster than the lines.
        given: dict[str, Item] = {}
        for item in items:
            if item.id in given:
                raise InvalidStructure(f"item {item.id} is defined twice")
            given[item.id] = item
        by_id = {item_id: given[item_id] for item_id in sorted(given)}
        children: dict[str, list[BomLine]] = {}
        for line in lines:
            parent = by_id.get(line.parent)
            for end in (line.parent, line.component):
                if end not in by_id:
                    raise UnknownItem(f"BOM line {line.parent} → {line.component}: no item {end}")
            if parent is not None and parent.procurement is Procurement.BUY:
                raise InvalidStructure(f"item {line.parent} is bought; it cannot have components")
            children.setdefault(line.parent, []).append(line)
        components: dict[str, tuple[BomLine, ...]] = {}
        for parent_id in sorted(children):
            ordered = sorted(children[parent_id], key=_component)
            for before, after in itertools.pairwise(ordered):
                if before.component == after.component:
                    raise InvalidStructure(
                        f"BOM line {parent_id} → {after.component} is given twice"
                    )
            components[parent_id] = tuple(ordered)
        routing_by_item: dict[str, Routing] = {}
        for routing in routings:
            made = by_id.get(routing.item_id)
            if made is None:
                raise UnknownItem(f"routing for unknown item {routing.item_id}")
            if made.procurement is Procurement.BUY:
                raise InvalidStructure(f"item {routing.item_id} is bought; it has no routing")
            if routing.item_id in routing_by_item:
                raise InvalidStructure(f"item {routing.item_id} has two routings")
            routing_by_item[routing.item_id] = routing
        routing_by_item = {i: routing_by_item[i] for i in sorted(routing_by_item)}
        codes = low_level_codes(by_id, components)
        levels: list[list[str]] = [[] for _ in range(max(codes.values(), default=0) + 1)]
        for item_id in by_id:  # in id order, so each level stays sorted by id
            levels[codes[item_id]].append(item_id)
        order = tuple(itertools.chain.from_iterable(levels))
        return cls(
            items=MappingProxyType(by_id),
            components=MappingProxyType(components),
            routings=MappingProxyType(routing_by_item),
            low_level_codes=MappingProxyType(codes),
            planning_order=order,
        )

    def item(self, item_id: str) -> Item:
        """The item, or :class:`UnknownItem`."""
        try:
            return self.items[item_id]
        except KeyError:
            raise UnknownItem(f"no item {item_id!r} in the product structure") from None

    def lines_of(self, parent: str) -> tuple[BomLine, ...]:
        """The parent's BOM lines, sorted by component."""
        return self.components.get(parent, _NO_LINES)


def _component(line: BomLine) -> str:
    return line.component


def low_level_codes(
    items: Iterable[str], components: Mapping[str, Iterable[BomLine]]
) -> dict[str, int]:
    """Each item's deepest level in any structure, by one topological sort; cycles refused.

    Kahn's algorithm visits each item and line once. If items remain when no parent is left
    unvisited, they are on or below a cycle; walking back from the smallest of them through its
    smallest remaining parent must repeat an item, and that loop is the cycle reported.
    """
    codes = dict.fromkeys(items, 0)
    indegree = dict.fromkeys(codes, 0)
    for lines in components.values():
        for line in lines:
            indegree[line.component] += 1
    ready = [item for item, count in indegree.items() if count == 0]  # codes: any order
    visited = 0
    while ready:
        parent = ready.pop()
        visited += 1
        below = codes[parent] + 1
        for line in components.get(parent, ()):
            child = line.component
            codes[child] = max(codes[child], below)
            indegree[child] -= 1
            if indegree[child] == 0:
                ready.append(child)
    if visited < len(codes):
        raise BomCycle(_find_cycle(indegree, components))
    return codes


def _find_cycle(
    indegree: Mapping[str, int], components: Mapping[str, Iterable[BomLine]]
) -> tuple[str, ...]:
    remaining = {item for item, count in indegree.items() if count > 0}
    parents: dict[str, list[str]] = {}
    for parent, lines in components.items():
        if parent in remaining:
            for line in lines:
                if line.component in remaining:
                    parents.setdefault(line.component, []).append(parent)
    walk = [min(remaining)]
    position = {walk[0]: 0}
    while True:
        parent = min(parents[walk[-1]])
        if parent in position:
            loop = walk[position[parent] :]
            break
        position[parent] = len(walk)
        walk.append(parent)
    # The walk went child → parent; report parent → component, starting at the smallest item.
    loop.reverse()
    start = loop.index(min(loop))
    ordered = loop[start:] + loop[:start]
    return (*ordered, ordered[0])
