"""One node's core use-case: take in a verified message, apply it, queue what it causes.

Everything a message changes (the inbox row that makes it a duplicate next time, the orders
and stock it touches, the callbacks it causes in the outbox) is written in one database
transaction. A domain rule that refuses the message raises before the commit, so a refused
message changes nothing and its sender gets a NACK with the rule's code.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import msgspec
from nacl.signing import VerifyKey
from sqlalchemy.engine import Connection

from supplymesh.adapters.catalog_cache import PULL_PREFIX as HOUSEKEEPING_PREFIX
from supplymesh.adapters.node_home import NodeRole
from supplymesh.adapters.node_store import NodeStore
from supplymesh.protocol import signing
from supplymesh.protocol.actions import Action
from supplymesh.protocol.context import (
    DEFAULT_TTL,
    Context,
    ContextShape,
    callback_context,
    new_context,
)
from supplymesh.protocol.envelope import Envelope, decode, encode, envelope
from supplymesh.protocol.errors import ErrorCode, ProtocolError
from supplymesh.protocol.keys import SigningKeyPair
from supplymesh.protocol.messages import Message

DELIVERY_HORIZON_SECONDS = 24 * 3600.0
SIGNATURE_TTL_SECONDS = 300


@dataclass(frozen=True, slots=True)
class NodeIdentity:
    """Who this node is, and the terms it sells on."""

    subscriber_id: str
    unique_key_id: str
    url: str
    signing: SigningKeyPair
    role: NodeRole
    domain: str
    city: str
    country: str
    display_name: str = ""
    support_email: str = ""
    delivery_charge: Decimal = Decimal(0)
    tax_percent: Decimal = Decimal(0)

    def sign(self, body: bytes, now: float) -> str:
        """The Authorization header for ``body``."""
        return signing.sign_at(
            body,
            self.signing,
            subscriber_id=self.subscriber_id,
            unique_key_id=self.unique_key_id,
            now=now,
            ttl=SIGNATURE_TTL_SECONDS,
        )


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message to queue: to whom, and the body."""

    peer_id: str
    peer_uri: str
    env: Envelope
    shape: ContextShape = ContextShape.CURRENT


Handler = Callable[["NodeService", Connection, Envelope, float], list[Outgoing]]


class NodeService:
    """Receives verified messages and queues their consequences, one transaction each."""

    def __init__(
        self,
        store: NodeStore,
        identity: NodeIdentity,
        handlers: dict[Action, Handler],
        *,
        clock: Callable[[], float] = time.time,
        horizon: float = DELIVERY_HORIZON_SECONDS,
        peer_key: Callable[[str, str], VerifyKey | None] | None = None,
    ) -> None:
        self.store = store
        self.identity = identity
        self.handlers = handlers
        self.clock = clock
        self.horizon = horizon
        # A peer's key from the verified-key cache (no I/O): handlers that check a peer's
        # signed statements (a pool's outcome) use it.
        self.peer_key = peer_key or (lambda _subscriber, _key_id: None)

    def now(self) -> datetime:
        """The clock as an aware datetime."""
        return datetime.fromtimestamp(self.clock(), UTC)

    def check_addressed(self, env: Envelope) -> None:
        """Refuse a message meant for another participant."""
        ctx = env.context
        me = self.identity.subscriber_id
        if env.action.is_callback:
            if ctx.bap_id != me:
                raise ProtocolError(
                    ErrorCode.INVALID_REQUEST,
                    f"this callback is for {ctx.bap_id!r}; this node is {me!r}",
                    "$.context.bap_id",
                )
            if not self.identity.role.buys:
                raise ProtocolError(ErrorCode.ACTION_NOT_APPLICABLE, "this node does not buy")
        else:
            if ctx.bpp_id is not None and ctx.bpp_id != me:
                raise ProtocolError(
                    ErrorCode.INVALID_REQUEST,
                    f"this request is for {ctx.bpp_id!r}; this node is {me!r}",
                    "$.context.bpp_id",
                )
            if not self.identity.role.sells:
                raise ProtocolError(ErrorCode.ACTION_NOT_APPLICABLE, "this node does not sell")

    def receive(
        self,
        env: Envelope,
        raw: bytes,
        *,
        sender: str,
        late: bool,
        via: str | None = None,
        refuse: ProtocolError | None = None,
    ) -> None:
        """Apply one verified message; raises Duplicate (ACK it) or DomainError (NACK it).

        ``via`` is the URL of the gateway the request came through: its answers go back
        through the same gateway (BECKN-006), which relays them to the buyer. ``refuse`` is
        raised unless the message is a duplicate: a stale request we already took is ACKed
        again (its first ACK may have been lost), a new stale one is refused.
        """
        now = self.clock()
        ctx = env.context
        handler = self.handlers.get(env.action)
        if handler is None:
            raise ProtocolError(
                ErrorCode.ACTION_NOT_APPLICABLE, f"{env.action.value} is not implemented here"
            )
        with self.store.engine.begin() as connection:
            self.store.record_incoming(
                connection,
                sender=sender,
                action=env.action.value,
                message_id=str(ctx.message_id),
                transaction_id=str(ctx.transaction_id),
                body=raw,
                late=late,
                now=now,
            )
            if refuse is not None:
                raise refuse
            if not str(ctx.transaction_id).startswith(HOUSEKEEPING_PREFIX):
                self.store.touch_transaction(
                    connection,
                    transaction_id=str(ctx.transaction_id),
                    role="buyer" if env.action.is_callback else "seller",
                    counterparty=ctx.bpp_id if env.action.is_callback else ctx.bap_id,
                    domain=ctx.domain,
                    action=env.action.value,
                    now=now,
                )
            for out in handler(self, connection, env, now):
                answers_it = out.env.context.message_id == ctx.message_id
                relayed = dataclasses.replace(out, peer_uri=via) if via and answers_it else out
                self.enqueue(connection, relayed, now)

    def is_late(self, env: Envelope, now: float) -> bool:
        """True when a callback comes after the ttl of the request it answers."""
        action = env.action
        if not action.is_callback:
            return False
        body = self.store.sent_body(str(env.context.message_id), action.request.value)
        if body is None:
            return False  # unsolicited: it answers no request of ours
        expires = decode(body).context.expires_at()
        return expires is not None and expires.timestamp() < now

    def enqueue(self, connection: Connection, out: Outgoing, now: float) -> int:
        """Queue ``out`` in the caller's transaction."""
        ctx = out.env.context
        return self.store.enqueue(
            connection,
            transaction_id=str(ctx.transaction_id),
            message_id=str(ctx.message_id),
            action=ctx.action,
            peer_id=out.peer_id,
            peer_uri=out.peer_uri,
            body=encode(out.env, out.shape),
            now=now,
            horizon=self.horizon,
        )

    def reply(self, request: Envelope, message: Message, now: float) -> Outgoing:
        """The ``on_*`` callback answering ``request``, addressed to its buyer."""
        ctx = callback_context(
            request.context,
            now=datetime.fromtimestamp(now, UTC),
            bpp_id=self.identity.subscriber_id,
            bpp_uri=self.identity.url,
        )
        return Outgoing(
            peer_id=str(request.context.bap_id),
            peer_uri=str(request.context.bap_uri),
            env=envelope(ctx, message),
            shape=request.context.shape,
        )

    def request_envelope(
        self,
        action: Action,
        message: Message,
        now: float,
        *,
        transaction_id: str,
        peer: tuple[str, str] | None = None,
        message_id: str | None = None,
        domain: str | None = None,
        city: str | None = None,
        ttl: str = DEFAULT_TTL,
    ) -> Envelope:
        """A request this node sends as a buyer, to ``peer`` (subscriber id, URL) or, with
        none, broadcast; in this node's domain and city unless others are given. A fixed
        ``message_id`` makes a resend the same message."""
        identity = self.identity
        peer_id, peer_url = peer if peer is not None else (None, None)
        ctx = new_context(
            action,
            now=datetime.fromtimestamp(now, UTC),
            domain=domain or identity.domain,
            bap_id=identity.subscriber_id,
            bap_uri=identity.url,
            city=city or identity.city,
            country=identity.country,
            bpp_id=peer_id,
            bpp_uri=peer_url,
            transaction_id=transaction_id,
            message_id=message_id,
            ttl=ttl,
        )
        return envelope(ctx, message)

    def request(
        self,
        action: Action,
        peer: tuple[str, str],
        message: Message,
        now: float,
        *,
        transaction_id: str,
        message_id: str | None = None,
        domain: str | None = None,
        ttl: str = DEFAULT_TTL,
    ) -> Outgoing:
        """:meth:`request_envelope` to ``peer``, ready to queue."""
        env = self.request_envelope(
            action,
            message,
            now,
            transaction_id=transaction_id,
            peer=peer,
            message_id=message_id,
            domain=domain,
            ttl=ttl,
        )
        return Outgoing(peer_id=peer[0], peer_uri=peer[1], env=env)

    def unsolicited(self, about: Context, action: Action, message: Message, now: float) -> Outgoing:
        """A callback the seller sends on its own (a state change): a new message_id."""
        ctx = msgspec.structs.replace(
            about,
            action=action.value,
            bpp_id=self.identity.subscriber_id,
            bpp_uri=self.identity.url,
            timestamp=datetime.fromtimestamp(now, UTC),
            message_id=str(uuid.uuid4()),
        )
        return Outgoing(
            peer_id=str(about.bap_id),
            peer_uri=str(about.bap_uri),
            env=envelope(ctx, message),
            shape=about.shape,
        )
