"""The shipment wire both ends read: a shipper's request, a carrier's answer, and bad ones."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import msgspec
import pytest

from supplymesh.domain.errors import DomainError
from supplymesh.domain.logistics import ShipmentQuote, ShipmentRequest
from supplymesh.protocol import schema as s
from supplymesh.protocol.errors import ProtocolError
from supplymesh.services import carrier

TODAY = date(2026, 11, 30)
REQUEST = ShipmentRequest("std:080", "std:022", date(2026, 12, 3), 12)


def test_a_request_reads_back_as_it_was_built() -> None:
    """Origin, destination, ready day and packages survive the wire."""
    order = carrier.request_order("lsp.example", REQUEST)
    assert carrier.shipment_request(order, TODAY) == REQUEST


def test_a_ready_day_in_the_past_or_missing_means_today() -> None:
    """A shipper cannot book yesterday's pickup; no day given is ready now."""
    past = carrier.request_order("lsp.example", ShipmentRequest("a", "b", date(2026, 1, 1), 1))
    assert carrier.shipment_request(past, TODAY).ready == TODAY
    order = carrier.request_order("lsp.example", REQUEST)
    assert order.fulfillments is not None
    assert order.fulfillments[0].stops is not None
    start, end = order.fulfillments[0].stops
    undated = msgspec.structs.replace(
        order,
        fulfillments=(
            msgspec.structs.replace(
                order.fulfillments[0], stops=(msgspec.structs.replace(start, time=None), end)
            ),
        ),
    )
    assert carrier.shipment_request(undated, TODAY).ready == TODAY


def test_an_answer_reads_back_with_its_days_and_price() -> None:
    """The carrier's lane, pickup, delivery and tariff, as the shipper reads them."""
    quoted = ShipmentQuote(
        "blr-bom", 12, date(2026, 12, 4), date(2026, 12, 6), Decimal("1700.00"), "INR"
    )
    answer = carrier.read_answer(carrier.answer_order("lsp.example", REQUEST, quoted))
    assert (answer.lane_id, answer.pickup, answer.delivery) == (
        "blr-bom", date(2026, 12, 4), date(2026, 12, 6)
    )  # fmt: skip
    assert (answer.price, answer.currency) == (Decimal("1700.00"), "INR")


def _without_stop(kind: str) -> s.Order:
    order = carrier.request_order("lsp.example", REQUEST)
    assert order.fulfillments is not None
    assert order.fulfillments[0].stops is not None
    kept = tuple(stop for stop in order.fulfillments[0].stops if stop.type != kind)
    return msgspec.structs.replace(
        order, fulfillments=(msgspec.structs.replace(order.fulfillments[0], stops=kept),)
    )


@pytest.mark.parametrize("kind", ["start", "end"])
def test_a_request_without_both_stops_is_refused_with_the_path(kind: str) -> None:
    """No start or no end stop: a 30000 NACK naming the stops."""
    with pytest.raises(ProtocolError, match="start and an end stop") as refused:
        carrier.shipment_request(_without_stop(kind), TODAY)
    assert refused.value.path.endswith("fulfillments[0].stops")


def test_a_stop_without_a_city_or_with_a_bad_date_is_refused() -> None:
    """Where the city or the date is wrong is named."""
    order = carrier.request_order("lsp.example", REQUEST)
    assert order.fulfillments is not None
    assert order.fulfillments[0].stops is not None
    start, end = order.fulfillments[0].stops
    for bad_start, reason in (
        (msgspec.structs.replace(start, location=s.Location()), "city code"),
        (msgspec.structs.replace(start, time=s.Time(range={"start": "soon"})), "not a date"),
    ):
        broken = msgspec.structs.replace(
            order,
            fulfillments=(msgspec.structs.replace(order.fulfillments[0], stops=(bad_start, end)),),
        )
        with pytest.raises(ProtocolError, match=reason):
            carrier.shipment_request(broken, TODAY)


def test_two_services_in_one_request_are_refused() -> None:
    """A shipment is one service."""
    order = carrier.request_order("lsp.example", REQUEST)
    assert order.items is not None
    twice = msgspec.structs.replace(order, items=(order.items[0], order.items[0]))
    with pytest.raises(DomainError, match="exactly one service"):
        carrier.shipment_request(twice, TODAY)


def test_an_answer_without_shipping_tags_or_price_is_unusable() -> None:
    """The shipper moves on to the next carrier rather than guess."""
    with pytest.raises(DomainError, match="no shipping tags"):
        carrier.read_answer(s.Order())
    quoted = ShipmentQuote("l", 1, TODAY, TODAY, Decimal(1), "INR")
    priceless = msgspec.structs.replace(
        carrier.answer_order("lsp.example", REQUEST, quoted), quote=None
    )
    with pytest.raises(DomainError, match="no price"):
        carrier.read_answer(priceless)
