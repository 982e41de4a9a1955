"""``supplymesh production import|show|delay``: a maker's production data and its plan."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from supplymesh.entrypoints.cli_node import Home, _call, _fail

production_app = typer.Typer(
    help="A maker's production data (items, BOM, capacity, sourcing) and its plan.",
    no_args_is_help=True,
)


@production_app.command("import")
def production_import(
    home: Home, file: Annotated[Path, typer.Argument(help="Production data (JSON).")]
) -> None:
    """Replace the node's production data from a JSON file (checked here before it is sent)."""
    from supplymesh.services.production_import import ProductionFileError, production_from_file

    try:
        production_from_file(file)
        body = json.loads(file.read_bytes())
    except ProductionFileError as exc:
        raise _fail(str(exc)) from None
    view = _call(home, "POST", "/owner/production", body)
    typer.echo(f"imported {view['items']} items")


@production_app.command("show")
def production_show(home: Home) -> None:
    """Sales with their promise dates, purchase orders, stock and booked load."""
    typer.echo(json.dumps(_call(home, "GET", "/owner/production"), indent=2))


@production_app.command("delay")
def production_delay(
    home: Home,
    order_id: Annotated[str, typer.Argument(help="One of this node's orders (as seller).")],
    date: Annotated[str, typer.Option("--date", help="The new date, YYYY-MM-DD.")],
    reason: Annotated[str, typer.Option("--reason", help="Why.")] = "",
) -> None:
    """Tell an order's buyer it will be late (on_status with a delay tag)."""
    sent = _call(home, "POST", f"/owner/orders/{order_id}/delay", {"date": date, "reason": reason})
    typer.echo(f"{sent['order_id']}: buyer told of the new date {sent['new_date']}")


@production_app.command("source")
def production_source(
    home: Home,
    item: Annotated[str, typer.Option("--item", help="The bought item to find suppliers for.")],
    search: Annotated[
        str, typer.Option("--search", help="The transaction of a search this node ran.")
    ],
    take: Annotated[int, typer.Option("--take", help="How many sellers to keep.")] = 3,
    match: Annotated[
        str | None, typer.Option("--match", help="Text the offered item must contain.")
    ] = None,
    first: Annotated[
        bool, typer.Option("--first", help="Rank them before the rule's current suppliers.")
    ] = False,
) -> None:
    """Keep a search's best offers (ranked by this node's weights) as an item's suppliers."""
    body = {"item_id": item, "search": search, "take": take, "match": match, "first": first}
    kept = _call(home, "POST", "/owner/production/sourcing", body)
    for source in kept["suppliers"]:
        typer.echo(
            f"{source['rank']}. {source['supplier_id']} ({source['supplier_item_id']}, "
            f"{source['lead_time_days']} days)"
        )
