"""Items, bills of materials, routings, low-level codes and lot sizing."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from supplymesh.domain.bom import (
    BomCycle,
    BomLine,
    InvalidStructure,
    Item,
    LotRule,
    LotSizing,
    Operation,
    Procurement,
    ProductStructure,
    Routing,
)
from supplymesh.domain.errors import DomainError, UnknownItem
from supplymesh.protocol.errors import ErrorCode

MAKE, BUY = Procurement.MAKE, Procurement.BUY


def made(item_id: str) -> Item:
    return Item(item_id, "pcs", MAKE)


def bought(item_id: str, lead: int = 1) -> Item:
    return Item(item_id, "pcs", BUY, lead_time_days=lead)


def test_low_level_code_is_the_deepest_level_an_item_appears_at() -> None:
    """A component used at level 1 and under a level-2 part gets code 3, not 1."""
    structure = ProductStructure.build(
        [made("TABLE"), made("TOP"), made("BOARD"), bought("GLUE"), bought("TIMBER")],
        [
            BomLine("TABLE", "TOP", D(1)),
            BomLine("TABLE", "GLUE", D("0.1")),
            BomLine("TOP", "BOARD", D(3)),
            BomLine("BOARD", "GLUE", D("0.05")),
            BomLine("BOARD", "TIMBER", D(1)),
        ],
    )
    assert dict(structure.low_level_codes) == {
        "TABLE": 0,
        "TOP": 1,
        "BOARD": 2,
        "GLUE": 3,
        "TIMBER": 3,
    }
    assert structure.planning_order == ("TABLE", "TOP", "BOARD", "GLUE", "TIMBER")
    assert [line.component for line in structure.lines_of("TABLE")] == ["GLUE", "TOP"]


def test_a_cycle_is_refused_and_named_from_its_smallest_item() -> None:
    """A → B → C → A raises BomCycle carrying the loop, first item repeated last."""
    with pytest.raises(BomCycle) as caught:
        ProductStructure.build(
            [made("ROOT"), made("A"), made("B"), made("C")],
            [
                BomLine("ROOT", "B", D(1)),
                BomLine("A", "B", D(1)),
                BomLine("B", "C", D(1)),
                BomLine("C", "A", D(1)),
            ],
        )
    assert caught.value.cycle == ("A", "B", "C", "A")
    assert "A → B → C → A" in caught.value.message
    assert isinstance(caught.value, DomainError)
    assert caught.value.code is ErrorCode.BUSINESS_ERROR


def test_an_item_that_is_its_own_component_is_a_cycle() -> None:
    """A self-loop is the shortest cycle."""
    with pytest.raises(BomCycle) as caught:
        ProductStructure.build([made("A")], [BomLine("A", "A", D(1))])
    assert caught.value.cycle == ("A", "A")


def test_only_the_cycle_is_reported_not_the_items_below_it() -> None:
    """Items hanging under a cycle are stuck too, but the error names just the loop."""
    with pytest.raises(BomCycle) as caught:
        ProductStructure.build(
            [made("P"), made("Q"), made("R"), bought("Z")],
            [
                BomLine("P", "Q", D(1)),
                BomLine("Q", "R", D(1)),
                BomLine("R", "Q", D(1)),
                BomLine("R", "Z", D(1)),
            ],
        )
    assert caught.value.cycle == ("Q", "R", "Q")


def test_structure_faults_are_refused_with_the_item_named() -> None:
    """Unknown items, components of a bought item, duplicate lines and routings."""
    with pytest.raises(UnknownItem, match="no item NOPE"):
        ProductStructure.build([made("A")], [BomLine("A", "NOPE", D(1))])
    with pytest.raises(InvalidStructure, match="bought"):
        ProductStructure.build([bought("A"), bought("B")], [BomLine("A", "B", D(1))])
    with pytest.raises(InvalidStructure, match="twice"):
        ProductStructure.build(
            [made("A"), bought("B")], [BomLine("A", "B", D(1)), BomLine("A", "B", D(2))]
        )
    with pytest.raises(InvalidStructure, match="twice"):
        ProductStructure.build([made("A"), made("A")])
    with pytest.raises(InvalidStructure, match="no routing"):
        ProductStructure.build([bought("B")], routings=[Routing("B", ())])
    with pytest.raises(InvalidStructure, match="ascending"):
        Routing("A", (Operation(20, "SAW", D(1)), Operation(10, "SAW", D(1))))
    with pytest.raises(InvalidStructure, match="routing"):
        Item("A", "pcs", MAKE, lead_time_days=3)
    with pytest.raises(InvalidStructure, match="scrap"):
        BomLine("A", "B", D(1), scrap_percent=D(100))
    with pytest.raises(InvalidStructure, match="quantity per"):
        BomLine("A", "B", D(0))


def test_gross_requirement_adds_component_scrap() -> None:
    """2 tops x 3 boards, 10 % scrap: 6.6 boards."""
    assert BomLine("TOP", "BOARD", D(3), scrap_percent=D(10)).gross_for(D(2)) == D("6.6")
    assert BomLine("TOP", "BOARD", D(3)).gross_for(D(2)) == D(6)


def test_operation_hours_are_setup_plus_hours_per_unit() -> None:
    """Setup once per order, run time per unit."""
    assert Operation(10, "SAW", D("1.5"), setup_hours=D(1)).hours_for(D(2)) == D(4)


@pytest.mark.parametrize(
    ("sizing", "increment", "net", "expected"),
    [
        (LotSizing(), D(1), D("2.6"), D(3)),
        (LotSizing(), D("0.5"), D("2.6"), D(3)),
        (LotSizing(), D("0.01"), D("2.601"), D("2.61")),
        (LotSizing(), D(1), D(0), D(0)),
        (LotSizing(LotRule.MINIMUM_BATCH, D(10)), D(1), D(4), D(10)),
        (LotSizing(LotRule.MINIMUM_BATCH, D(10)), D(1), D("12.2"), D(13)),
        (LotSizing(LotRule.MULTIPLE, D(6)), D(1), D(7), D(12)),
        (LotSizing(LotRule.MULTIPLE, D(6)), D(1), D(6), D(6)),
        (LotSizing(LotRule.MULTIPLE, D(6)), D(1), D(-1), D(0)),
    ],
)
def test_lot_sizing_rounds_a_net_requirement_to_an_order_quantity(
    sizing: LotSizing, increment: D, net: D, expected: D
) -> None:
    """Lot-for-lot to the increment, a minimum batch, or a multiple of N."""
    assert sizing.size(net, increment) == expected


def test_lot_rules_check_their_quantity() -> None:
    """Lot-for-lot takes none; the others need one above 0."""
    with pytest.raises(InvalidStructure):
        LotSizing(LotRule.LOT_FOR_LOT, D(5))
    with pytest.raises(InvalidStructure):
        LotSizing(LotRule.MULTIPLE, D(0))


@given(
    st.sampled_from(list(LotRule)),
    st.decimals(min_value=D("0.5"), max_value=D(50), places=1),
    st.decimals(min_value=D(0), max_value=D(500), places=2),
)
def test_a_lot_is_never_below_the_net_requirement(rule: LotRule, quantity: D, net: D) -> None:
    """Whatever the rule: lot >= net, a multiple is a multiple, a batch at least the minimum."""
    sizing = LotSizing(rule, D(0) if rule is LotRule.LOT_FOR_LOT else quantity)
    lot = sizing.size(net)
    assert lot >= net
    if net > 0 and rule is LotRule.MULTIPLE:
        assert lot % quantity == 0
    if net > 0 and rule is LotRule.MINIMUM_BATCH:
        assert lot >= quantity


@st.composite
def dags(draw: st.DrawFn) -> tuple[list[Item], list[BomLine]]:
    """Random acyclic structures: item i only takes components j > i."""
    count = draw(st.integers(2, 12))
    lines = []
    for parent in range(count):
        for child in range(parent + 1, count):
            if draw(st.booleans()):
                lines.append(BomLine(f"I{parent:02}", f"I{child:02}", D(1)))
    parents = {line.parent for line in lines}
    items = [
        made(f"I{i:02}") if f"I{i:02}" in parents else bought(f"I{i:02}") for i in range(count)
    ]
    return items, lines


@given(dags())
def test_every_component_has_a_deeper_code_than_every_parent(
    dag: tuple[list[Item], list[BomLine]],
) -> None:
    """The one-pass order is valid, and does not depend on the order the lines came in."""
    items, lines = dag
    structure = ProductStructure.build(items, lines)
    codes = structure.low_level_codes
    for line in lines:
        assert codes[line.component] > codes[line.parent]
    position = {item: i for i, item in enumerate(structure.planning_order)}
    assert all(position[line.parent] < position[line.component] for line in lines)
    assert ProductStructure.build(list(reversed(items)), list(reversed(lines))) == structure
