"""The protocol layer's error tree and the one table of error codes.

    ProtocolError                a peer sent us something we must refuse (answer with a NACK)
    ├── SignatureError           an Authorization / X-Gateway-Authorization check failed (HTTP 401)
    LocalProtocolError           we were asked to build something invalid: a bug on our side

Every ``ProtocolError`` carries an :class:`ErrorCode` (a Beckn or ONDC code where one fits),
the JSON path of the fault and a message a person can act on. The codes follow Beckn's
BECKN-005 draft (30000-50004) and ONDC's published extension (10001/20001/30016/60005 for a
bad signature, 20002/30022 for a stale request, 20007 for an invalid order state); the few
codes supplymesh adds live in the 90000 range so they can never clash with a network's.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class ErrorType(enum.StrEnum):
    """The error ``type`` that Beckn 0.9 and ONDC put beside the code."""

    CONTEXT = "CONTEXT-ERROR"
    CORE = "CORE-ERROR"
    DOMAIN = "DOMAIN-ERROR"
    POLICY = "POLICY-ERROR"
    JSON_SCHEMA = "JSON-SCHEMA-ERROR"


class ReceiverRole(enum.StrEnum):
    """Who is refusing: ONDC gives each role its own code for the same fault."""

    GATEWAY = "BG"
    BUYER = "BAP"
    SELLER = "BPP"
    LOGISTICS = "LSP"
    REGISTRY = "BREG"


@dataclass(frozen=True, slots=True)
class CodeInfo:
    """One row of the table: the wire code, its type and what it means."""

    code: str
    type: ErrorType
    meaning: str


class ErrorCode(enum.Enum):
    """Every error code supplymesh sends, with its meaning; ``code`` is what goes on the wire."""

    # Context, envelope and schema faults.
    INVALID_REQUEST = CodeInfo("30000", ErrorType.CONTEXT, "Invalid request")
    BODY_TOO_LARGE = CodeInfo("90001", ErrorType.CONTEXT, "Request body exceeds the size limit")
    MALFORMED_JSON = CodeInfo("90002", ErrorType.JSON_SCHEMA, "Body is not well-formed UTF-8 JSON")
    SCHEMA_VIOLATION = CodeInfo("90003", ErrorType.JSON_SCHEMA, "Body violates the schema")
    ACTION_MISMATCH = CodeInfo("90004", ErrorType.CONTEXT, "context.action differs from the path")
    SIGNER_MISMATCH = CodeInfo(
        "90005", ErrorType.POLICY, "Signer is not the sender named in the context"
    )
    UNKNOWN_SENDER = CodeInfo("90006", ErrorType.POLICY, "Sender has no valid key in the registry")
    STALE_REQUEST = CodeInfo("30022", ErrorType.CONTEXT, "Stale request: timestamp + ttl passed")
    INVALID_SIGNATURE = CodeInfo("30016", ErrorType.POLICY, "Invalid signature")
    # Not found (Beckn BECKN-005 30001-30015).
    PROVIDER_NOT_FOUND = CodeInfo("30001", ErrorType.DOMAIN, "Provider not found")
    ITEM_NOT_FOUND = CodeInfo("30004", ErrorType.DOMAIN, "Item not found")
    FULFILLMENT_NOT_FOUND = CodeInfo("30008", ErrorType.DOMAIN, "Fulfillment unavailable")
    ORDER_NOT_FOUND = CodeInfo("30010", ErrorType.DOMAIN, "Order not found")
    INVALID_CANCELLATION_REASON = CodeInfo("30011", ErrorType.DOMAIN, "Invalid cancellation reason")
    INVALID_UPDATE_TARGET = CodeInfo("30012", ErrorType.DOMAIN, "Invalid update_target")
    # Business (40000-40006).
    BUSINESS_ERROR = CodeInfo("40000", ErrorType.DOMAIN, "Business error")
    ACTION_NOT_APPLICABLE = CodeInfo("40001", ErrorType.DOMAIN, "Action not applicable")
    QUANTITY_UNAVAILABLE = CodeInfo("40002", ErrorType.DOMAIN, "Item quantity unavailable")
    QUOTE_UNAVAILABLE = CodeInfo("40003", ErrorType.DOMAIN, "Quote unavailable")
    # Policy (50000-50004).
    POLICY_ERROR = CodeInfo("50000", ErrorType.POLICY, "Policy error")
    CANCEL_NOT_POSSIBLE = CodeInfo("50001", ErrorType.POLICY, "Cancellation not possible")
    UPDATE_NOT_POSSIBLE = CodeInfo("50002", ErrorType.POLICY, "Update not possible")
    RATING_CATEGORY_UNSUPPORTED = CodeInfo(
        "50003", ErrorType.POLICY, "Rating category not supported"
    )
    # Logistics (ONDC 6xxxx).
    NOT_SERVICEABLE = CodeInfo("60001", ErrorType.DOMAIN, "Route not serviceable")
    NO_CARRIER_CAPACITY = CodeInfo("60004", ErrorType.DOMAIN, "No delivery capacity in time")
    # Buyer-side (ONDC 2xxxx).
    INVALID_ORDER_STATE = CodeInfo("20007", ErrorType.DOMAIN, "Invalid order state")
    CALLBACK_LATE = CodeInfo("20009", ErrorType.CONTEXT, "Callback after the request's ttl")
    INTERNAL_ERROR = CodeInfo("31001", ErrorType.CORE, "Internal error, retry")

    @property
    def code(self) -> str:
        """The code as it goes on the wire."""
        return self.value.code

    @property
    def type(self) -> ErrorType:
        """The ``type`` that ONDC and Beckn 0.9 expect beside the code."""
        return self.value.type

    @property
    def meaning(self) -> str:
        """A short description of the code."""
        return self.value.meaning

    def code_for(self, receiver: ReceiverRole) -> str:
        """The wire code as the refusing role publishes it (ONDC gives each role its own)."""
        return _ROLE_CODES.get((self, receiver), self.code)


_ROLE_CODES: dict[tuple[ErrorCode, ReceiverRole], str] = {
    (ErrorCode.INVALID_SIGNATURE, ReceiverRole.GATEWAY): "10001",
    (ErrorCode.INVALID_SIGNATURE, ReceiverRole.BUYER): "20001",
    (ErrorCode.INVALID_SIGNATURE, ReceiverRole.LOGISTICS): "60005",
    (ErrorCode.STALE_REQUEST, ReceiverRole.BUYER): "20002",
    (ErrorCode.INVALID_REQUEST, ReceiverRole.GATEWAY): "10000",
    (ErrorCode.INVALID_REQUEST, ReceiverRole.LOGISTICS): "60006",
}


class ProtocolError(Exception):
    """A peer sent something we must refuse; it becomes a NACK with ``code`` and ``path``."""

    def __init__(self, code: ErrorCode, message: str, path: str = "") -> None:
        super().__init__(f"{code.code} {message}" + (f" (at {path})" if path else ""))
        self.code = code
        self.message = message
        self.path = path


class SignatureFailure(enum.StrEnum):
    """Which check of an HTTP signature failed: the first one, in the order they run."""

    MISSING = "missing-header"
    MALFORMED_HEADER = "malformed-header"
    UNSUPPORTED_ALGORITHM = "unsupported-algorithm"
    ALGORITHM_MISMATCH = "algorithm-mismatch"
    NOT_YET_VALID = "not-yet-valid"
    EXPIRED = "expired"
    UNKNOWN_KEY = "unknown-key"
    DIGEST_MISMATCH = "digest-mismatch"
    BAD_SIGNATURE = "bad-signature"
    SIGNER_MISMATCH = "signer-mismatch"


class SignatureError(ProtocolError):
    """An HTTP signature did not verify; receivers answer 401 with a NACK."""

    def __init__(self, failure: SignatureFailure, message: str, header: str = "Authorization"):
        code = (
            ErrorCode.SIGNER_MISMATCH
            if failure is SignatureFailure.SIGNER_MISMATCH
            else ErrorCode.INVALID_SIGNATURE
        )
        super().__init__(code, f"{failure.value}: {message}", path=header)
        self.failure = failure
        self.header = header


class LocalProtocolError(Exception):
    """We were asked to build or sign something invalid: a bug in the caller, not the peer."""
