"""A maker's rounds of supplier quotes: one per quote it owes its buyer, one request per
supplier asked (in rank order, the next one when a supplier refuses or does not answer)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Float, Integer, String, Table, Text, and_, insert, select, update
from sqlalchemy.engine import Connection

from supplymesh.adapters.node_store import inbox, metadata, outbox

mfg_quote_rounds = Table(
    "mfg_quote_rounds",
    metadata,
    Column("sale_tx", String(255), primary_key=True),
    Column("message_id", String(255), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("deadline", Float, nullable=False),
)
mfg_quote_requests = Table(
    "mfg_quote_requests",
    metadata,
    Column("transaction_id", String(255), primary_key=True),
    Column("sale_tx", String(255), nullable=False, index=True),
    Column("sale_message_id", String(255), nullable=False),
    Column("message_id", String(255), nullable=False),
    Column("item_id", String(255), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("rank", Integer, nullable=False),
    Column("supplier_id", String(255), nullable=False),
    Column("state", String(16), nullable=False),
    Column("lead_time_days", Integer, nullable=True),
    Column("note", Text, nullable=True),
    Column("deadline", Float, nullable=False),
    Column("answer", Text, nullable=True),
)

ASKED = "asked"
ANSWERED = "answered"


@dataclass(frozen=True, slots=True)
class QuoteRequest:
    """One supplier asked for one component of one quote."""

    transaction_id: str
    sale_tx: str
    sale_message_id: str
    message_id: str
    item_id: str
    quantity: int
    rank: int
    supplier_id: str
    state: str
    deadline: float
    lead_time_days: int | None = None
    note: str | None = None
    answer: str | None = None  # what the supplier answered, as JSON (a carrier's days and price)


def _request(row: Any) -> QuoteRequest:
    return QuoteRequest(
        transaction_id=row.transaction_id,
        sale_tx=row.sale_tx,
        sale_message_id=row.sale_message_id,
        message_id=row.message_id,
        item_id=row.item_id,
        quantity=row.quantity,
        rank=row.rank,
        supplier_id=row.supplier_id,
        state=row.state,
        deadline=row.deadline,
        lead_time_days=row.lead_time_days,
        note=row.note,
        answer=row.answer,
    )


def open_round(connection: Connection, sale_tx: str, message_id: str, deadline: float) -> bool:
    """Start a round for the buyer's select ``message_id``; False if it already exists."""
    exists = connection.execute(
        select(mfg_quote_rounds.c.state).where(
            and_(mfg_quote_rounds.c.sale_tx == sale_tx, mfg_quote_rounds.c.message_id == message_id)
        )
    ).first()
    if exists is not None:
        return False
    connection.execute(
        insert(mfg_quote_rounds).values(
            sale_tx=sale_tx, message_id=message_id, state="waiting", deadline=deadline
        )
    )
    return True


def close_round(connection: Connection, sale_tx: str, message_id: str) -> bool:
    """Mark a round answered; True only for the caller that closed it."""
    return bool(
        connection.execute(
            update(mfg_quote_rounds)
            .where(
                and_(
                    mfg_quote_rounds.c.sale_tx == sale_tx,
                    mfg_quote_rounds.c.message_id == message_id,
                    mfg_quote_rounds.c.state == "waiting",
                )
            )
            .values(state="answered")
        ).rowcount
    )


def round_deadline(connection: Connection, sale_tx: str, message_id: str) -> float:
    """When the round gives up on suppliers that have not answered."""
    return float(
        connection.execute(
            select(mfg_quote_rounds.c.deadline).where(
                and_(
                    mfg_quote_rounds.c.sale_tx == sale_tx,
                    mfg_quote_rounds.c.message_id == message_id,
                )
            )
        ).scalar_one()
    )


def add_request(connection: Connection, request: QuoteRequest) -> None:
    """Record a supplier asked."""
    connection.execute(
        insert(mfg_quote_requests).values(
            transaction_id=request.transaction_id,
            sale_tx=request.sale_tx,
            sale_message_id=request.sale_message_id,
            message_id=request.message_id,
            item_id=request.item_id,
            quantity=request.quantity,
            rank=request.rank,
            supplier_id=request.supplier_id,
            state=request.state,
            deadline=request.deadline,
        )
    )


def settle(
    connection: Connection,
    transaction_id: str,
    state: str,
    *,
    lead_time_days: int | None = None,
    note: str | None = None,
    answer: str | None = None,
) -> bool:
    """Settle an asked request; True only for the caller that settled it."""
    return bool(
        connection.execute(
            update(mfg_quote_requests)
            .where(
                and_(
                    mfg_quote_requests.c.transaction_id == transaction_id,
                    mfg_quote_requests.c.state == ASKED,
                )
            )
            .values(state=state, lead_time_days=lead_time_days, note=note, answer=answer)
        ).rowcount
    )


def request_by_tx(connection: Connection, transaction_id: str) -> QuoteRequest | None:
    """The request asked in a transaction with a supplier."""
    row = connection.execute(
        select(mfg_quote_requests).where(mfg_quote_requests.c.transaction_id == transaction_id)
    ).first()
    return _request(row) if row is not None else None


def requests(
    connection: Connection, sale_tx: str, sale_message_id: str | None = None
) -> list[QuoteRequest]:
    """A sale's requests (of one round, if given), by item and rank."""
    query = select(mfg_quote_requests).where(mfg_quote_requests.c.sale_tx == sale_tx)
    if sale_message_id is not None:
        query = query.where(mfg_quote_requests.c.sale_message_id == sale_message_id)
    query = query.order_by(
        mfg_quote_requests.c.item_id, mfg_quote_requests.c.deadline, mfg_quote_requests.c.rank
    )
    return [_request(row) for row in connection.execute(query)]


def overdue_or_refused(connection: Connection, now: float) -> list[tuple[QuoteRequest, str]]:
    """Asked requests past their deadline, or whose select the supplier NACKed or never took."""
    rows = connection.execute(
        select(mfg_quote_requests, outbox.c.state.label("delivery"), outbox.c.last_error)
        .join(
            outbox,
            and_(
                outbox.c.message_id == mfg_quote_requests.c.message_id,
                outbox.c.transaction_id == mfg_quote_requests.c.transaction_id,
            ),
            isouter=True,
        )
        .where(mfg_quote_requests.c.state == ASKED)
        .order_by(mfg_quote_requests.c.deadline)
    )
    found = []
    for row in rows:
        if row.delivery in ("nacked", "failed"):
            found.append((_request(row), f"refused: {row.last_error or row.delivery}"))
        elif row.deadline <= now:
            found.append((_request(row), "no answer in time"))
    return found


def request_body(connection: Connection, transaction_id: str, message_id: str) -> bytes | None:
    """The raw body of a request this node received (the buyer's select a round answers)."""
    body = connection.execute(
        select(inbox.c.body).where(
            and_(inbox.c.transaction_id == transaction_id, inbox.c.message_id == message_id)
        )
    ).scalar_one_or_none()
    return body.encode() if body is not None else None
