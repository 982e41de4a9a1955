"""Database engines: SQLite (WAL, the embedded default) and PostgreSQL, and their migrations."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url

MIGRATIONS = Path(__file__).parent / "migrations"


class DatabaseUrlError(ValueError):
    """A database URL this project cannot use; the message says which forms it can."""


def make_engine(url: str) -> Engine:
    """An engine for ``url`` (``sqlite:///path`` or ``postgresql+psycopg://…``)."""
    try:
        parsed = make_url(url)
    except Exception as exc:  # SQLAlchemy raises ArgumentError and ValueError alike
        raise DatabaseUrlError(f"not a database URL: {url!r} ({exc})") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if backend == "postgresql":
        if parsed.get_driver_name() != "psycopg":
            parsed = parsed.set(drivername="postgresql+psycopg")
        # Enough connections for the requests a worker has in flight (the threadpool runs up
        # to 40): a smaller pool churns connections, which costs PostgreSQL more than the
        # work. Recycling replaces a ping per checkout.
        return create_engine(parsed, pool_size=20, max_overflow=20, pool_recycle=1800)
    raise DatabaseUrlError(
        f"unsupported database {backend!r}: use sqlite:///PATH or postgresql+psycopg://HOST/DB"
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite opens a transaction only at the first write, so reads before it ran outside
    # any transaction (a read-then-reserve could lose an update) and a SAVEPOINT became the
    # outermost transaction. Take transaction control from it (SQLAlchemy's documented
    # recipe) and begin every transaction ourselves, below.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # IMMEDIATE takes the write lock at BEGIN: two transactions that read stock and then
    # reserve it run one after the other instead of both reading the same figure. Reads take
    # it too (SQLAlchemy begins them as well); for one small node that is cheap and simple,
    # and PostgreSQL is the path for concurrent writers.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def head_revision(tree: str) -> str:
    """The newest revision of a migration tree (the one no other revision follows)."""
    revisions: dict[str, str | None] = {}
    for script in (MIGRATIONS / tree / "versions").glob("*.py"):
        text = script.read_text()
        found = re.search(r'^revision = "([^"]+)"', text, re.MULTILINE)
        down = re.search(r'^down_revision = (?:"([^"]+)"|None)', text, re.MULTILINE)
        if found:
            revisions[found.group(1)] = down.group(1) if down else None
    heads = set(revisions) - {d for d in revisions.values() if d}
    if len(heads) != 1:
        raise RuntimeError(f"migration tree {tree} has heads {sorted(heads)}; expected one")
    return heads.pop()


def current_revision(engine: Engine, tree: str) -> str | None:
    """The revision the database is at (None for a new database)."""
    table = f"alembic_version_{tree}"
    with engine.connect() as connection:
        if not inspect(connection).has_table(table):
            return None
        value = connection.execute(text(f"SELECT version_num FROM {table}")).scalar()  # noqa: S608 - our own table name
    return str(value) if value is not None else None


def migrate(engine: Engine, tree: str) -> None:
    """Bring the database up to the newest migration of ``tree`` (e.g. ``registry``).

    Alembic (and Mako, ~11 MB) is imported only when there is something to upgrade.
    """
    if current_revision(engine, tree) == head_revision(tree):
        return
    from alembic import command  # noqa: PLC0415 - heavy, and needed only to upgrade
    from alembic.config import Config  # noqa: PLC0415

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS / tree))
    config.attributes["connection_engine"] = engine
    config.attributes["version_table"] = f"alembic_version_{tree}"
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
