"""A carrier's lanes (as imported) and the shipments booked on them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import msgspec
from sqlalchemy import Column, Float, Index, Integer, String, Table, Text, delete, insert, select
from sqlalchemy import update as sql_update
from sqlalchemy.engine import Connection

from supplymesh.adapters.node_store import metadata
from supplymesh.domain.logistics import Bookings, Lane

lsp_lanes = Table(
    "lsp_lanes",
    metadata,
    Column("id", String(255), primary_key=True),
    Column("body", Text, nullable=False),
)
lsp_bookings = Table(
    "lsp_bookings",
    metadata,
    Column("transaction_id", String(255), primary_key=True),
    Column("order_id", String(255), nullable=False),
    Column("lane_id", String(255), nullable=False),
    Column("pickup", String(10), nullable=False),
    Column("delivery", String(10), nullable=False),
    Column("packages", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    Column("updated_at", Float, nullable=False),
    Index("ix_lsp_bookings_lane_pickup", "lane_id", "pickup"),
)

BOOKED = "booked"
HOLDING_STATES = (BOOKED, "picked-up")
"""Bookings that take a lane's capacity on their pickup day."""

_LANE = msgspec.json.Decoder(Lane)


@dataclass(frozen=True, slots=True)
class Booking:
    """A shipment a carrier accepted: its lane, days, size and state."""

    transaction_id: str
    order_id: str
    lane_id: str
    pickup: date
    delivery: date
    packages: int
    state: str


def _booking(row: Any) -> Booking:
    return Booking(
        transaction_id=row.transaction_id,
        order_id=row.order_id,
        lane_id=row.lane_id,
        pickup=date.fromisoformat(row.pickup),
        delivery=date.fromisoformat(row.delivery),
        packages=row.packages,
        state=row.state,
    )


def replace_lanes(connection: Connection, lanes: Iterable[Lane]) -> None:
    """Replace every lane (bookings are kept)."""
    connection.execute(delete(lsp_lanes))
    for lane in lanes:
        connection.execute(
            insert(lsp_lanes).values(id=lane.id, body=msgspec.json.encode(lane).decode())
        )


def lanes(connection: Connection) -> tuple[Lane, ...]:
    """Every lane, by id."""
    query = select(lsp_lanes.c.body).order_by(lsp_lanes.c.id)
    return tuple(_LANE.decode(body) for body in connection.execute(query).scalars())


def lock_lanes(connection: Connection) -> None:
    """Hold the lanes until the transaction ends (PostgreSQL; SQLite's BEGIN IMMEDIATE already
    serialises writers), so two bookings cannot take the same free capacity."""
    if connection.dialect.name == "postgresql":
        connection.execute(select(lsp_lanes.c.id).with_for_update()).all()


def load(connection: Connection, since: date) -> Bookings:
    """Packages booked per (lane, pickup day) from ``since`` on."""
    query = select(lsp_bookings.c.lane_id, lsp_bookings.c.pickup, lsp_bookings.c.packages).where(
        lsp_bookings.c.state.in_(HOLDING_STATES), lsp_bookings.c.pickup >= since.isoformat()
    )
    booked: dict[tuple[str, date], int] = {}
    for lane_id, pickup, packages in connection.execute(query):
        key = (lane_id, date.fromisoformat(pickup))
        booked[key] = booked.get(key, 0) + packages
    return booked


def add_booking(connection: Connection, booking: Booking, now: float) -> None:
    """Record an accepted shipment."""
    connection.execute(
        insert(lsp_bookings).values(
            transaction_id=booking.transaction_id,
            order_id=booking.order_id,
            lane_id=booking.lane_id,
            pickup=booking.pickup.isoformat(),
            delivery=booking.delivery.isoformat(),
            packages=booking.packages,
            state=booking.state,
            updated_at=now,
        )
    )


def booking(connection: Connection, transaction_id: str) -> Booking | None:
    """The booking made in a transaction."""
    row = connection.execute(
        select(lsp_bookings).where(lsp_bookings.c.transaction_id == transaction_id)
    ).first()
    return _booking(row) if row is not None else None


def bookings(connection: Connection) -> list[Booking]:
    """Every booking, by pickup day."""
    query = select(lsp_bookings).order_by(lsp_bookings.c.pickup, lsp_bookings.c.transaction_id)
    return [_booking(row) for row in connection.execute(query)]


def set_state(connection: Connection, transaction_id: str, state: str, now: float) -> None:
    """Move a booking on (picked up, delivered, cancelled)."""
    connection.execute(
        sql_update(lsp_bookings)
        .where(lsp_bookings.c.transaction_id == transaction_id)
        .values(state=state, updated_at=now)
    )


def move_booking(
    connection: Connection, transaction_id: str, moved: tuple[str, date, date], now: float
) -> None:
    """A booked shipment moves to another (lane, pickup, delivery)."""
    lane_id, pickup, delivery = moved
    connection.execute(
        sql_update(lsp_bookings)
        .where(lsp_bookings.c.transaction_id == transaction_id)
        .values(
            lane_id=lane_id,
            pickup=pickup.isoformat(),
            delivery=delivery.isoformat(),
            updated_at=now,
        )
    )
