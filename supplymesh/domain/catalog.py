"""A seller's catalog items, their stock, and the quotes built from them.

Stock is kept as on hand and reserved: confirming an order reserves, cancelling releases,
shipping consumes both. Prices are Decimals (the wire's DecimalValue strings), never floats.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from types import MappingProxyType

from supplymesh.domain.errors import DomainError, InsufficientStock, UnknownItem

CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class CatalogItem:
    """Something a seller offers, at a public price, with its stock."""

    id: str
    name: str
    unit_price: Decimal
    currency: str = "INR"
    category: str | None = None
    on_hand: int = 0
    reserved: int = 0
    attributes: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    lead_time_days: int = 0

    def __post_init__(self) -> None:
        if self.unit_price < 0:
            raise DomainError(f"item {self.id}: a price cannot be negative")
        if self.lead_time_days < 0:
            raise DomainError(f"item {self.id}: a lead time cannot be negative")
        if not 0 <= self.reserved <= self.on_hand:
            raise DomainError(
                f"item {self.id}: reserved ({self.reserved}) must be within 0..on hand "
                f"({self.on_hand})"
            )

    @property
    def available(self) -> int:
        """Units that can still be promised."""
        return self.on_hand - self.reserved

    def reserve(self, quantity: int) -> CatalogItem:
        """Hold ``quantity`` units for a confirmed order."""
        _positive(quantity)
        if quantity > self.available:
            raise InsufficientStock(f"item {self.id}: {quantity} asked, {self.available} available")
        return replace(self, reserved=self.reserved + quantity)

    def release(self, quantity: int) -> CatalogItem:
        """Give back ``quantity`` reserved units (a cancellation)."""
        _positive(quantity)
        if quantity > self.reserved:
            raise DomainError(
                f"item {self.id}: cannot release {quantity}, {self.reserved} reserved"
            )
        return replace(self, reserved=self.reserved - quantity)

    def ship(self, quantity: int) -> CatalogItem:
        """Reserved units leave the warehouse."""
        _positive(quantity)
        if quantity > self.reserved:
            raise DomainError(f"item {self.id}: cannot ship {quantity}, {self.reserved} reserved")
        return replace(self, on_hand=self.on_hand - quantity, reserved=self.reserved - quantity)


def _positive(quantity: int) -> None:
    if quantity <= 0:
        raise DomainError(f"a quantity must be positive, got {quantity}")


@dataclass(frozen=True, slots=True)
class BreakupLine:
    """One line of a quote: an item's amount, or a charge."""

    title: str
    amount: Decimal
    item_id: str | None = None
    quantity: int | None = None
    kind: str = "item"  # item | delivery | tax


@dataclass(frozen=True, slots=True)
class Quote:
    """A priced answer to a selection, with its breakup."""

    currency: str
    lines: tuple[BreakupLine, ...]

    @property
    def total(self) -> Decimal:
        """The sum of the breakup."""
        return sum((line.amount for line in self.lines), Decimal(0))


def build_quote(
    items: Mapping[str, CatalogItem],
    selection: Sequence[tuple[str, int]],
    *,
    delivery_charge: Decimal = Decimal(0),
    tax_percent: Decimal = Decimal(0),
) -> Quote:
    """Price a selection of (item id, quantity) at the items' public prices."""
    if not selection:
        raise DomainError("select at least one item")
    lines: list[BreakupLine] = []
    currencies = set()
    for item_id, quantity in selection:
        item = items.get(item_id)
        if item is None:
            raise UnknownItem(f"no item {item_id!r} in this catalog")
        _positive(quantity)
        if quantity > item.available:
            raise InsufficientStock(f"item {item_id}: {quantity} asked, {item.available} available")
        currencies.add(item.currency)
        amount = (item.unit_price * quantity).quantize(CENT, ROUND_HALF_UP)
        lines.append(BreakupLine(item.name, amount, item_id=item_id, quantity=quantity))
    if len(currencies) != 1:
        raise DomainError(f"one quote, one currency; the selection mixes {sorted(currencies)}")
    subtotal = sum((line.amount for line in lines), Decimal(0))
    if delivery_charge:
        lines.append(BreakupLine("Delivery", delivery_charge.quantize(CENT), kind="delivery"))
    if tax_percent:
        tax = (subtotal * tax_percent / 100).quantize(CENT, ROUND_HALF_UP)
        lines.append(BreakupLine(f"Tax {tax_percent}%", tax, kind="tax"))
    return Quote(currency=currencies.pop(), lines=tuple(lines))
