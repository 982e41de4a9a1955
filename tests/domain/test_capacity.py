"""Work centers, calendars, the load ledger and earliest-slot scheduling."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D
from types import MappingProxyType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from supplymesh.domain.capacity import (
    EMPTY_LEDGER,
    CapacityBoard,
    InvalidCapacity,
    LoadLedger,
    Moment,
    Piece,
    UnknownWorkCenter,
    WorkCenter,
    schedule,
)

MON = date(2026, 11, 30)
TUE, WED, THU, FRI, SAT = (MON + timedelta(days=n) for n in range(1, 6))
NEXT_MON = MON + timedelta(days=7)
SAW = WorkCenter("SAW", D(8))


def ledger(entries: dict[tuple[str, date], D]) -> LoadLedger:
    return LoadLedger(MappingProxyType(entries))


def test_capacity_follows_the_calendar() -> None:
    """Hours on working weekdays; nothing at weekends or on holidays."""
    center = WorkCenter("FINISH", D(6), holidays=frozenset({THU}))
    assert center.capacity_on(WED) == D(6)
    assert center.capacity_on(THU) == 0
    assert center.capacity_on(SAT) == 0
    six_days = WorkCenter("PRESS", D(7), working_weekdays=frozenset(range(6)))
    assert six_days.capacity_on(SAT) == D(7)


def test_an_operation_spans_days_and_skips_the_weekend() -> None:
    """20 h on an 8 h/day saw from Friday: Friday 8, Monday 8, Tuesday 4."""
    slot = CapacityBoard([SAW]).book("SAW", D(20), Moment(FRI))
    assert slot.start == Moment(FRI)
    assert slot.finish == Moment(NEXT_MON + timedelta(days=1), D(4))
    assert slot.load == ((FRI, D(8)), (NEXT_MON, D(8)), (NEXT_MON + timedelta(days=1), D(4)))


def test_hours_already_booked_come_first() -> None:
    """With 6 h booked on Monday, a 4 h job runs Monday 6-8 and Tuesday 0-2."""
    board = CapacityBoard([SAW], ledger({("SAW", MON): D(6)}))
    slot = board.book("SAW", D(4), Moment(MON))
    assert (slot.start, slot.finish) == (Moment(MON, D(6)), Moment(TUE, D(2)))
    assert board.ledger().booked("SAW", MON) == D(8)
    assert board.ledger().booked("SAW", TUE) == D(2)


def test_an_operation_never_starts_before_its_earliest_moment() -> None:
    """A job that can start at Monday +5 h runs 5-8 and on into Tuesday."""
    board = CapacityBoard([SAW])
    first = board.book("SAW", D(4), Moment(MON, D(5)))
    assert (first.start, first.finish) == (Moment(MON, D(5)), Moment(TUE, D(1)))
    assert first.load == ((MON, D(3)), (TUE, D(1)))


def test_a_later_job_fills_the_gap_an_earlier_one_left_idle() -> None:
    """Monday 0-5 h was left idle by a job that had to wait; a 7 h job takes it, then Tuesday."""
    board = CapacityBoard([SAW])
    board.book("SAW", D(4), Moment(MON, D(5)))
    second = board.book("SAW", D(7), Moment(MON))
    assert [(p.day, p.begin, p.end) for p in second.pieces] == [
        (MON, D(0), D(5)),
        (TUE, D(1), D(3)),
    ]
    assert board.ledger().booked("SAW", MON) == D(8)
    assert board.ledger().booked("SAW", TUE) == D(3)


def test_an_earliest_moment_after_the_shift_moves_to_the_next_working_day() -> None:
    """Ready at Friday +8 h on an 8 h day: the next slot is Monday morning."""
    slot = CapacityBoard([SAW]).book("SAW", D(1), Moment(FRI, D(8)))
    assert slot.start == Moment(NEXT_MON)


def test_holidays_are_skipped() -> None:
    """A holiday on Thursday pushes Wednesday's overflow to Friday."""
    finish = WorkCenter("FINISH", D(6), holidays=frozenset({THU}))
    slot = CapacityBoard([finish]).book("FINISH", D(8), Moment(WED))
    assert slot.load == ((WED, D(6)), (FRI, D(2)))


def test_zero_hours_take_no_capacity() -> None:
    """A zero-hour step finishes where it starts and books nothing."""
    board = CapacityBoard([SAW])
    slot = board.book("SAW", D(0), Moment(SAT))
    assert slot.start == slot.finish == Moment(SAT)
    assert board.ledger() == EMPTY_LEDGER


def test_unknown_work_centers_and_bad_calendars_are_refused() -> None:
    """Booking or loading an undefined work center; a week with no working day."""
    with pytest.raises(UnknownWorkCenter):
        CapacityBoard([SAW]).book("LATHE", D(1), Moment(MON))
    with pytest.raises(UnknownWorkCenter):
        CapacityBoard([SAW], ledger({("LATHE", MON): D(1)}))
    with pytest.raises(InvalidCapacity):
        WorkCenter("X", D(8), working_weekdays=frozenset())
    with pytest.raises(InvalidCapacity):
        WorkCenter("X", D(0))


def test_schedule_returns_a_new_ledger_and_leaves_the_old_one_alone() -> None:
    """The pure form: other work centers' bookings are kept, the input is unchanged."""
    before = ledger({("SAW", MON): D(7), ("FINISH", MON): D(3)})
    slot, after = schedule(SAW, before, D(3), Moment(MON))
    assert slot.load == ((MON, D(1)), (TUE, D(2)))
    assert before.booked("SAW", MON) == D(7)
    assert after.entries() == [
        ("FINISH", MON, D(3)),
        ("SAW", MON, D(8)),
        ("SAW", TUE, D(2)),
    ]


centers = st.builds(
    WorkCenter,
    id=st.sampled_from(["A", "B"]),
    hours_per_day=st.sampled_from([D(4), D("7.5"), D(8), D(16)]),
    working_weekdays=st.frozensets(st.integers(0, 6), min_size=1),
    holidays=st.frozensets(st.sampled_from([MON + timedelta(days=n) for n in range(21)])),
)
jobs = st.lists(
    st.tuples(
        st.integers(0, 20),
        st.decimals(min_value=D(0), max_value=D(8), places=1),
        st.decimals(min_value=D(0), max_value=D(30), places=1),
    ),
    max_size=25,
)


@given(centers, jobs)
def test_no_day_is_ever_loaded_beyond_its_capacity(
    center: WorkCenter, work: list[tuple[int, D, D]]
) -> None:
    """Any jobs, any order: days within capacity, no overlap, all hours booked, none too early."""
    board = CapacityBoard([center])
    taken: list[Piece] = []
    for offset, hour, hours in work:
        earliest = Moment(MON + timedelta(days=offset), hour)
        free_before = {
            day: center.capacity_on(day) - board.ledger().booked(center.id, day)
            for day in (earliest.day + timedelta(days=n) for n in range(7))
        }
        slot = board.book(center.id, hours, earliest)
        assert sum((p.hours for p in slot.pieces), D(0)) == hours
        for piece in slot.pieces:
            assert 0 <= piece.begin < piece.end <= center.capacity_on(piece.day)
            assert all(
                p.day != piece.day or p.end <= piece.begin or piece.end <= p.begin for p in taken
            ), "two jobs overlap"
        taken.extend(slot.pieces)
        assert slot.start >= earliest
        if hours:
            # Earliest slot: every day between the earliest day and the start day was full.
            day = earliest.day + timedelta(days=1)
            while day < slot.start.day and day in free_before:
                assert free_before[day] <= 0
                day += timedelta(days=1)
    for center_id, day, hours in board.ledger().entries():
        assert center_id == center.id
        assert 0 < hours <= center.capacity_on(day)
