"""The sans-I/O protocol core: Beckn bodies, contexts, ACK/NACK, errors, keys and signatures.

Bytes and values in, bytes and values out: no sockets, no files, no clock read behind the
caller's back. Every node, registry and gateway signs and verifies through this package.
"""

from supplymesh.protocol.ack import AckResult, AckStatus, BecknError, ack_body, nack_body, parse_ack
from supplymesh.protocol.actions import Action, RegistryAction
from supplymesh.protocol.codec import MAX_BODY_BYTES
from supplymesh.protocol.context import Context, ContextShape, callback_context, new_context
from supplymesh.protocol.envelope import Envelope, decode, encode, envelope
from supplymesh.protocol.errors import (
    ErrorCode,
    LocalProtocolError,
    ProtocolError,
    ReceiverRole,
    SignatureError,
    SignatureFailure,
)
from supplymesh.protocol.keys import EncryptionKeyPair, KeyFormatError, SigningKeyPair
from supplymesh.protocol.signing import parse_signature_header, sign, verify

__all__ = [
    "MAX_BODY_BYTES",
    "AckResult",
    "AckStatus",
    "Action",
    "BecknError",
    "Context",
    "ContextShape",
    "EncryptionKeyPair",
    "Envelope",
    "ErrorCode",
    "KeyFormatError",
    "LocalProtocolError",
    "ProtocolError",
    "ReceiverRole",
    "RegistryAction",
    "SignatureError",
    "SignatureFailure",
    "SigningKeyPair",
    "ack_body",
    "callback_context",
    "decode",
    "encode",
    "envelope",
    "nack_body",
    "new_context",
    "parse_ack",
    "parse_signature_header",
    "sign",
    "verify",
]
