"""MRP: explosion, netting, lot sizing, finite-capacity scheduling, promises and re-planning.

The furniture example, computed by hand (today is Monday 2026-11-30):

    TABLE  = 1 TOP + 4 LEG + 1 HW;      ASSEMBLY 0.5 h setup + 1 h/table   (8 h/day, Mon-Fri)
    TOP    = 3 B-01 boards, 10 % scrap; SAW 1 h setup + 1.5 h/top          (8 h/day, Mon-Fri)
                                         then FINISH 2 h/top  (6 h/day, Mon-Fri, Thu 3 Dec off)
    LEG    = 0.25 T-01 timber;          SAW 0.5 h/leg
    B-01   bought: 5 days by default; the sourcing rule's first mill quotes 3 days
    T-01   bought from timber.example, 4 days; open order PO-T1 brings 2 on Wed 2 Dec
    HW     bought, 2 days; 5 on hand, 2 reserved
    stock: 4 boards

Demand D1, 2 tables:
    HW     2 from stock, ready today
    B-01   2 x 3 x 1.1 = 6.6; 4 from stock, 2.6 net -> buy 3 from mill.example, due Thu 3 Dec
    T-01   8 legs x 0.25 = 2, all from PO-T1, Wed 2 Dec
    LEG    8 legs: SAW 4 h, Wed 0-4 h
    TOP    2 tops, boards ready Thu: SAW 1 + 3 = 4 h, Thu 0-4 h; FINISH 4 h: Thu is off,
           so Fri 0-4 h
    TABLE  ready Fri +4 h: ASSEMBLY 0.5 + 2 = 2.5 h, Fri 4-6.5 h    -> promise Fri 4 Dec

Demand D2, 2 more tables, planned after D1:
    HW     1 from stock, 1 bought (2 days, Wed);  B-01 0.4 left over from D1's 3, 7 bought (Thu)
    T-01   PO-T1 is used up: 2 bought from timber.example, 4 days -> Fri 4 Dec
    LEG    SAW Fri 0-4 h
    TOP    SAW Thu 4-8 h (D1 has 0-4); FINISH Fri 4-6 h (D1 has 0-4), Mon 7 Dec 0-2 h
    TABLE  ASSEMBLY Mon 2-4.5 h                                    -> promise Mon 7 Dec
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal as D
from types import MappingProxyType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supplymesh.domain.bom import (
    BomLine,
    Item,
    LotRule,
    LotSizing,
    Operation,
    Procurement,
    ProductStructure,
    Routing,
)
from supplymesh.domain.capacity import (
    EMPTY_LEDGER,
    LoadLedger,
    Moment,
    UnknownWorkCenter,
    WorkCenter,
)
from supplymesh.domain.errors import UnknownItem
from supplymesh.domain.mrp import plan, replan
from supplymesh.domain.planning import (
    Demand,
    InvalidPlanInput,
    PlanInputs,
    ScheduledReceipt,
    StockLevel,
    SupplierQuote,
    SupplyKind,
)

MAKE, BUY = Procurement.MAKE, Procurement.BUY
MON = date(2026, 11, 30)
WED, THU, FRI = (MON + timedelta(days=n) for n in (2, 3, 4))
NEXT_MON, NEXT_TUE = MON + timedelta(days=7), MON + timedelta(days=8)


def furniture() -> ProductStructure:
    return ProductStructure.build(
        [
            Item("TABLE", "pcs", MAKE, name="table"),
            Item("TOP", "pcs", MAKE, name="top"),
            Item("LEG", "pcs", MAKE, name="leg"),
            Item("HW", "kit", BUY, lead_time_days=2, name="hardware"),
            Item("B-01", "pcs", BUY, lead_time_days=5, name="board"),
            Item("T-01", "pcs", BUY, lead_time_days=6, name="timber"),
        ],
        [
            BomLine("TABLE", "TOP", D(1)),
            BomLine("TABLE", "LEG", D(4)),
            BomLine("TABLE", "HW", D(1)),
            BomLine("TOP", "B-01", D(3), scrap_percent=D(10)),
            BomLine("LEG", "T-01", D("0.25")),
        ],
        [
            Routing("TABLE", (Operation(10, "ASSEMBLY", D(1), setup_hours=D("0.5")),)),
            Routing(
                "TOP",
                (
                    Operation(10, "SAW", D("1.5"), setup_hours=D(1)),
                    Operation(20, "FINISH", D(2)),
                ),
            ),
            Routing("LEG", (Operation(10, "SAW", D("0.5")),)),
        ],
    )


def workshop(*demands: Demand, **changes: object) -> PlanInputs:
    inputs = PlanInputs(
        demands=demands,
        structure=furniture(),
        today=MON,
        stock=MappingProxyType(
            {"HW": StockLevel(D(5), D(2)), "B-01": StockLevel(D(4)), "T-01": StockLevel()}
        ),
        receipts=(ScheduledReceipt("PO-T1", "T-01", D(2), WED, "timber.example"),),
        work_centers=(
            WorkCenter("SAW", D(8)),
            WorkCenter("FINISH", D(6), holidays=frozenset({THU})),
            WorkCenter("ASSEMBLY", D(8)),
        ),
        sourcing=MappingProxyType(
            {
                "B-01": (SupplierQuote("mill.example", 3), SupplierQuote("far-mill.example", 9)),
                "T-01": (SupplierQuote("timber.example", 4),),
            }
        ),
    )
    return replace(inputs, **changes)  # type: ignore[arg-type]


D1 = Demand("D1", "TABLE", D(2))
D2 = Demand("D2", "TABLE", D(2), priority=1)


def test_the_promise_date_is_the_one_computed_by_hand() -> None:
    """Two tables promised for Friday: boards arrive Thursday, the top is finished Friday."""
    result = plan(workshop(D1))
    promise = result.promise("D1")
    assert promise.date == FRI
    assert promise.ready == Moment(FRI, D("6.5"))
    assert [
        (p.id, p.quantity, p.supplier_id, p.order_date, p.due_date) for p in result.purchases
    ] == [("PR/D1/B-01", D(3), "mill.example", MON, THU)]
    assert [
        (p.id, p.quantity, [(o.work_center_id, o.start, o.finish) for o in p.operations])
        for p in result.productions
    ] == [
        ("MO/D1/TABLE", D(2), [("ASSEMBLY", Moment(FRI, D(4)), Moment(FRI, D("6.5")))]),
        ("MO/D1/LEG", D(8), [("SAW", Moment(WED), Moment(WED, D(4)))]),
        (
            "MO/D1/TOP",
            D(2),
            [
                ("SAW", Moment(THU), Moment(THU, D(4))),
                ("FINISH", Moment(FRI), Moment(FRI, D(4))),
            ],
        ),
    ]


def test_net_requirements_per_item_by_hand() -> None:
    """Gross, covered by stock and open orders, net, planned: item by low-level code."""
    result = plan(workshop(D1))
    assert [
        (r.item_id, r.low_level_code, r.gross, r.from_stock, r.from_receipts, r.net, r.planned)
        for r in result.requirements
    ] == [
        ("TABLE", 0, D(2), 0, 0, D(2), D(2)),
        ("HW", 1, D(2), D(2), 0, 0, 0),
        ("LEG", 1, D(8), 0, 0, D(8), D(8)),
        ("TOP", 1, D(2), 0, 0, D(2), D(2)),
        ("B-01", 2, D("6.6"), D(4), 0, D("2.6"), D(3)),
        ("T-01", 2, D(2), 0, D(2), 0, 0),
    ]


def test_the_critical_path_explains_the_promise_step_by_step() -> None:
    """Board lead time, then the top waiting for FINISH over its day off, then assembly."""
    promise = plan(workshop(D1)).promise("D1")
    assert [(s.item_id, s.kind) for s in promise.critical_path] == [
        ("B-01", SupplyKind.PURCHASE),
        ("TOP", SupplyKind.PRODUCTION),
        ("TABLE", SupplyKind.PRODUCTION),
    ]
    assert promise.explanation == (
        "board B-01: 3 days supplier lead time from mill.example for 3 pcs, due 2026-12-03"
        " → top TOP: make 2 pcs: 4 h on SAW (capacity 8 h/day) 2026-12-03 → 2026-12-03 +4 h,"
        " then 4 h on FINISH (capacity 6 h/day) 2026-12-04 → 2026-12-04 +4 h"
        " (waited for FINISH from 2026-12-03 +4 h)"
        " → table TABLE: make 2 pcs: 2.5 h on ASSEMBLY (capacity 8 h/day)"
        " 2026-12-04 +4 h → 2026-12-04 +6.5 h"
    )


def test_a_second_order_that_no_longer_fits_this_week_gets_next_monday() -> None:
    """Planned together, D2 queues behind D1 on SAW, FINISH and ASSEMBLY: Monday 7 Dec."""
    result = plan(workshop(D1, D2))
    assert result.promise("D1").date == FRI
    assert result.promise("D2").date == NEXT_MON
    assert result.promise("D2").ready == Moment(NEXT_MON, D("4.5"))
    assert [(p.id, p.quantity, p.due_date) for p in result.purchases] == [
        ("PR/D2/HW", D(1), WED),
        ("PR/D1/B-01", D(3), THU),
        ("PR/D2/B-01", D(7), THU),
        ("PR/D2/T-01", D(2), FRI),
    ]
    top = next(p for p in result.productions if p.id == "MO/D2/TOP")
    assert [(o.work_center_id, o.load) for o in top.operations] == [
        ("SAW", ((THU, D(4)),)),
        ("FINISH", ((FRI, D(2)), (NEXT_MON, D(2)))),
    ]
    assert "(waited for FINISH from 2026-12-03 +8 h)" in result.promise("D2").explanation


def test_the_same_order_alone_fits_this_week_and_after_confirming_d1_does_not() -> None:
    """D2 on an empty week is Friday; on the ledger D1's plan booked, it is Monday."""
    assert plan(workshop(D2)).promise("D2").date == FRI
    booked = plan(workshop(D1)).ledger
    assert booked.booked("SAW", WED) == D(4)
    assert booked.booked("FINISH", FRI) == D(4)
    assert plan(workshop(D2, ledger=booked)).promise("D2").date == NEXT_MON


def test_reserved_stock_is_not_available() -> None:
    """With all 5 kits reserved, the kit is bought: the plan shows the purchase."""
    result = plan(workshop(D1, stock={"HW": StockLevel(D(5), D(5))}))
    assert (result.purchases[0].item_id, result.purchases[0].due_date) == ("HW", WED)
    assert result.purchases[0].quantity == D(2)
    assert [(r.from_stock, r.net) for r in result.requirements if r.item_id == "HW"] == [(0, D(2))]


def test_a_sourcing_rule_overrides_the_items_lead_time() -> None:
    """Without the mill's 3-day quote, boards take the item's 5 days and the date slips."""
    result = plan(workshop(D1, sourcing={}))
    board = next(p for p in result.purchases if p.item_id == "B-01")
    assert (board.supplier_id, board.due_date) == (None, date(2026, 12, 5))
    # Boards on Saturday: SAW Mon 7 Dec 0-4 h, FINISH Mon 4-6 h and Tue 0-2 h, ASSEMBLY Tue.
    assert result.promise("D1").date == NEXT_TUE


def test_a_stocked_item_is_promised_today_from_stock() -> None:
    """A bought item on the shelf: promised today, one step, no orders."""
    result = plan(workshop(Demand("K", "HW", D(3))))
    promise = result.promise("K")
    assert promise.date == MON
    assert promise.explanation == "hardware HW: 3 kit from stock"
    assert result.purchases == ()


def test_lot_sizing_surplus_serves_the_next_demand() -> None:
    """A minimum batch of 10 kits bought for one demand covers the next one too."""
    structure = ProductStructure.build(
        [
            Item(
                "KIT",
                "kit",
                BUY,
                lead_time_days=2,
                lot_sizing=LotSizing(LotRule.MINIMUM_BATCH, D(10)),
            )
        ]
    )
    demands = (Demand("A", "KIT", D(4)), Demand("B", "KIT", D(5)), Demand("C", "KIT", D(3)))
    result = plan(PlanInputs(demands=demands, structure=structure, today=MON))
    assert [(p.id, p.quantity) for p in result.purchases] == [
        ("PR/A/KIT", D(10)),
        ("PR/C/KIT", D(10)),
    ]
    assert [p.date for p in result.promises] == [WED, WED, WED]
    (requirement,) = result.requirements
    assert (requirement.gross, requirement.net, requirement.planned) == (D(12), D(12), D(20))


def test_a_multiple_lot_rounds_up_and_made_items_explode_the_lot_not_the_need() -> None:
    """Tops in multiples of 5: 2 needed, 5 made, boards for 5."""
    structure = furniture()
    items = dict(structure.items)
    items["TOP"] = replace(items["TOP"], lot_sizing=LotSizing(LotRule.MULTIPLE, D(5)))
    rebuilt = ProductStructure.build(
        items.values(),
        [line for lines in structure.components.values() for line in lines],
        structure.routings.values(),
    )
    result = plan(workshop(D1, structure=rebuilt))
    top = next(p for p in result.productions if p.item_id == "TOP")
    assert top.quantity == D(5)
    board = next(r for r in result.requirements if r.item_id == "B-01")
    assert board.gross == D("16.5")


def test_a_timber_delay_moves_the_promise_and_says_why() -> None:
    """PO-T1 now due Monday: legs are sawn Monday, the table is promised Monday."""
    inputs = workshop(D1)
    before = plan(inputs)
    result = replan(before, inputs.with_receipt_due("PO-T1", NEXT_MON))
    (move,) = result.moves
    assert (move.demand_id, move.before, move.after) == ("D1", FRI, NEXT_MON)
    assert move.reason == (
        "promise moved from 2026-12-04 to 2026-12-07: now waits on timber T-01: 2 pcs on open"
        " order PO-T1 from timber.example, due 2026-12-07"
    )
    assert [s.item_id for s in result.plan.promise("D1").critical_path] == ["T-01", "LEG", "TABLE"]


def test_replanning_a_change_on_the_critical_path_names_the_old_date() -> None:
    """Boards on order for Thursday, delayed to Friday: the same step, a later date."""
    inputs = workshop(D1)
    inputs = replace(
        inputs,
        receipts=(*inputs.receipts, ScheduledReceipt("PO-B", "B-01", D(3), THU, "mill.example")),
    )
    before = plan(inputs)
    assert before.promise("D1").date == FRI
    assert before.purchases == ()
    # Boards Friday: SAW Fri 0-4 h, FINISH Fri 4-6 h and Mon 0-2 h, ASSEMBLY Mon 2-4.5 h.
    after = replan(before, inputs.with_receipt_due("PO-B", FRI))
    (move,) = after.moves
    assert (move.before, move.after) == (FRI, NEXT_MON)
    assert move.reason == (
        "promise moved from 2026-12-04 to 2026-12-07: board B-01: 2.6 pcs on open order PO-B"
        " from mill.example, due 2026-12-04 (was 2026-12-03)"
    )


def test_replanning_without_a_change_moves_nothing() -> None:
    """Same inputs, same dates: no moves."""
    inputs = workshop(D1, D2)
    assert replan(plan(inputs), inputs).moves == ()


def test_bad_inputs_are_refused() -> None:
    """Unknown items and work centers, duplicate demands and open orders."""
    with pytest.raises(UnknownItem):
        plan(workshop(Demand("X", "CHAIR", D(1))))
    with pytest.raises(InvalidPlanInput, match="unique"):
        plan(workshop(D1, Demand("D1", "TOP", D(1))))
    with pytest.raises(UnknownWorkCenter):
        plan(workshop(D1, work_centers=(WorkCenter("SAW", D(8)),)))
    po = ScheduledReceipt("PO-T1", "T-01", D(1), WED)
    with pytest.raises(InvalidPlanInput, match="twice"):
        plan(workshop(D1, receipts=(po, po)))
    with pytest.raises(InvalidPlanInput):
        Demand("X", "TABLE", D(0))
    with pytest.raises(InvalidPlanInput):
        StockLevel(D(1), D(2))


# -- properties ----------------------------------------------------------------------------

QUANTITIES = st.sampled_from([D("0.5"), D(1), D(2), D(3)])


@st.composite
def planning_inputs(draw: st.DrawFn) -> PlanInputs:
    """Random acyclic structures (item i takes components j > i), stock, orders, demands."""
    count = draw(st.integers(2, 9))
    ids = [f"I{i}" for i in range(count)]
    lines = [
        BomLine(ids[p], ids[c], draw(QUANTITIES), draw(st.sampled_from([D(0), D(5), D(10)])))
        for p in range(count)
        for c in range(p + 1, count)
        if draw(st.integers(0, 3)) == 0
    ]
    parents = {line.parent for line in lines}
    rules = st.sampled_from(
        [LotSizing(), LotSizing(LotRule.MINIMUM_BATCH, D(7)), LotSizing(LotRule.MULTIPLE, D(4))]
    )
    items = []
    routings = []
    for item_id in ids:
        if item_id in parents or draw(st.booleans()):
            items.append(Item(item_id, "pcs", MAKE, lot_sizing=draw(rules)))
            operations = tuple(
                Operation(10 * (n + 1), draw(st.sampled_from(["A", "B"])), draw(QUANTITIES), D(1))
                for n in range(draw(st.integers(0, 2)))
            )
            routings.append(Routing(item_id, operations))
        else:
            lead = draw(st.integers(0, 9))
            items.append(Item(item_id, "pcs", BUY, lead_time_days=lead, lot_sizing=draw(rules)))
    centers = tuple(
        WorkCenter(
            wc,
            draw(st.sampled_from([D(4), D(8), D(10)])),
            draw(st.frozensets(st.integers(0, 6), min_size=1)),
            draw(st.frozensets(st.sampled_from([MON + timedelta(days=n) for n in range(14)]))),
        )
        for wc in ("A", "B")
    )
    days = [MON + timedelta(days=n) for n in range(10)]
    booked = {
        (wc.id, day): min(wc.capacity_on(day), draw(st.sampled_from([D(1), D(3), D(20)])))
        for wc in centers
        for day in draw(st.lists(st.sampled_from(days), max_size=4, unique=True))
        if wc.capacity_on(day)
    }
    stock = {
        item_id: StockLevel(on_hand, min(on_hand, draw(st.sampled_from([D(0), D(2)]))))
        for item_id in draw(st.lists(st.sampled_from(ids), max_size=count, unique=True))
        for on_hand in [draw(st.sampled_from([D(0), D(3), D(10)]))]
    }
    receipts = tuple(
        ScheduledReceipt(
            f"PO{n}", draw(st.sampled_from(ids)), draw(QUANTITIES) * 3, draw(st.sampled_from(days))
        )
        for n in range(draw(st.integers(0, 3)))
    )
    demands = tuple(
        Demand(f"D{n}", draw(st.sampled_from(ids)), draw(QUANTITIES) * 2, draw(st.integers(0, 2)))
        for n in range(draw(st.integers(1, 4)))
    )
    sourcing = {
        item.id: (SupplierQuote(f"{item.id}.example", draw(st.integers(0, 5))),)
        for item in items
        if item.procurement is BUY and draw(st.booleans())
    }
    return PlanInputs(
        demands=demands,
        structure=ProductStructure.build(items, lines, routings),
        today=MON,
        stock=stock,
        receipts=receipts,
        work_centers=centers,
        ledger=LoadLedger(MappingProxyType(booked)),
        sourcing=sourcing,
    )


@settings(max_examples=150, deadline=None)
@given(planning_inputs())
def test_net_requirements_are_never_negative(inputs: PlanInputs) -> None:
    """Gross, what stock and open orders cover, net and planned are all >= 0."""
    for requirement in plan(inputs).requirements:
        assert requirement.gross >= 0
        assert requirement.from_stock >= 0
        assert requirement.from_receipts >= 0
        assert requirement.net >= 0
        assert requirement.planned >= requirement.net


@settings(max_examples=150, deadline=None)
@given(planning_inputs())
def test_planned_supply_covers_gross_demand_for_every_item(inputs: PlanInputs) -> None:
    """Available stock + open orders + planned orders >= gross requirement, item by item."""
    result = plan(inputs)
    planned: dict[str, D] = {}
    for order in (*result.purchases, *result.productions):
        planned[order.item_id] = planned.get(order.item_id, D(0)) + order.quantity
    for requirement in result.requirements:
        level = inputs.stock.get(requirement.item_id, StockLevel())
        receipts = sum(
            (r.quantity for r in inputs.receipts if r.item_id == requirement.item_id), D(0)
        )
        assert requirement.from_stock <= level.available
        assert requirement.from_receipts <= receipts
        assert requirement.planned == planned.get(requirement.item_id, D(0))
        assert level.available + receipts + requirement.planned >= requirement.gross
    demanded: dict[str, D] = {}
    for demand in inputs.demands:
        demanded[demand.item_id] = demanded.get(demand.item_id, D(0)) + demand.quantity
    gross = {r.item_id: r.gross for r in result.requirements}
    assert all(gross[item_id] >= quantity for item_id, quantity in demanded.items())


@settings(max_examples=150, deadline=None)
@given(planning_inputs())
def test_scheduled_load_never_exceeds_a_work_centers_capacity(inputs: PlanInputs) -> None:
    """Every day of every work center, bookings before and by the plan included."""
    result = plan(inputs)
    centers = {wc.id: wc for wc in inputs.work_centers}
    for center_id, day, hours in result.ledger.entries():
        assert hours <= centers[center_id].capacity_on(day)
    for production in result.productions:
        moment = production.materials_ready
        assert moment >= Moment(MON)
        for operation in production.operations:
            assert operation.start >= moment, "an operation started before it could"
            moment = operation.finish
        assert production.finish == moment
    for promise in result.promises:
        assert promise.date >= MON
        assert promise.critical_path[-1].item_id == promise.item_id


@settings(max_examples=100, deadline=None)
@given(planning_inputs(), st.randoms(use_true_random=False))
def test_the_same_inputs_give_the_same_plan(inputs: PlanInputs, rng: random.Random) -> None:
    """Planned twice, or with every input listed in another order: equal plans."""
    first = plan(inputs)
    assert plan(inputs) == first
    structure = inputs.structure
    items = list(structure.items.values())
    lines = [line for group in structure.components.values() for line in group]
    routings = list(structure.routings.values())
    for values in (items, lines, routings):
        rng.shuffle(values)  # type: ignore[arg-type]
    demands, receipts = list(inputs.demands), list(inputs.receipts)
    rng.shuffle(demands)
    rng.shuffle(receipts)
    shuffled = replace(
        inputs,
        structure=ProductStructure.build(items, lines, routings),
        demands=tuple(demands),
        receipts=tuple(receipts),
        work_centers=tuple(reversed(inputs.work_centers)),
        ledger=LoadLedger(MappingProxyType(dict(reversed(list(inputs.ledger.hours.items()))))),
        stock=dict(reversed(list(inputs.stock.items()))),
    )
    assert plan(shuffled) == first


def test_an_empty_ledger_is_the_default() -> None:
    """Inputs built without a ledger plan on free capacity."""
    assert workshop(D1, ledger=EMPTY_LEDGER) == workshop(D1)
