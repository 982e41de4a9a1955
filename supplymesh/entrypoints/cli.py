"""The ``supplymesh`` command: one root, each area's commands in a module of its own."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from supplymesh import __version__
from supplymesh.entrypoints import (
    cli_crypto,
    cli_gateway,
    cli_logistics,
    cli_node,
    cli_production,
    cli_registry,
)

app = typer.Typer(
    name="supplymesh",
    help="An open, decentralized industrial internet on the Beckn protocol.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(cli_crypto.keys_app, name="keys")
app.add_typer(cli_registry.registry_app, name="registry")
app.add_typer(cli_gateway.gateway_app, name="gateway")
app.add_typer(cli_node.node_app, name="node")
app.add_typer(cli_node.catalog_app, name="catalog")
app.add_typer(cli_node.orders_app, name="orders")
app.add_typer(cli_node.buy_app, name="buy")
app.add_typer(cli_node.tx_app, name="tx")
app.add_typer(cli_node.pool_app, name="pool")
app.add_typer(cli_production.production_app, name="production")
app.add_typer(cli_logistics.logistics_app, name="logistics")
app.command("outbox")(cli_node.outbox_command)
app.command("search")(cli_node.search_command)
app.command("demand")(cli_node.demand_command)


@app.command("demo")
def demo(
    directory: Annotated[
        Path | None, typer.Option("--dir", help="An empty folder for the demo's files.")
    ] = None,
    keep_running: Annotated[
        bool, typer.Option("--keep-running", help="Leave the servers up; print URLs and tokens.")
    ] = False,
    scenario: Annotated[
        str,
        typer.Option(
            "--scenario",
            help="trade (default), pool (30 consumers pool demand) or chain (made to order "
            "through four nodes).",
        ),
    ] = "trade",
    consumers: Annotated[int, typer.Option("--consumers", min=1, max=200)] = 30,
) -> None:
    """A registry, a maker's node and a shop's node trading for real on this machine."""
    from supplymesh.entrypoints.demo import run

    if scenario not in ("trade", "pool", "chain"):
        typer.echo(f"error: --scenario is trade, pool or chain, not {scenario!r}", err=True)
        raise typer.Exit(2)
    raise typer.Exit(run(directory, keep_running, scenario=scenario, consumers=consumers))


app.command("sign")(cli_crypto.sign_command)
app.command("verify")(cli_crypto.verify_command)


@app.callback(invoke_without_command=True)
def _root(
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
) -> None:
    if version:
        typer.echo(__version__)
        raise typer.Exit(0)


def main() -> None:
    """Console-script entry point."""
    sys.exit(app())
