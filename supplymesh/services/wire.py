"""Domain values to Beckn objects and back: catalog items, quotes, orders."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

from supplymesh.domain.catalog import CatalogItem, Quote
from supplymesh.domain.errors import DomainError
from supplymesh.domain.orders import CancellationTerm, Order, OrderLine
from supplymesh.protocol import schema as s

SUPPLYMESH_TAGS = "supplymesh"


def price(amount: Decimal, currency: str) -> s.Price:
    """A Beckn price (decimal string)."""
    return s.Price(currency=currency, value=f"{amount:.2f}")


def catalog_item(item: CatalogItem) -> s.Item:
    """A catalog item as offered in on_search."""
    tags = None
    if item.attributes:
        tags = (
            s.TagGroup(
                descriptor=s.Descriptor(code="attributes"),
                entries=tuple(
                    s.Tag(descriptor=s.Descriptor(code=k), value=v)
                    for k, v in sorted(item.attributes.items())
                ),
            ),
        )
    return s.Item(
        id=item.id,
        descriptor=s.Descriptor(name=item.name),
        price=price(item.unit_price, item.currency),
        quantity=s.ItemQuantity(available=s.QuantityValue(count=item.available)),
        category_ids=(item.category,) if item.category else None,
        time=s.Time(label="lead time", duration=f"P{item.lead_time_days}D"),
        tags=tags,
    )


def catalog(provider_id: str, provider_name: str, items: list[CatalogItem]) -> s.Catalog:
    """A one-provider catalog."""
    return s.Catalog(
        descriptor=s.Descriptor(name=provider_name),
        providers=(
            s.Provider(
                id=provider_id,
                descriptor=s.Descriptor(name=provider_name),
                items=tuple(catalog_item(item) for item in items),
            ),
        ),
    )


def quote(value: Quote) -> s.Quote:
    """A Beckn quote with its breakup."""
    return s.Quote(
        price=price(value.total, value.currency),
        breakup=tuple(
            s.BreakupLine(
                item=s.Item(
                    id=line.item_id,
                    quantity=s.ItemQuantity(selected=s.QuantityValue(count=line.quantity))
                    if line.quantity is not None
                    else None,
                )
                if line.item_id
                else None,
                title=line.title,
                price=price(line.amount, value.currency),
            )
            for line in value.lines
        ),
        ttl="PT15M",
    )


def selection(order: s.Order | None) -> list[tuple[str, int]]:
    """(item id, quantity) pairs from an order's items; a missing quantity means one."""
    if order is None or not order.items:
        raise DomainError("the order selects no items")
    chosen: list[tuple[str, int]] = []
    for item in order.items:
        if item.id is None:
            raise DomainError("every selected item needs an id")
        count = 1
        if item.quantity is not None and item.quantity.selected is not None:
            count = int(item.quantity.selected.count or 0)
        chosen.append((item.id, count))
    return chosen


def cancellation_terms(terms: tuple[CancellationTerm, ...]) -> tuple[s.CancellationTerm, ...]:
    """The order's cancellation terms on the wire."""
    return tuple(
        s.CancellationTerm(
            fulfillment_state=s.State(descriptor=s.Descriptor(code=term.state.value)),
            reason_required=term.reason_required,
            cancellation_fee={"percentage": str(term.fee_percent)}
            if term.allowed
            else {"percentage": "100"},
        )
        for term in terms
    )


def order(value: Order, provider_id: str, quoted: Quote | None = None) -> s.Order:
    """A domain order as Beckn sends it in on_confirm / on_status / on_cancel."""
    cancellation = None
    if value.cancellation_fee is not None:
        last = value.history[-1]
        cancellation = s.Cancellation(
            time=last.at,
            cancelled_by=last.by.value,
            reason={"descriptor": {"short_desc": last.reason}} if last.reason else None,
        )
    return s.Order(
        id=value.id,
        status=value.state.value,
        provider=s.Provider(id=provider_id),
        items=tuple(
            s.Item(
                id=line.item_id,
                price=price(line.unit_price, value.currency),
                quantity=s.ItemQuantity(selected=s.QuantityValue(count=line.quantity)),
            )
            for line in value.lines
        ),
        quote=quote(quoted)
        if quoted is not None
        else s.Quote(price=price(value.total, value.currency)),
        cancellation=cancellation,
        cancellation_terms=cancellation_terms(value.cancellation_terms),
        created_at=value.created_at,
        updated_at=value.history[-1].at if value.history else value.created_at,
    )


def buyer_order(
    wire: s.Order, *, transaction_id: str, buyer_id: str, seller_id: str, now: datetime
) -> Order:
    """The buyer's copy of an order from the seller's on_confirm."""
    if wire.id is None:
        raise DomainError("on_confirm carries no order id")
    lines = order_lines(wire)
    currency = next(
        (i.price.currency for i in wire.items or () if i.price is not None and i.price.currency),
        "INR",
    )
    total = Decimal(0)
    if wire.quote is not None and wire.quote.price is not None and wire.quote.price.value:
        total = decimal(wire.quote.price.value)
    line_sum = sum((line.amount for line in lines), Decimal(0))
    return Order(
        id=wire.id,
        transaction_id=transaction_id,
        buyer_id=buyer_id,
        seller_id=seller_id,
        lines=lines,
        currency=currency,
        created_at=wire.created_at or now,
        extra_charges=max(total - line_sum, Decimal(0)),
    )


def order_lines(wire: s.Order) -> tuple[OrderLine, ...]:
    """An order's lines (item, quantity, unit price) as the wire reports them."""
    lines = []
    for item in wire.items or ():
        if item.id is None:
            continue
        count = 1
        if item.quantity is not None and item.quantity.selected is not None:
            count = int(item.quantity.selected.count or 0)
        unit = Decimal(0)
        if item.price is not None and item.price.value is not None:
            unit = decimal(item.price.value)
        lines.append(OrderLine(item.id, count, unit))
    return tuple(lines)


def decimal(text: str) -> Decimal:
    """A wire DecimalValue as a Decimal; DomainError if it is not one."""
    try:
        return Decimal(text)
    except InvalidOperation:
        raise DomainError(f"not a decimal amount: {text!r}") from None
