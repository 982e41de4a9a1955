"""C2M on the wire: a demand travels as a Beckn ``search`` whose intent carries the spec.

The intent keeps its standard fields (``category``, an item ``descriptor`` with the free text)
so any network software can read it, and adds a ``demand`` tag group: ``quantity``,
``price_ceiling``, ``currency``, ``needed_by`` and one ``spec.NAME`` tag per attribute. A maker
answers with made-to-order offers: its item, public price, lead time (``time.duration``) and an
``offer`` tag group with the ``promise_date`` and whether it is ``in_time``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from supplymesh.domain.demand import Demand, MadeToOrder
from supplymesh.protocol import schema as s
from supplymesh.protocol.errors import ErrorCode, ProtocolError
from supplymesh.services import wire

DEMAND_TAG = "demand"
OFFER_TAG = "offer"
SPEC_PREFIX = "spec."


def _tag(code: str, value: str) -> s.Tag:
    return s.Tag(descriptor=s.Descriptor(code=code), value=value)


def demand_intent(demand: Demand, text: str | None = None, currency: str = "INR") -> s.Intent:
    """The search intent that carries a demand."""
    entries = [_tag("quantity", str(demand.quantity)), _tag("currency", currency)]
    if demand.price_ceiling is not None:
        entries.append(_tag("price_ceiling", str(demand.price_ceiling)))
    if demand.needed_by is not None:
        entries.append(_tag("needed_by", demand.needed_by.isoformat()))
    entries += [_tag(SPEC_PREFIX + k, v) for k, v in sorted(demand.spec.items())]
    return s.Intent(
        category=s.Category(id=demand.category) if demand.category else None,
        item=s.Item(descriptor=s.Descriptor(name=text)) if text else None,
        tags=(s.TagGroup(descriptor=s.Descriptor(code=DEMAND_TAG), entries=tuple(entries)),),
    )


def demand_of(intent: s.Intent | None) -> Demand | None:
    """The demand a search carries, if it carries one; ProtocolError naming a bad value."""
    group = next((g for g in (intent.tags if intent else None) or () if g.key == DEMAND_TAG), None)
    if group is None or intent is None:
        return None
    path = "$.message.intent.tags"
    try:
        quantity = int(group.get("quantity") or "1")
        ceiling_text = group.get("price_ceiling")
        ceiling = Decimal(ceiling_text) if ceiling_text else None
        needed_text = group.get("needed_by")
        needed_by = date.fromisoformat(needed_text) if needed_text else None
    except (ValueError, InvalidOperation) as exc:
        raise ProtocolError(ErrorCode.INVALID_REQUEST, f"bad demand value: {exc}", path) from None
    spec = {
        (tag.key or "")[len(SPEC_PREFIX) :]: tag.value or ""
        for tag in group.entries or ()
        if (tag.key or "").startswith(SPEC_PREFIX)
    }
    try:
        return Demand(
            category=intent.category.id if intent.category else None,
            spec=spec,
            quantity=quantity,
            price_ceiling=ceiling,
            needed_by=needed_by,
        )
    except ValueError as exc:
        raise ProtocolError(ErrorCode.INVALID_REQUEST, str(exc), path) from None


def offer_item(offer: MadeToOrder) -> s.Item:
    """A made-to-order offer as a catalog item with its promise date."""
    item = wire.catalog_item(offer.item)
    promise = s.TagGroup(
        descriptor=s.Descriptor(code=OFFER_TAG),
        entries=(
            _tag("made_to_order", "true"),
            _tag("promise_date", offer.promise_date.isoformat()),
            _tag("in_time", "true" if offer.in_time else "false"),
        ),
    )
    return s.Item(
        id=item.id,
        descriptor=item.descriptor,
        price=item.price,
        category_ids=item.category_ids,
        time=item.time,
        tags=(*(item.tags or ()), promise),
    )
