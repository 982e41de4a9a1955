"""Bytes to JSON trees to typed views, with every failure turned into a ProtocolError.

Whatever the bytes are (truncated, not UTF-8, nested a million deep, a number too large for
any type, a 10 MB body), the only exception that leaves this module is
:class:`~supplymesh.protocol.errors.ProtocolError`, naming the JSON path of the fault.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

import msgspec

from supplymesh.protocol.errors import ErrorCode, ProtocolError

MAX_BODY_BYTES = 1024 * 1024
"""Default size limit of one body: Beckn bodies are kilobytes; a catalog page stays far below."""

T = TypeVar("T")

_JSON_DECODER = msgspec.json.Decoder()
_JSON_ENCODER = msgspec.json.Encoder()
_AT_PATH = re.compile(r" - at `(\$[^`]*)`$")


def check_size(raw: bytes, max_bytes: int = MAX_BODY_BYTES) -> None:
    """Refuse a body over the size limit before parsing a byte of it."""
    if len(raw) > max_bytes:
        raise ProtocolError(
            ErrorCode.BODY_TOO_LARGE,
            f"body is {len(raw)} bytes; the limit is {max_bytes} bytes",
        )


def decode_json(raw: bytes, max_bytes: int = MAX_BODY_BYTES) -> Any:
    """Parse UTF-8 JSON into plain Python values (dict, list, str, int, float, bool, None)."""
    check_size(raw, max_bytes)
    try:
        return _JSON_DECODER.decode(raw)
    except msgspec.ValidationError as exc:  # a number beyond float range
        raise ProtocolError(
            ErrorCode.MALFORMED_JSON,
            f"{_message(exc)}: a number is beyond the range of a 64-bit float",
            _path(exc, "$"),
        ) from None
    except msgspec.DecodeError as exc:
        raise ProtocolError(
            ErrorCode.MALFORMED_JSON, f"body is not valid UTF-8 JSON: {exc}"
        ) from None
    except UnicodeDecodeError as exc:  # msgspec lets this out for bad bytes inside a string
        raise ProtocolError(
            ErrorCode.MALFORMED_JSON, f"body is not valid UTF-8: a string holds {exc.reason}"
        ) from None
    except RecursionError:
        raise ProtocolError(ErrorCode.MALFORMED_JSON, "JSON is nested too deeply") from None


def encode_json(value: Any) -> bytes:
    """Compact JSON bytes, key order kept."""
    return _JSON_ENCODER.encode(value)


def convert(value: Any, type_: type[T], path: str) -> T:
    """A typed view of a JSON value; a type fault names its path below ``path``."""
    try:
        return msgspec.convert(value, type_, strict=True)
    except msgspec.ValidationError as exc:
        raise ProtocolError(ErrorCode.SCHEMA_VIOLATION, _message(exc), _path(exc, path)) from None
    except RecursionError:
        raise ProtocolError(
            ErrorCode.SCHEMA_VIOLATION, "value is nested too deeply", path
        ) from None


def _message(exc: Exception) -> str:
    return _AT_PATH.sub("", str(exc))


def _path(exc: Exception, prefix: str) -> str:
    match = _AT_PATH.search(str(exc))
    if match is None:
        return prefix
    path = match.group(1)
    # Decoding without a type, msgspec writes an object member as ``[...]``: cut the path there.
    cut = path.find("[...]")
    return prefix + (path[1:cut] if cut >= 0 else path[1:])
