"""Catalog files: CSV or JSON in, catalog items out, every fault named by row and field.

CSV columns: ``id,name,unit_price[,currency,category,on_hand,lead_time_days]`` and any
``attr:NAME`` columns (e.g. ``attr:material``). JSON: a list of objects with the same fields and an
``attributes`` object.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import msgspec

from supplymesh.domain.catalog import CatalogItem
from supplymesh.domain.errors import DomainError
from supplymesh.services.node import NodeService


class CatalogFileError(ValueError):
    """A catalog file cannot be imported; the message names the row and the field."""


def _item(row: dict[str, Any], where: str) -> CatalogItem:
    for field in ("id", "name", "unit_price"):
        if not str(row.get(field) or "").strip():
            raise CatalogFileError(f"{where}: {field} is required")
    try:
        price = Decimal(str(row["unit_price"]).strip())
    except InvalidOperation:
        raise CatalogFileError(
            f"{where}: unit_price {row['unit_price']!r} is not a number"
        ) from None
    if not price.is_finite():
        raise CatalogFileError(f"{where}: unit_price must be a finite number")
    try:
        on_hand = int(str(row.get("on_hand") or 0).strip())
    except ValueError:
        raise CatalogFileError(
            f"{where}: on_hand {row.get('on_hand')!r} is not a whole number"
        ) from None
    try:
        lead_time = int(str(row.get("lead_time_days") or 0).strip())
    except ValueError:
        raise CatalogFileError(
            f"{where}: lead_time_days {row.get('lead_time_days')!r} is not a whole number"
        ) from None
    attributes = {str(k): str(v) for k, v in dict(row.get("attributes") or {}).items()}
    try:
        return CatalogItem(
            id=str(row["id"]).strip(),
            name=str(row["name"]).strip(),
            unit_price=price,
            currency=str(row.get("currency") or "INR").strip(),
            category=(str(row["category"]).strip() or None) if row.get("category") else None,
            on_hand=on_hand,
            attributes=attributes,
            lead_time_days=lead_time,
        )
    except DomainError as exc:
        raise CatalogFileError(f"{where}: {exc.message}") from None


def items_from_json(raw: bytes) -> list[CatalogItem]:
    """Items from a JSON list."""
    try:
        rows = msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        raise CatalogFileError(f"not valid JSON: {exc}") from None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise CatalogFileError("a JSON catalog is a list of item objects")
    items = [_item(row, f"item {index}") for index, row in enumerate(rows)]
    return _unique(items)


def items_from_csv(text: str) -> list[CatalogItem]:
    """Items from CSV with a header row."""
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or not {"id", "name", "unit_price"} <= set(reader.fieldnames):
        raise CatalogFileError("the CSV header needs id, name and unit_price")
    items = []
    for number, row in enumerate(reader, start=2):
        attributes = {k[5:]: v for k, v in row.items() if k and k.startswith("attr:") and v}
        items.append(_item({**row, "attributes": attributes}, f"line {number}"))
    return _unique(items)


def items_from_file(path: Path) -> list[CatalogItem]:
    """Items from a .csv or .json file."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CatalogFileError(f"cannot read {path}: {exc.strerror}") from None
    if path.suffix.lower() == ".csv":
        try:
            return items_from_csv(raw.decode("utf-8-sig"))
        except UnicodeDecodeError:
            raise CatalogFileError(f"{path} is not UTF-8 text") from None
    return items_from_json(raw)


def _unique(items: list[CatalogItem]) -> list[CatalogItem]:
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            raise CatalogFileError(f"item id {item.id!r} appears twice")
        seen.add(item.id)
    return items


def save_items(node: NodeService, items: list[CatalogItem]) -> None:
    """Add or replace catalog items; units reserved for open orders stay reserved.

    An imported file says what is on hand and at what price, not what open orders hold: a
    replaced item keeps its reserved count (DomainError if the new on-hand is below it).
    """
    store = node.store
    with store.engine.begin() as connection:
        current = store.catalog(connection, lock=True)
        kept = [
            dataclasses.replace(item, reserved=current[item.id].reserved)
            if item.id in current
            else item
            for item in items
        ]
        store.save_items(connection, kept, node.clock())
