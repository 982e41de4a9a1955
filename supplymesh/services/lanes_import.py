"""A carrier's lanes file (JSON), every fault named by where it is.

```json
{"lanes": [{"id": "blr-bom", "origin": "std:080", "destination": "std:022",
            "transit_days": 2, "capacity_per_day": 40,
            "base_price": "600", "package_price": "150", "currency": "INR",
            "pickup_weekdays": [0, 1, 2, 3, 4, 5], "holidays": ["2026-12-25"]}]}
```

Cities are the network's city codes (ONDC ``std:…``); weekdays are ``date.weekday()`` numbers
(Monday 0); capacity counts packages picked up per day.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import msgspec

from supplymesh.domain.errors import DomainError
from supplymesh.domain.logistics import Lane


class LanesFileError(ValueError):
    """A lanes file cannot be imported; the message says where and why."""


class _Lane(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: str
    origin: str
    destination: str
    transit_days: int
    capacity_per_day: int
    base_price: Decimal = Decimal(0)
    package_price: Decimal = Decimal(0)
    currency: str = "INR"
    pickup_weekdays: list[int] = msgspec.field(default_factory=lambda: list(range(7)))
    holidays: list[date] = msgspec.field(default_factory=list)


class _File(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    lanes: list[_Lane]


def lanes_from_json(raw: bytes) -> tuple[Lane, ...]:
    """Parse and check a lanes file: all of it, or an error naming the fault."""
    try:
        parsed = msgspec.json.decode(raw, type=_File)
    except msgspec.ValidationError as exc:
        raise LanesFileError(f"lanes: {exc}") from None
    except msgspec.DecodeError as exc:
        raise LanesFileError(f"lanes file is not JSON: {exc}") from None
    lanes = []
    for index, lane in enumerate(parsed.lanes):
        try:
            lanes.append(
                Lane(
                    id=lane.id,
                    origin=lane.origin,
                    destination=lane.destination,
                    transit_days=lane.transit_days,
                    capacity_per_day=lane.capacity_per_day,
                    base_price=lane.base_price,
                    package_price=lane.package_price,
                    currency=lane.currency,
                    pickup_weekdays=frozenset(lane.pickup_weekdays),
                    holidays=frozenset(lane.holidays),
                )
            )
        except DomainError as exc:
            raise LanesFileError(f"lanes[{index}]: {exc.message}") from None
    ids = [lane.id for lane in lanes]
    if len(set(ids)) != len(ids):
        raise LanesFileError(f"lanes: an id is used twice in {ids}")
    return tuple(lanes)


def lanes_from_file(path: Path) -> tuple[Lane, ...]:
    """Read and parse a lanes file."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise LanesFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    return lanes_from_json(raw)
