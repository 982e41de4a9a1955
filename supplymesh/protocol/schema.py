"""Typed views of Beckn core 1.1.0 message objects (``transaction.yaml`` components).

Every object is a frozen msgspec Struct with optional fields, so a body that the core schema
accepts decodes, and a wrong type anywhere is refused with its JSON path. Arrays are tuples:
the views are read-only. Fields we do not model are not lost: the envelope keeps the decoded
JSON tree, and encoding starts from it (see ``envelope.py``).

ONDC 1.x variants are read too: the ``bpp/…`` catalog keys and flat tags
(``{code, list: [{code, value}]}``) beside Beckn 1.1's ``descriptor.code`` tags.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from supplymesh.protocol.context import AwareDatetime, City, Country, Duration

# \Z, not $: Python's $ also matches before a final newline.
DecimalValue = Annotated[str, msgspec.Meta(pattern=r"^[+-]?([0-9]*[.])?[0-9]+\Z")]
CountText = Annotated[str, msgspec.Meta(pattern=r"^[0-9]+\Z")]
# Beckn: "count: integer, minimum: 0"; the upper bound refuses numbers no store can hold.
Count = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
Json = dict[str, Any]


# gc=False: a decoded body makes a thousand of these, and frozen views of JSON cannot form
# reference cycles, so the cycle collector need not track them (msgspec docs, "gc").
class _Obj(msgspec.Struct, kw_only=True, omit_defaults=True, frozen=True, gc=False):
    pass


class Descriptor(_Obj, frozen=True):
    """Names and describes anything: ``code`` is the machine key, ``name`` the human one."""

    name: str | None = None
    code: str | None = None
    short_desc: str | None = None
    long_desc: str | None = None
    additional_desc: Json | None = None
    media: tuple[Json, ...] | None = None
    # Beckn 1.1 writes Image objects; ONDC 1.x (Beckn 0.9) writes plain URL strings.
    images: tuple[Json | str, ...] | None = None


class Tag(_Obj, frozen=True):
    """One key/value pair in a tag group (key in ``descriptor.code``; ONDC: ``code``)."""

    descriptor: Descriptor | None = None
    code: str | None = None
    value: str | None = None
    display: bool | None = None

    @property
    def key(self) -> str | None:
        """The tag's key, whichever form carried it."""
        return self.descriptor.code if self.descriptor is not None else self.code


class TagGroup(_Obj, frozen=True):
    """A named group of tags: supplymesh's extensions travel here."""

    display: bool | None = None
    descriptor: Descriptor | None = None
    code: str | None = None
    entries: tuple[Tag, ...] | None = msgspec.field(default=None, name="list")

    @property
    def key(self) -> str | None:
        """The group's key, whichever form carried it."""
        return self.descriptor.code if self.descriptor is not None else self.code

    def get(self, key: str) -> str | None:
        """The value of tag ``key`` in this group, if present."""
        for tag in self.entries or ():
            if tag.key == key:
                return tag.value
        return None


Tags = tuple[TagGroup, ...]


class Price(_Obj, frozen=True):
    """A price; every amount is a decimal string on the wire."""

    currency: str | None = None
    value: DecimalValue | None = None
    estimated_value: DecimalValue | None = None
    computed_value: DecimalValue | None = None
    listed_value: DecimalValue | None = None
    offered_value: DecimalValue | None = None
    minimum_value: DecimalValue | None = None
    maximum_value: DecimalValue | None = None


class Scalar(_Obj, frozen=True):
    """A measured amount with a unit."""

    type: str | None = None
    value: DecimalValue | None = None
    unit: str | None = None


class QuantityValue(_Obj, frozen=True):
    """A count and/or a measure (ONDC 1.x writes the count as a string of digits)."""

    count: Count | CountText | None = None
    measure: Scalar | None = None


class ItemQuantity(_Obj, frozen=True):
    """The quantities an item is offered or ordered in."""

    allocated: QuantityValue | None = None
    available: QuantityValue | None = None
    maximum: QuantityValue | None = None
    minimum: QuantityValue | None = None
    selected: QuantityValue | None = None
    unitized: QuantityValue | None = None


class Time(_Obj, frozen=True):
    """A time, range or duration attached to a stop, item or provider."""

    label: str | None = None
    timestamp: AwareDatetime | None = None
    duration: Duration | None = None
    range: Json | None = None
    days: str | None = None
    schedule: Json | None = None


class Item(_Obj, frozen=True):
    """A product or service offered (in a catalog) or ordered (in an order)."""

    id: str | None = None
    parent_item_id: str | None = None
    descriptor: Descriptor | None = None
    price: Price | None = None
    quantity: ItemQuantity | None = None
    category_ids: tuple[str, ...] | None = None
    fulfillment_ids: tuple[str, ...] | None = None
    location_ids: tuple[str, ...] | None = None
    payment_ids: tuple[str, ...] | None = None
    time: Time | None = None
    rateable: bool | None = None
    rating: str | None = None
    matched: bool | None = None
    tags: Tags | None = None


class Category(_Obj, frozen=True):
    """A category in a provider's catalog."""

    id: str | None = None
    parent_category_id: str | None = None
    descriptor: Descriptor | None = None
    tags: Tags | None = None


class Location(_Obj, frozen=True):
    """A place: a provider's shop or factory, a stop of a fulfillment."""

    id: str | None = None
    descriptor: Descriptor | None = None
    gps: str | None = None
    address: str | Json | None = None
    area_code: str | None = None
    city: City | None = None
    country: Country | None = None
    state: Json | None = None


class Stop(_Obj, frozen=True):
    """A pickup or drop point of a fulfillment."""

    id: str | None = None
    type: str | None = None
    location: Location | None = None
    time: Time | None = None
    instructions: Descriptor | None = None
    contact: Json | None = None


class State(_Obj, frozen=True):
    """The state of a fulfillment or order, named by ``descriptor.code``."""

    descriptor: Descriptor | None = None
    updated_at: AwareDatetime | None = None
    updated_by: str | None = None


class Fulfillment(_Obj, frozen=True):
    """How an order is delivered: type, stops, tracking and state."""

    id: str | None = None
    type: str | None = None
    state: State | None = None
    tracking: bool | None = None
    customer: Json | None = None
    agent: Json | None = None
    contact: Json | None = None
    stops: tuple[Stop, ...] | None = None
    rateable: bool | None = None
    tags: Tags | None = None


class Payment(_Obj, frozen=True):
    """How and when money moves."""

    id: str | None = None
    collected_by: str | None = None
    url: str | None = None
    params: Json | None = None
    type: str | None = None
    status: str | None = None
    time: Time | None = None
    tags: Tags | None = None


class Offer(_Obj, frozen=True):
    """A discount or scheme a provider offers."""

    id: str | None = None
    descriptor: Descriptor | None = None
    location_ids: tuple[str, ...] | None = None
    category_ids: tuple[str, ...] | None = None
    item_ids: tuple[str, ...] | None = None
    time: Time | None = None
    tags: Tags | None = None


class Provider(_Obj, frozen=True):
    """A seller (or a seller's unit) with its catalog."""

    id: str | None = None
    descriptor: Descriptor | None = None
    category_id: str | None = None
    rating: str | None = None
    time: Time | None = None
    categories: tuple[Category, ...] | None = None
    fulfillments: tuple[Fulfillment, ...] | None = None
    payments: tuple[Payment, ...] | None = None
    locations: tuple[Location, ...] | None = None
    offers: tuple[Offer, ...] | None = None
    items: tuple[Item, ...] | None = None
    exp: AwareDatetime | None = None
    rateable: bool | None = None
    ttl: str | None = None
    tags: Tags | None = None


class Catalog(_Obj, frozen=True):
    """What a seller answers a search with."""

    descriptor: Descriptor | None = None
    fulfillments: tuple[Fulfillment, ...] | None = None
    payments: tuple[Payment, ...] | None = None
    offers: tuple[Offer, ...] | None = None
    providers: tuple[Provider, ...] | None = None
    exp: AwareDatetime | None = None
    ttl: str | None = None
    # ONDC 1.x / Beckn 0.9 prefix the catalog's keys.
    bpp_descriptor: Descriptor | None = msgspec.field(default=None, name="bpp/descriptor")
    bpp_providers: tuple[Provider, ...] | None = msgspec.field(default=None, name="bpp/providers")
    bpp_fulfillments: tuple[Fulfillment, ...] | None = msgspec.field(
        default=None, name="bpp/fulfillments"
    )

    @property
    def all_providers(self) -> tuple[Provider, ...]:
        """The providers, whichever key carried them."""
        return self.providers or self.bpp_providers or ()


class Intent(_Obj, frozen=True):
    """What a buyer searches for."""

    descriptor: Descriptor | None = None
    provider: Provider | None = None
    fulfillment: Fulfillment | None = None
    payment: Payment | None = None
    category: Category | None = None
    offer: Offer | None = None
    item: Item | None = None
    tags: Tags | None = None


class BreakupLine(_Obj, frozen=True):
    """One line of a quote's price breakup."""

    item: Item | None = None
    title: str | None = None
    price: Price | None = None


class Quote(_Obj, frozen=True):
    """A priced offer for an order, with its breakup and how long it holds."""

    id: str | None = None
    price: Price | None = None
    breakup: tuple[BreakupLine, ...] | None = None
    ttl: Duration | None = None


class Billing(_Obj, frozen=True):
    """Who pays, and where the invoice goes."""

    name: str | None = None
    organization: Json | None = None
    address: str | Json | None = None
    state: Json | None = None
    city: Json | None = None
    email: str | None = None
    phone: str | None = None
    time: Time | None = None
    tax_id: str | None = None


class Cancellation(_Obj, frozen=True):
    """Who cancelled, when, and why."""

    time: AwareDatetime | None = None
    cancelled_by: str | None = None
    reason: Json | None = None
    additional_description: Descriptor | None = None


class CancellationTerm(_Obj, frozen=True):
    """Under which fulfillment state an order may be cancelled, and at what fee."""

    fulfillment_state: State | None = None
    reason_required: bool | None = None
    cancel_by: Time | None = None
    cancellation_fee: Json | None = None
    external_ref: Json | None = None


class Order(_Obj, frozen=True):
    """An order, from a draft at select to a confirmed order and its lifecycle."""

    id: str | None = None
    ref_order_ids: tuple[str, ...] | None = None
    status: str | None = None
    type: str | None = None
    provider: Provider | None = None
    items: tuple[Item, ...] | None = None
    add_ons: tuple[Json, ...] | None = None
    offers: tuple[Offer, ...] | None = None
    billing: Billing | None = None
    fulfillments: tuple[Fulfillment, ...] | None = None
    cancellation: Cancellation | None = None
    cancellation_terms: tuple[CancellationTerm, ...] | None = None
    refund_terms: tuple[Json, ...] | None = None
    quote: Quote | None = None
    payments: tuple[Payment, ...] | None = None
    created_at: AwareDatetime | None = None
    updated_at: AwareDatetime | None = None
    tags: Tags | None = None


class Tracking(_Obj, frozen=True):
    """Where to follow a fulfillment live."""

    id: str | None = None
    url: str | None = None
    location: Location | None = None
    status: str | None = None


class Rating(_Obj, frozen=True):
    """A rating of an item, order, fulfillment, provider, agent or support."""

    rating_category: str | None = None
    id: str | None = None
    value: str | None = None


class Support(_Obj, frozen=True):
    """How to reach a human about an order."""

    ref_id: str | None = None
    callback_phone: str | None = None
    phone: str | None = None
    email: str | None = None
    url: str | None = None
