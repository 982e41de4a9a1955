"""``supplymesh registry …``: run a registry."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

registry_app = typer.Typer(help="Run a registry, or subscribe to one.", no_args_is_help=True)


@registry_app.command("serve")
def serve(
    db: Annotated[str, typer.Option("--db", help="sqlite:///PATH or postgresql+psycopg://…")],
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port.")] = 8400,
    mirror: Annotated[
        list[str] | None, typer.Option("--mirror", help="A peer registry to mirror (repeatable).")
    ] = None,
    home: Annotated[
        Path | None, typer.Option("--home", help="Keys and identity (default: beside the db).")
    ] = None,
    registry_id: Annotated[
        str | None, typer.Option("--id", help="This registry's subscriber id (first start).")
    ] = None,
    public_url: Annotated[
        str | None, typer.Option("--public-url", help="URL peers reach it at.")
    ] = None,
) -> None:
    """Serve the registry API (subscribe, lookup, feed) and mirror peers."""
    import uvicorn

    from supplymesh.adapters.sql import DatabaseUrlError
    from supplymesh.entrypoints.registry_server import RegistrySettings, create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if home is None:
        home = _default_home(db)
    settings = RegistrySettings(
        db_url=db,
        home=home,
        public_url=public_url or f"http://{host}:{port}",
        subscriber_id=registry_id,
        mirrors=tuple(mirror or ()),
    )
    try:
        app = create_app(settings)
    except (DatabaseUrlError, ValueError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(
        f"registry {app.state.runtime.service.identity.subscriber_id} on {settings.public_url}"
    )
    uvicorn.run(app, host=host, port=port, log_level="warning")


def _default_home(db: str) -> Path:
    if db.startswith("sqlite:///") and db != "sqlite:///:memory:":
        return Path(db.removeprefix("sqlite:///")).with_suffix(".keys")
    return Path(".supplymesh-registry")
