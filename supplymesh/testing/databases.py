"""Throw-away databases for contract tests: a SQLite file, or a fresh PostgreSQL database.

PostgreSQL is looked for at 127.0.0.1:5432 (trust auth), or at ``SUPPLYMESH_PG_URL``. When it
cannot be reached the caller skips with the reason, unless ``SUPPLYMESH_REQUIRE_PG=1`` (as CI
sets), where an unreachable PostgreSQL is a failure.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

PG_ADMIN_URL = os.environ.get("SUPPLYMESH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


class PostgresUnavailable(Exception):
    """No PostgreSQL server answered; the message says where we looked."""


def postgres_required() -> bool:
    """True when PostgreSQL tests must run (CI), so a skip would hide a failure."""
    return os.environ.get("SUPPLYMESH_REQUIRE_PG") == "1"


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database for the block; dropped afterwards."""
    try:
        import psycopg  # noqa: PLC0415 - the optional postgres extra
    except ImportError as exc:
        raise PostgresUnavailable(
            f"psycopg is not installed ({exc}); pip install '.[postgres]'"
        ) from None
    name = f"sm_test_{secrets.token_hex(6)}"
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        raise PostgresUnavailable(f"PostgreSQL at {PG_ADMIN_URL} is unreachable: {exc}") from None
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def database(kind: str, directory: Path) -> Iterator[str]:
    """A database URL of ``kind`` ("sqlite" or "postgresql") for the block."""
    if kind == "sqlite":
        yield f"sqlite:///{directory / f'db-{secrets.token_hex(4)}.sqlite'}"
    elif kind == "postgresql":
        with postgres_database() as url:
            yield url
    else:
        raise ValueError(f"unknown database kind {kind!r}")
