"""A Beckn body: ``{context, message, error}``, decoded from bytes and encoded back.

The typed views (:class:`Context`, the action's message, :class:`BecknError`) are what code
reads. The decoded JSON tree is kept beside them, because a body must come out of a node with
every field it went in with, including ones no schema of ours models (``@ondc/org/…`` keys,
another network's extensions): encoding starts from the tree and lays the typed views over it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import msgspec

from supplymesh.protocol.ack import BecknError
from supplymesh.protocol.actions import Action
from supplymesh.protocol.codec import MAX_BODY_BYTES, convert, decode_json, encode_json
from supplymesh.protocol.context import Context, ContextShape, format_timestamp, to_shape
from supplymesh.protocol.errors import ErrorCode, LocalProtocolError, ProtocolError
from supplymesh.protocol.messages import MESSAGE_TYPES, Message

_CATALOG_PREFIXED = ("descriptor", "providers", "fulfillments")


@dataclass(frozen=True, slots=True)
class Envelope:
    """One Beckn body. Build with :func:`envelope`; read with :func:`decode`."""

    context: Context
    message: Message | None = None
    error: BecknError | None = None
    tree: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    pristine: bool = field(default=False, repr=False, compare=False)

    @property
    def action(self) -> Action:
        """The action this body performs."""
        return Action(self.context.action)

    def replace(
        self,
        *,
        context: Context | None = None,
        message: Message | None = None,
        error: BecknError | None = None,
    ) -> Envelope:
        """A copy with some parts replaced; fields only the tree holds are kept."""
        return Envelope(
            context=context if context is not None else self.context,
            message=message if message is not None else self.message,
            error=error if error is not None else self.error,
            tree=self.tree,
        )


def envelope(
    context: Context, message: Message | None = None, error: BecknError | None = None
) -> Envelope:
    """A new body from typed parts, checking that the message fits the action."""
    try:
        action = Action(context.action)
    except ValueError:
        raise LocalProtocolError(f"unknown action {context.action!r}") from None
    expected = MESSAGE_TYPES[action]
    if message is not None and not isinstance(message, expected):
        raise LocalProtocolError(
            f"{action.value} carries a {expected.__name__}, not a {type(message).__name__}"
        )
    if message is None and error is None and not action.is_callback:
        raise LocalProtocolError(f"{action.value} needs a message")
    return Envelope(context=context, message=message, error=error)


def decode(
    raw: bytes,
    *,
    expected_action: Action | str | None = None,
    max_bytes: int = MAX_BODY_BYTES,
) -> Envelope:
    """Decode a body; any fault raises ProtocolError with its code, JSON path and reason."""
    tree = decode_json(raw, max_bytes)
    if not isinstance(tree, dict):
        raise ProtocolError(
            ErrorCode.SCHEMA_VIOLATION, f"a body is a JSON object, not {_kind(tree)}", "$"
        )
    if not isinstance(tree.get("context"), dict):
        raise ProtocolError(ErrorCode.SCHEMA_VIOLATION, "context is required", "$.context")
    context = convert(tree["context"], Context, "$.context")
    try:
        action = Action(context.action)
    except ValueError:
        raise ProtocolError(
            ErrorCode.ACTION_NOT_APPLICABLE,
            f"unknown action {context.action[:64]!r}",
            "$.context.action",
        ) from None
    if expected_action is not None and action != expected_action:
        raise ProtocolError(
            ErrorCode.ACTION_MISMATCH,
            f"context.action is {action.value!r} but this endpoint is /{expected_action}",
            "$.context.action",
        )
    error = convert(tree["error"], BecknError, "$.error") if tree.get("error") is not None else None
    message: Message | None = None
    if tree.get("message") is not None:
        message = convert(tree["message"], MESSAGE_TYPES[action], "$.message")
    elif not action.is_callback or action is Action.ON_RATING or error is None:
        raise ProtocolError(
            ErrorCode.SCHEMA_VIOLATION, f"message is required on {action.value}", "$.message"
        )
    return Envelope(context=context, message=message, error=error, tree=tree, pristine=True)


def encode(env: Envelope, shape: ContextShape | None = None) -> bytes:
    """The body's bytes, in the context shape the peer's network expects (default: as it is)."""
    tree: dict[str, Any]
    if env.pristine:
        tree = dict(env.tree)
    else:
        top: dict[str, Any] = {"context": msgspec.to_builtins(env.context)}
        if env.message is not None:
            top["message"] = msgspec.to_builtins(env.message)
        if env.error is not None:
            top["error"] = msgspec.to_builtins(env.error)
        tree = overlay(env.tree, top)
    if shape is not None and shape is not env.context.shape:
        tree["context"] = to_shape(tree["context"], shape)
        _reshape_catalog(tree, shape)
    return encode_json(tree)


def overlay(base: Any, top: Any) -> Any:
    """``top`` laid over ``base``: top's values win, keys only base has are kept.

    Arrays (lists or tuples) of the same length merge item by item; otherwise items are
    matched by ``id``.
    """
    if isinstance(base, Mapping) and isinstance(top, Mapping):
        merged = dict(base)
        for key, value in top.items():
            merged[key] = overlay(base.get(key), value)
        return merged
    # The typed views hold arrays as tuples, and msgspec.to_builtins keeps them tuples.
    if isinstance(base, list) and isinstance(top, list | tuple):
        if len(base) == len(top):
            return [overlay(b, t) for b, t in zip(base, top, strict=True)]
        by_id = {b.get("id"): b for b in base if isinstance(b, Mapping) and "id" in b}
        return [overlay(by_id.get(t.get("id")), t) if isinstance(t, Mapping) else t for t in top]
    return top


def expected_signer(context: Context) -> str | None:
    """Who must have signed a body with this context (bap_id on requests, bpp_id on callbacks)."""
    return context.sender_id


def _reshape_catalog(tree: dict[str, Any], shape: ContextShape) -> None:
    message = tree.get("message")
    if not isinstance(message, dict) or not isinstance(message.get("catalog"), dict):
        return
    catalog = dict(message["catalog"])
    for key in _CATALOG_PREFIXED:
        old, new = (key, f"bpp/{key}") if shape is ContextShape.LEGACY else (f"bpp/{key}", key)
        if old in catalog and new not in catalog:
            catalog[new] = catalog.pop(old)
    tree["message"] = {**message, "catalog": catalog}


def _kind(value: Any) -> str:
    return {
        list: "an array",
        str: "a string",
        int: "a number",
        float: "a number",
        bool: "a boolean",
    }.get(type(value), "null")


def refresh_timestamp(raw: bytes, now: datetime) -> bytes:
    """A request re-stamped ``now`` when its ttl has run out, else unchanged.

    A request that waited in an outbox past its ttl (the peer was down) would be refused as
    stale; sent again with a fresh timestamp and the same message_id, the peer takes it
    once, or recognises it as a duplicate. Every other field stays as it was.
    """
    env = decode(raw)
    expires = env.context.expires_at()
    if env.action.is_callback or expires is None or expires > now + timedelta(seconds=5):
        return raw
    tree = dict(env.tree)
    tree["context"] = {**tree["context"], "timestamp": format_timestamp(now)}
    return encode_json(tree)
