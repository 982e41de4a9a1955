"""A carrier's lanes file: what it gives, and why a bad one is refused."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from supplymesh.entrypoints.cli import app
from supplymesh.services.lanes_import import LanesFileError, lanes_from_file, lanes_from_json


def good() -> dict[str, Any]:
    """Two lanes."""
    return {
        "lanes": [
            {"id": "blr-bom", "origin": "std:080", "destination": "std:022", "transit_days": 2,
             "capacity_per_day": 40, "base_price": "600", "package_price": "150",
             "pickup_weekdays": [0, 1, 2, 3, 4, 5], "holidays": ["2026-12-25"]},
            {"id": "blr-del", "origin": "std:080", "destination": "std:011", "transit_days": 3,
             "capacity_per_day": 10},
        ]
    }  # fmt: skip


def test_a_good_file_gives_every_lane() -> None:
    """Calendar, capacity and tariff come through; defaults fill the rest."""
    first, second = lanes_from_json(json.dumps(good()).encode())
    assert first.pickup_weekdays == frozenset(range(6))
    assert first.holidays == frozenset({date(2026, 12, 25)})
    assert first.price(3) == 1050
    assert second.pickup_weekdays == frozenset(range(7))
    assert second.price(5) == 0


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda d: d["lanes"][0].update(transit_days=-1), r"lanes\[0\]: .*transit"),
        (lambda d: d["lanes"][1].update(capacity_per_day=0), r"lanes\[1\]: .*capacity"),
        (lambda d: d["lanes"][0].update(pickup_weekdays=[7]), "weekdays"),
        (lambda d: d["lanes"][0].update(base_price="-1"), "negative"),
        (lambda d: d["lanes"][1].update(id="blr-bom"), "used twice"),
        (lambda d: d["lanes"][0].update(speed="fast"), "speed"),
        (lambda d: d["lanes"][0].pop("origin"), "origin"),
        (lambda d: d["lanes"][0].update(holidays=["Christmas"]), "holidays"),
    ],
)
def test_a_bad_file_is_refused_with_where_and_why(change: Any, reason: str) -> None:
    """Each fault is named."""
    data = good()
    change(data)
    with pytest.raises(LanesFileError, match=reason):
        lanes_from_json(json.dumps(data).encode())


def test_unreadable_or_not_json_is_named(tmp_path: Path) -> None:
    """A missing file and garbage are refused as such."""
    with pytest.raises(LanesFileError, match="cannot read"):
        lanes_from_file(tmp_path / "missing.json")
    with pytest.raises(LanesFileError, match="not JSON"):
        lanes_from_json(b"{lanes")


def test_the_cli_refuses_a_bad_file_before_calling_the_node(tmp_path: Path) -> None:
    """``supplymesh logistics import`` exits 2 with the reason, no node needed."""
    bad = good()
    bad["lanes"][0]["capacity_per_day"] = 0
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    result = CliRunner().invoke(app, ["logistics", "import", str(tmp_path), str(path)])
    assert result.exit_code == 2
    assert "capacity per day must be above 0" in result.output
