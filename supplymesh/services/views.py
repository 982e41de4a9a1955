"""What the owner sees: orders, outgoing messages and transactions as plain JSON values."""

from __future__ import annotations

from typing import Any

import msgspec

from supplymesh.adapters.node_store import NodeStore, OutgoingMessage
from supplymesh.domain.orders import Order


def order_view(order: Order) -> dict[str, Any]:
    """An order for the owner."""
    return {
        "id": order.id,
        "transaction_id": order.transaction_id,
        "buyer": order.buyer_id,
        "seller": order.seller_id,
        "state": order.state.value,
        "total": str(order.total),
        "currency": order.currency,
        "lines": [
            {"item_id": line.item_id, "quantity": line.quantity, "unit_price": str(line.unit_price)}
            for line in order.lines
        ],
        "cancellation_fee": str(order.cancellation_fee)
        if order.cancellation_fee is not None
        else None,
        "history": [
            {"state": c.state.value, "at": c.at.isoformat(), "by": c.by.value, "reason": c.reason}
            for c in order.history
        ],
    }


def outgoing_view(message: OutgoingMessage) -> dict[str, Any]:
    """An outgoing message's delivery state for the owner."""
    return {
        "id": message.id,
        "transaction_id": message.transaction_id,
        "message_id": message.message_id,
        "action": message.action,
        "peer": message.peer_id,
        "state": message.state.value,
        "attempts": message.attempts,
        "last_error": message.last_error,
    }


def transaction_view(store: NodeStore, transaction_id: str) -> dict[str, Any] | None:
    """Every message in and out of a transaction, and its order."""
    row = store.transaction(transaction_id)
    if row is None:
        return None
    incoming = [
        {
            "action": r["action"],
            "sender": r["sender"],
            "message_id": r["message_id"],
            "late": bool(r["late"]),
            "received_at": r["received_at"],
            "message": msgspec.json.decode(r["body"]).get("message"),
        }
        for r in store.incoming(transaction_id)
    ]
    outgoing = [outgoing_view(m) for m in reversed(store.outgoing(transaction_id))]
    with store.engine.connect() as connection:
        order = store.order_for(connection, transaction_id, row["role"])
    return {
        **row,
        "incoming": incoming,
        "outgoing": outgoing,
        "order": order_view(order) if order is not None else None,
    }
