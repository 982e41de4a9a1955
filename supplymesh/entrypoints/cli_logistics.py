"""``supplymesh logistics import|show``: a carrier's lanes and the shipments booked on them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from supplymesh.entrypoints.cli_node import Home, _call, _fail

logistics_app = typer.Typer(
    help="A carrier's lanes (routes, capacity, transit, tariff) and its bookings.",
    no_args_is_help=True,
)


@logistics_app.command("import")
def logistics_import(
    home: Home, file: Annotated[Path, typer.Argument(help="Lanes (JSON).")]
) -> None:
    """Replace the node's lanes from a JSON file (checked here before it is sent)."""
    from supplymesh.services.lanes_import import LanesFileError, lanes_from_file

    try:
        lanes = lanes_from_file(file)
        body = json.loads(file.read_bytes())
    except LanesFileError as exc:
        raise _fail(str(exc)) from None
    _call(home, "POST", "/owner/logistics", body)
    typer.echo(f"imported {len(lanes)} lanes")


@logistics_app.command("show")
def logistics_show(home: Home) -> None:
    """Lanes and the shipments booked on them."""
    typer.echo(json.dumps(_call(home, "GET", "/owner/logistics"), indent=2))
