"""Production data files: what a maker imports, and the reasons a bad file is refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from supplymesh.entrypoints.cli import app
from supplymesh.services.production_import import ProductionFileError, production_from_json


def good() -> dict[str, Any]:
    """A small valid file."""
    return {
        "items": [
            {"id": "table", "procurement": "make", "unit_price": "100"},
            {"id": "board", "procurement": "buy"},
        ],
        "bom": [{"parent": "table", "component": "board", "quantity_per": "2"}],
        "routings": [
            {"item_id": "table",
             "operations": [{"sequence": 10, "work_center_id": "wc", "hours_per_unit": "1"}]}
        ],
        "work_centers": [{"id": "wc", "hours_per_day": "8"}],
        "stock": [{"item_id": "board", "on_hand": "3"}],
        "open_orders": [{"id": "PO-1", "item_id": "board", "quantity": "5", "due": "2030-01-01"}],
        "load": [{"work_center_id": "wc", "date": "2030-01-01", "hours": "2"}],
        "sourcing": [{"item_id": "board",
                      "suppliers": [{"supplier_id": "mill", "lead_time_days": 3}]}],
    }  # fmt: skip


def test_a_good_file_gives_every_part() -> None:
    """Items, lines, routings, centers, stock, open orders, load and sources all come through."""
    data = production_from_json(json.dumps(good()).encode())
    assert [i.id for i in data.items] == ["table", "board"]
    assert data.sources[0].supplier_item_id == "board"  # defaults to the maker's item id
    assert data.open_orders[0].id == "PO-1"
    assert dict(data.prices)["table"].unit_price == 100


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            lambda d: d["items"][0].update(procurement="rent"),
            r"'rent'.*items.0..procurement",
        ),
        (lambda d: d["bom"][0].update(component="nail"), "no item nail"),
        (lambda d: d["routings"][0]["operations"][0].update(work_center_id="x"), "'x'"),
        (lambda d: d["sourcing"][0].update(item_id="table"), "table is not bought"),
        (lambda d: d["items"][1].update(unit_price="3"), "only made items"),
        (lambda d: d["stock"].append({"item_id": "glue", "on_hand": "1"}), "glue"),
        (lambda d: d.update(colour="red"), "colour"),
        (lambda d: d["work_centers"][0].update(hours_per_day="30"), r"hours per day"),
        (lambda d: d.update(shipping={"carriers": []}), "at least one carrier"),
        (
            lambda d: d.update(shipping={"carriers": [{"carrier_id": "a"}, {"carrier_id": "a"}]}),
            "named twice",
        ),
        (
            lambda d: d.update(
                shipping={"carriers": [{"carrier_id": "a"}], "packages_per_unit": "0"}
            ),
            "packages_per_unit",
        ),
    ],
)
def test_a_bad_file_is_refused_with_where_and_why(change: Any, reason: str) -> None:
    """Each fault is named."""
    data = good()
    change(data)
    with pytest.raises(ProductionFileError, match=reason):
        production_from_json(json.dumps(data).encode())


def test_not_json_is_refused() -> None:
    """Garbage is named as such."""
    with pytest.raises(ProductionFileError, match="not JSON"):
        production_from_json(b"{items")


def test_the_cli_refuses_a_bad_file_before_calling_the_node(tmp_path: Path) -> None:
    """``supplymesh production import`` exits 2 with the reason, no node needed."""
    bad = good()
    bad["bom"][0]["quantity_per"] = "0"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    result = CliRunner().invoke(app, ["production", "import", str(tmp_path), str(path)])
    assert result.exit_code == 2
    assert "quantity per must be above 0" in result.output


def test_shipping_names_the_carriers_in_rank_order() -> None:
    """Carriers keep their order; packages per unit and origin come through."""
    data = good()
    data["shipping"] = {
        "carriers": [{"carrier_id": "lsp1"}, {"carrier_id": "lsp2", "url": "http://127.0.0.1:9"}],
        "packages_per_unit": "0.5",
        "origin": "std:080",
    }
    shipping = production_from_json(json.dumps(data).encode()).shipping
    assert shipping is not None
    assert shipping.carriers == (("lsp1", None), ("lsp2", "http://127.0.0.1:9"))
    assert [s.supplier_id for s in shipping.sources()] == ["lsp1", "lsp2"]
    assert str(shipping.packages_per_unit) == "0.5"
