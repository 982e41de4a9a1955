"""``supplymesh gateway serve``: run an optional, stateless search gateway."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

gateway_app = typer.Typer(
    help="Run a search gateway (optional: buyers can search directly).", no_args_is_help=True
)


@gateway_app.command("serve")
def serve(
    registry: Annotated[list[str], typer.Option("--registry", help="Registry URL (repeatable).")],
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8300,
    home: Annotated[Path, typer.Option("--home", help="Keys and key cache.")] = Path(
        ".supplymesh-gateway"
    ),
    gateway_id: Annotated[str | None, typer.Option("--id", help="Subscriber id.")] = None,
    public_url: Annotated[str | None, typer.Option("--public-url")] = None,
    seller_timeout: Annotated[float, typer.Option("--seller-timeout", min=0.1)] = 5.0,
) -> None:
    """Fan searches out to the market's sellers and relay their answers, unchanged."""
    import uvicorn

    from supplymesh.entrypoints.gateway_server import GatewaySettings, create_app
    from supplymesh.entrypoints.logs import configure

    configure()
    settings = GatewaySettings(
        registries=tuple(registry),
        home=home,
        public_url=public_url or f"http://{host}:{port}",
        subscriber_id=gateway_id,
        seller_timeout=seller_timeout,
    )
    try:
        app = create_app(settings)
    except (OSError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"gateway {app.state.gateway.identity.subscriber_id} on {settings.public_url}")
    uvicorn.run(app, host=host, port=port, log_level="warning")
