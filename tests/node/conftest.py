"""Fixtures for the node's end-to-end tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from supplymesh.testing.databases import PostgresUnavailable, database, postgres_required


def available(kind: str, directory: Path) -> str:
    """``kind`` when such a database can be had here; else skip (fail under REQUIRE_PG=1)."""
    try:
        with database(kind, directory):
            pass
    except PostgresUnavailable as exc:
        if postgres_required():
            pytest.fail(f"SUPPLYMESH_REQUIRE_PG=1 but {exc}")
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    return kind


@pytest.fixture(params=["sqlite", "postgresql"])
def db_kind(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each database kind the node runs on (PostgreSQL skipped with the reason if unreachable)."""
    return available(str(request.param), tmp_path)


@pytest.fixture(scope="session")
def usable_kind() -> Callable[[str, Path], str]:
    """``available`` for fixtures of a wider scope than ``db_kind``."""
    return available
