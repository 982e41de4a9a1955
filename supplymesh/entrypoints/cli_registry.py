"""``supplymesh registry …``: run a registry."""

from __future__ import annotations

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
    from supplymesh.entrypoints.logs import configure
    from supplymesh.entrypoints.registry_server import RegistrySettings, create_app

    configure()
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


@registry_app.command("subscribe")
def subscribe_command(
    registry: Annotated[list[str], typer.Option("--registry", help="Registry URL (repeatable).")],
    keys: Annotated[
        Path, typer.Option("--keys", help="Directory with signing.key, encryption.key.")
    ],
    subscriber_id: Annotated[str, typer.Option("--subscriber-id", help="Your subscriber id.")],
    url: Annotated[str, typer.Option("--url", help="Your base URL (serves /on_subscribe).")],
    subscriber_type: Annotated[
        str, typer.Option("--type", help="BAP, BPP, BG or BREG.", case_sensitive=False)
    ],
    domain: Annotated[list[str], typer.Option("--domain", help="Domain code (repeatable).")],
    city: Annotated[str, typer.Option("--city", help="City code, e.g. std:080, or *.")],
    country: Annotated[str, typer.Option("--country", help="Country code, e.g. IND.")],
    key_id: Annotated[
        str | None, typer.Option("--key-id", help="unique_key_id (default: from the key).")
    ] = None,
    serve_challenge: Annotated[
        bool,
        typer.Option(
            "--serve-challenge",
            help="Answer the challenge here, at --url's port, while subscribing "
            "(when your node is not running yet).",
        ),
    ] = False,
) -> None:
    """Sign your registry record with your key and subscribe it at every --registry."""
    import asyncio
    import json
    from datetime import UTC, datetime
    from urllib.parse import urlsplit

    import msgspec

    from supplymesh.adapters.background_server import ServerThread
    from supplymesh.adapters.keyfiles import (
        ENCRYPTION_KEY_FILE,
        SIGNING_KEY_FILE,
        KeyFileError,
        load_encryption_key,
        load_signing_key,
    )
    from supplymesh.adapters.registry_client import RegistryClient, RegistryError
    from supplymesh.entrypoints.challenge_app import challenge_app
    from supplymesh.protocol.errors import LocalProtocolError
    from supplymesh.protocol.registry import SubscriberType
    from supplymesh.services.subscription import SubscriberSettings, sign_subscription, subscribe

    try:
        kind = SubscriberType(subscriber_type.upper())
        signing_pair = load_signing_key(keys / SIGNING_KEY_FILE)
        encryption_pair = load_encryption_key(keys / ENCRYPTION_KEY_FILE)
        settings = SubscriberSettings(
            subscriber_id=subscriber_id,
            subscriber_url=url,
            type=kind,
            domains=tuple(domain),
            city=city,
            country=country,
            unique_key_id=key_id,
        )
        record = sign_subscription(settings, signing_pair, encryption_pair, now=datetime.now(UTC))
    except (ValueError, KeyFileError, LocalProtocolError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None

    async def run() -> list[tuple[str, object]]:
        async with RegistryClient(registry, timeout=10.0) as client:
            return list(await subscribe(record, registry, client))

    responder = None
    if serve_challenge:
        port = urlsplit(url).port or 80
        responder = ServerThread(challenge_app(encryption_pair, subscriber_id), port).start()
    try:
        outcomes = asyncio.run(run())
    finally:
        if responder is not None:
            responder.stop()
    failed = False
    for registry_url, outcome in outcomes:
        if isinstance(outcome, RegistryError):
            failed = True
            line = {"registry": registry_url, "error": str(outcome)}
        else:
            line = {"registry": registry_url, **msgspec.to_builtins(outcome)}
        typer.echo(json.dumps(line))
    raise typer.Exit(1 if failed else 0)


def _default_home(db: str) -> Path:
    if db.startswith("sqlite:///") and db != "sqlite:///:memory:":
        return Path(db.removeprefix("sqlite:///")).with_suffix(".keys")
    return Path(".supplymesh-registry")
