"""The synchronous answer to every Beckn call: ACK, or NACK with an error.

Beckn 1.1.0 (``transaction.yaml`` responses.default)::

    {"message": {"ack": {"status": "ACK"}}}
    {"message": {"ack": {"status": "NACK"}},
     "error": {"code": "...", "paths": "...", "message": "..."}}

ONDC and Beckn 0.9 want ``type`` and a singular ``path``: :func:`nack_body` writes the shape the
peer's network expects, and :func:`parse_ack` reads any of them (and accepts a context echoed
back, as beckn/protocol-server does).
"""

from __future__ import annotations

import enum

import msgspec

from supplymesh.protocol.codec import convert, decode_json, encode_json
from supplymesh.protocol.context import ContextShape
from supplymesh.protocol.errors import ErrorCode, ProtocolError, ReceiverRole

ACK_BODY = b'{"message":{"ack":{"status":"ACK"}}}'


class AckStatus(enum.StrEnum):
    """ACK: accepted, a callback will follow. NACK: refused, or no callback intended."""

    ACK = "ACK"
    NACK = "NACK"


class BecknError(msgspec.Struct, kw_only=True, omit_defaults=True, frozen=True):
    """An error as it travels, in either shape."""

    code: str | None = None
    type: str | None = None
    paths: str | None = None
    path: str | None = None
    message: str | None = None

    @property
    def where(self) -> str | None:
        """The path of the fault, whichever key carried it."""
        return self.paths if self.paths is not None else self.path


class _AckStatusBox(msgspec.Struct, frozen=True):
    status: AckStatus


class _AckMessage(msgspec.Struct, frozen=True):
    ack: _AckStatusBox


class _AckBody(msgspec.Struct, frozen=True):
    message: _AckMessage
    error: BecknError | None = None


class AckResult(msgspec.Struct, frozen=True):
    """A peer's synchronous answer."""

    status: AckStatus
    error: BecknError | None = None

    @property
    def acked(self) -> bool:
        """True when the peer accepted the call."""
        return self.status is AckStatus.ACK


def ack_body() -> bytes:
    """The ACK body."""
    return ACK_BODY


def nack_error(
    error: ProtocolError,
    receiver: ReceiverRole = ReceiverRole.SELLER,
    shape: ContextShape = ContextShape.CURRENT,
) -> BecknError:
    """The error object for a NACK, with the code the refusing role publishes."""
    path = error.path or None
    return BecknError(
        code=error.code.code_for(receiver),
        type=str(error.code.type),
        paths=path if shape is ContextShape.CURRENT else None,
        path=path if shape is ContextShape.LEGACY else None,
        message=error.message,
    )


def nack_body(
    error: ProtocolError,
    receiver: ReceiverRole = ReceiverRole.SELLER,
    shape: ContextShape = ContextShape.CURRENT,
) -> bytes:
    """The NACK body for ``error``."""
    body = _AckBody(
        message=_AckMessage(ack=_AckStatusBox(status=AckStatus.NACK)),
        error=nack_error(error, receiver, shape),
    )
    return encode_json(body)


def parse_ack(raw: bytes) -> AckResult:
    """Read a peer's ACK/NACK answer; anything else raises ProtocolError."""
    tree = decode_json(raw)
    if not isinstance(tree, dict):
        raise ProtocolError(ErrorCode.SCHEMA_VIOLATION, "an ACK body must be a JSON object", "$")
    body = convert(tree, _AckBody, "$")
    return AckResult(status=body.message.ack.status, error=body.error)
