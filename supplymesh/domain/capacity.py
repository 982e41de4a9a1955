"""Work centers with finite daily capacity, the load already booked on them, and scheduling.

Capacity is a number of hours per working day; a calendar says which weekdays are worked and
which dates are holidays. Time inside a day is counted in hours from the start of that work
center's shift (a :class:`Moment`); hours already booked in the ledger are taken to fill the
start of their day.

Scheduling puts an operation at the earliest slot that fits from a given moment: it takes the
free hours of each working day in turn, from that moment on, until its hours are used up. An
operation may so span days, weekends and holidays, and may fill a gap that an operation booked
earlier left idle (one that had to wait for its predecessor). No two operations on a work center
overlap, and no day is ever loaded beyond its capacity. :class:`CapacityBoard` does this for many
operations in a row (the one mutable object here, local to one planning run); :func:`schedule`
is the pure one-operation form that returns a new ledger.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from types import MappingProxyType
from typing import NamedTuple

from supplymesh.domain.errors import DomainError

ZERO = Decimal(0)
WEEKDAYS = frozenset(range(5))
"""Monday to Friday (``date.weekday()`` numbers)."""


class UnknownWorkCenter(DomainError):
    """A routing or booking names a work center that is not defined."""


class InvalidCapacity(DomainError):
    """A work center or ledger entry that cannot be scheduled against."""


class Moment(NamedTuple):
    """A point in planning time: a date and the hours elapsed in that day's shift.

    A named tuple, not a dataclass: planning creates and compares moments by the hundred
    thousand; tuples compare natively, and the garbage collector stops tracking tuples of
    plain values.
    """

    day: date
    hour: Decimal = ZERO

    def __str__(self) -> str:
        return f"{self.day.isoformat()} +{hours_text(self.hour)} h" if self.hour else str(self.day)


def hours_text(hours: Decimal) -> str:
    """``Decimal('1.50')`` as ``1.5``, ``Decimal('100')`` as ``100``."""
    return f"{hours.normalize():f}"


@dataclass(frozen=True, slots=True)
class WorkCenter:
    """A place where work is done, ``hours_per_day`` on each working day of its calendar."""

    id: str
    hours_per_day: Decimal
    working_weekdays: frozenset[int] = WEEKDAYS
    holidays: frozenset[date] = frozenset()
    name: str = ""

    def __post_init__(self) -> None:
        if self.hours_per_day <= 0 or self.hours_per_day > 24:
            raise InvalidCapacity(f"work center {self.id}: hours per day must be in (0, 24]")
        if not self.working_weekdays or not self.working_weekdays <= frozenset(range(7)):
            raise InvalidCapacity(
                f"work center {self.id}: working weekdays must be a non-empty subset of 0..6"
            )

    def capacity_on(self, day: date) -> Decimal:
        """Hours available on ``day``: 0 on a day off or a holiday."""
        if day.weekday() not in self.working_weekdays or day in self.holidays:
            return ZERO
        return self.hours_per_day


@dataclass(frozen=True, slots=True)
class LoadLedger:
    """Hours booked per (work center, date); absent entries are 0."""

    hours: Mapping[tuple[str, date], Decimal] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        for (center, day), booked in self.hours.items():
            if booked < 0:
                raise InvalidCapacity(f"work center {center} on {day}: booked hours below 0")

    def booked(self, work_center_id: str, day: date) -> Decimal:
        """Hours booked on the work center that day."""
        return self.hours.get((work_center_id, day), ZERO)

    def entries(self) -> list[tuple[str, date, Decimal]]:
        """Every booking, sorted by work center then date."""
        return sorted((c, d, h) for (c, d), h in self.hours.items())


EMPTY_LEDGER = LoadLedger()


class Piece(NamedTuple):
    """A stretch of one day an operation runs in: from hour ``begin`` to hour ``end``."""

    day: date
    begin: Decimal
    end: Decimal

    @property
    def hours(self) -> Decimal:
        """Its length."""
        return self.end - self.begin


@dataclass(frozen=True, slots=True)
class Slot:
    """Where an operation was put: its work center, start, finish and the pieces it runs in."""

    work_center_id: str
    hours: Decimal
    start: Moment
    finish: Moment
    pieces: tuple[Piece, ...]

    @property
    def load(self) -> tuple[tuple[date, Decimal], ...]:
        """Hours per day, in day order."""
        per_day: dict[date, Decimal] = {}
        for piece in self.pieces:
            per_day[piece.day] = per_day.get(piece.day, ZERO) + piece.hours
        return tuple(per_day.items())


class _Center:
    """One work center during a run: busy hours per day and a skip list over full days."""

    __slots__ = ("booked", "busy", "cap", "center", "holidays", "skip")

    def __init__(self, center: WorkCenter) -> None:
        self.center = center
        self.cap = tuple(
            center.hours_per_day if weekday in center.working_weekdays else ZERO
            for weekday in range(7)
        )
        self.holidays = frozenset(day.toordinal() for day in center.holidays)
        self.booked: dict[int, Decimal] = {}  # hours of work booked per day (ordinal)
        self.busy: dict[int, list[tuple[Decimal, Decimal]]] = {}  # sorted, disjoint
        self.skip: dict[int, int] = {}  # a full day -> a later day that may have room

    def capacity(self, ordinal: int) -> Decimal:
        # date(1, 1, 1) has ordinal 1 and is a Monday.
        return ZERO if ordinal in self.holidays else self.cap[(ordinal - 1) % 7]

    def first_open(self, ordinal: int) -> int:
        """The first day from ``ordinal`` with free hours (union-find over full days)."""
        path = []
        while True:
            nxt = self.skip.get(ordinal)
            if nxt is None:
                if self.booked.get(ordinal, ZERO) < self.capacity(ordinal):
                    break
                nxt = ordinal + 1
                self.skip[ordinal] = nxt
            path.append(ordinal)
            ordinal = nxt
        for day in path:
            self.skip[day] = ordinal
        return ordinal

    def take(self, ordinal: int, after: Decimal, hours: Decimal) -> list[tuple[Decimal, Decimal]]:
        """Book up to ``hours`` of the day's free time from hour ``after``; the pieces taken."""
        capacity = self.capacity(ordinal)
        busy = self.busy.get(ordinal, [])
        pieces: list[tuple[Decimal, Decimal]] = []
        cursor = after
        for begin, end in [*busy, (capacity, capacity)]:
            if hours <= 0 or cursor >= capacity:
                break
            if begin > cursor:
                piece = min(begin, capacity, cursor + hours) - cursor
                pieces.append((cursor, cursor + piece))
                hours -= piece
            cursor = max(cursor, end)
        if pieces:
            self.busy[ordinal] = _merge(busy, pieces)
            used = sum((end - begin for begin, end in pieces), ZERO)
            self.booked[ordinal] = self.booked.get(ordinal, ZERO) + used
        return pieces


def _merge(
    busy: list[tuple[Decimal, Decimal]], pieces: list[tuple[Decimal, Decimal]]
) -> list[tuple[Decimal, Decimal]]:
    merged: list[tuple[Decimal, Decimal]] = []
    for begin, end in sorted([*busy, *pieces]):
        if merged and merged[-1][1] >= begin:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((begin, end))
    return merged


class CapacityBoard:
    """Books operations one after another on the work centers, starting from a ledger."""

    def __init__(self, work_centers: Iterable[WorkCenter], ledger: LoadLedger = EMPTY_LEDGER):
        self._centers: dict[str, _Center] = {}
        for center in work_centers:
            if center.id in self._centers:
                raise InvalidCapacity(f"work center {center.id} is defined twice")
            self._centers[center.id] = _Center(center)
        for (center_id, day), hours in ledger.hours.items():
            state = self._centers.get(center_id)
            if state is None:
                raise UnknownWorkCenter(f"the load ledger books unknown work center {center_id}")
            if hours > 0:
                state.busy[day.toordinal()] = [(ZERO, hours)]
                state.booked[day.toordinal()] = hours

    def work_center(self, work_center_id: str) -> WorkCenter:
        """The work center, or :class:`UnknownWorkCenter`."""
        try:
            return self._centers[work_center_id].center
        except KeyError:
            raise UnknownWorkCenter(f"no work center {work_center_id!r}") from None

    def book(self, work_center_id: str, hours: Decimal, earliest: Moment) -> Slot:
        """Book ``hours`` at the earliest slot that fits from ``earliest``; may span days."""
        self.work_center(work_center_id)
        if hours < 0:
            raise InvalidCapacity(f"cannot book {hours} hours")
        state = self._centers[work_center_id]
        first = ordinal = earliest.day.toordinal()
        remaining = hours
        pieces: list[Piece] = []
        while remaining > 0:
            ordinal = state.first_open(ordinal)
            day = date.fromordinal(ordinal)
            for begin, end in state.take(
                ordinal, earliest.hour if ordinal == first else ZERO, remaining
            ):
                pieces.append(Piece(day, begin, end))
                remaining -= end - begin
            ordinal += 1
        start = Moment(pieces[0].day, pieces[0].begin) if pieces else earliest
        finish = Moment(pieces[-1].day, pieces[-1].end) if pieces else earliest
        return Slot(work_center_id, hours, start, finish, tuple(pieces))

    def ledger(self) -> LoadLedger:
        """Everything booked so far, the starting ledger included."""
        return LoadLedger(
            MappingProxyType(
                {
                    (center_id, date.fromordinal(ordinal)): hours
                    for center_id in sorted(self._centers)
                    for ordinal, hours in sorted(self._centers[center_id].booked.items())
                }
            )
        )


def schedule(
    center: WorkCenter, ledger: LoadLedger, hours: Decimal, earliest: Moment
) -> tuple[Slot, LoadLedger]:
    """Put one operation on ``center`` at the earliest slot from ``earliest``; the new ledger."""
    others = {key: value for key, value in ledger.hours.items() if key[0] != center.id}
    board = CapacityBoard(
        [center],
        LoadLedger(MappingProxyType({k: v for k, v in ledger.hours.items() if k[0] == center.id})),
    )
    slot = board.book(center.id, hours, earliest)
    merged = {**others, **board.ledger().hours}
    return slot, LoadLedger(MappingProxyType(dict(sorted(merged.items()))))
