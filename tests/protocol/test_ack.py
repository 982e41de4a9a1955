"""ACK and NACK bodies, reading a peer's answer, and the one table of error codes."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supplymesh.protocol.ack import (
    ACK_BODY,
    AckStatus,
    BecknError,
    ack_body,
    nack_body,
    nack_error,
    parse_ack,
)
from supplymesh.protocol.context import ContextShape
from supplymesh.protocol.errors import (
    ErrorCode,
    ErrorType,
    ProtocolError,
    ReceiverRole,
    SignatureError,
    SignatureFailure,
)

BAD_SIGNATURE = SignatureError(SignatureFailure.BAD_SIGNATURE, "the body changed")
STALE = ProtocolError(ErrorCode.STALE_REQUEST, "ttl ran out 12 s ago", "$.context.ttl")


def test_the_ack_body_is_exactly_the_one_beckn_defines() -> None:
    """{"message":{"ack":{"status":"ACK"}}}, compact, byte for byte."""
    assert ack_body() == ACK_BODY == b'{"message":{"ack":{"status":"ACK"}}}'


def test_a_current_shape_nack_has_code_type_paths_and_message() -> None:
    """Beckn 1.1's NACK: error.code, type, paths (plural) and message."""
    body = json.loads(nack_body(STALE))
    assert body == {
        "message": {"ack": {"status": "NACK"}},
        "error": {
            "code": "30022",
            "type": "CONTEXT-ERROR",
            "paths": "$.context.ttl",
            "message": "ttl ran out 12 s ago",
        },
    }


def test_a_legacy_shape_nack_has_a_singular_path() -> None:
    """ONDC and Beckn 0.9 read error.path, not paths."""
    body = json.loads(nack_body(STALE, shape=ContextShape.LEGACY))
    assert body["error"]["path"] == "$.context.ttl"
    assert "paths" not in body["error"]


def test_a_nack_without_a_path_leaves_the_key_out() -> None:
    """No path means no paths key, rather than an empty string."""
    body = json.loads(nack_body(ProtocolError(ErrorCode.INTERNAL_ERROR, "retry later")))
    assert body["error"] == {"code": "31001", "type": "CORE-ERROR", "message": "retry later"}


@pytest.mark.parametrize(
    ("role", "code"),
    [
        (ReceiverRole.GATEWAY, "10001"),
        (ReceiverRole.BUYER, "20001"),
        (ReceiverRole.SELLER, "30016"),
        (ReceiverRole.LOGISTICS, "60005"),
        (ReceiverRole.REGISTRY, "30016"),
    ],
)
def test_an_invalid_signature_gets_the_code_the_refusing_role_publishes(
    role: ReceiverRole, code: str
) -> None:
    """ONDC gives each role its own invalid-signature code."""
    assert ErrorCode.INVALID_SIGNATURE.code_for(role) == code
    assert json.loads(nack_body(BAD_SIGNATURE, role))["error"]["code"] == code
    assert nack_error(BAD_SIGNATURE, role).code == code


def test_a_stale_request_at_a_buyer_is_20002() -> None:
    """The buyer app's stale-request code is 20002; others use 30022."""
    assert ErrorCode.STALE_REQUEST.code_for(ReceiverRole.BUYER) == "20002"
    assert ErrorCode.STALE_REQUEST.code_for(ReceiverRole.SELLER) == "30022"


def test_a_signature_nack_names_the_header_and_the_failure() -> None:
    """The NACK for a bad signature points at the header and says which check failed."""
    error = nack_error(BAD_SIGNATURE)
    assert error.paths == "Authorization"
    assert error.type == "POLICY-ERROR"
    assert error.message == "bad-signature: the body changed"


def test_parse_ack_reads_an_ack() -> None:
    """The ACK body reads as acked, with no error."""
    result = parse_ack(ACK_BODY)
    assert result.acked
    assert result.status is AckStatus.ACK
    assert result.error is None


@pytest.mark.parametrize("key", ["path", "paths"])
def test_parse_ack_reads_a_nack_with_path_or_paths(key: str) -> None:
    """Either spelling of the fault's location is read into ``where``."""
    raw = json.dumps(
        {
            "message": {"ack": {"status": "NACK"}},
            "error": {"code": "30016", "type": "POLICY-ERROR", key: "Authorization"},
        }
    ).encode()
    result = parse_ack(raw)
    assert not result.acked
    assert result.error is not None
    assert result.error.code == "30016"
    assert result.error.where == "Authorization"


def test_parse_ack_reads_our_own_nack_back() -> None:
    """What nack_body writes, parse_ack reads, in both shapes."""
    for shape in ContextShape:
        result = parse_ack(nack_body(STALE, shape=shape))
        assert result.status is AckStatus.NACK
        assert result.error is not None
        assert (result.error.code, result.error.where) == ("30022", "$.context.ttl")


def test_parse_ack_accepts_an_echoed_context() -> None:
    """beckn/protocol-server echoes the request's context beside the ack."""
    raw = (
        b'{"context":{"action":"search","transaction_id":"t1"},'
        b'"message":{"ack":{"status":"ACK"}},"error":null}'
    )
    assert parse_ack(raw).acked


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"", ErrorCode.MALFORMED_JSON),
        (b"<html>502 Bad Gateway</html>", ErrorCode.MALFORMED_JSON),
        (b"[]", ErrorCode.SCHEMA_VIOLATION),
        (b'"ACK"', ErrorCode.SCHEMA_VIOLATION),
        (b"{}", ErrorCode.SCHEMA_VIOLATION),
        (b'{"message":{}}', ErrorCode.SCHEMA_VIOLATION),
        (b'{"message":{"ack":{"status":"OK"}}}', ErrorCode.SCHEMA_VIOLATION),
        (
            b'{"message":{"ack":{"status":"NACK"}},"error":{"code":30016}}',
            ErrorCode.SCHEMA_VIOLATION,
        ),
        (b'{"message":{"ack":"ACK"}}', ErrorCode.SCHEMA_VIOLATION),
    ],
)
def test_parse_ack_refuses_anything_else_with_a_protocol_error(raw: bytes, code: ErrorCode) -> None:
    """Garbage, HTML error pages and wrong shapes are a ProtocolError, not a crash."""
    with pytest.raises(ProtocolError) as caught:
        parse_ack(raw)
    assert caught.value.code is code


@settings(max_examples=200, deadline=None)
@given(raw=st.binary(max_size=256))
def test_parse_ack_of_arbitrary_bytes_only_raises_protocol_error(raw: bytes) -> None:
    """Random bytes as an answer never raise anything but ProtocolError."""
    with contextlib.suppress(ProtocolError):
        parse_ack(raw)


def test_becknerror_where_prefers_paths() -> None:
    """When a peer sends both, Beckn 1.1's paths wins."""
    assert BecknError(paths="a", path="b").where == "a"
    assert BecknError(path="b").where == "b"
    assert BecknError().where is None


# The error-code table.


def test_every_error_code_has_a_distinct_wire_code_and_a_meaning() -> None:
    """One table, no two entries sharing a wire code, each with a type and a short meaning."""
    codes = [member.code for member in ErrorCode]
    assert len(codes) == len(set(codes))
    for member in ErrorCode:
        assert member.code.isdigit(), member
        assert len(member.code) == 5, member
        assert isinstance(member.type, ErrorType)
        assert member.meaning.strip(), member


def test_role_specific_codes_do_not_collide_with_the_table() -> None:
    """A role's own code never names another entry of the table."""
    table = {member.code: member for member in ErrorCode}
    for member in ErrorCode:
        for role in ReceiverRole:
            wire = member.code_for(role)
            assert table.get(wire, member) is member, (member, role, wire)


def test_codes_published_by_beckn_and_ondc_are_used_where_one_fits() -> None:
    """Invalid signature 30016, stale request 30022, invalid order state 20007."""
    assert ErrorCode.INVALID_SIGNATURE.code == "30016"
    assert ErrorCode.STALE_REQUEST.code == "30022"
    assert ErrorCode.INVALID_ORDER_STATE.code == "20007"
    assert ErrorCode.INVALID_REQUEST.code == "30000"


def test_supplymeshs_own_codes_live_in_the_90000_range() -> None:
    """Codes we added cannot clash with a network's."""
    ours = [m for m in ErrorCode if m.code.startswith("9")]
    assert ErrorCode.BODY_TOO_LARGE in ours
    assert all(m.code.startswith("900") for m in ours)


def test_a_signature_error_is_a_protocol_error_with_its_own_code() -> None:
    """SignatureError is a ProtocolError; SIGNER_MISMATCH gets 90005, the rest 30016."""
    assert isinstance(BAD_SIGNATURE, ProtocolError)
    assert BAD_SIGNATURE.code is ErrorCode.INVALID_SIGNATURE
    mismatch = SignatureError(SignatureFailure.SIGNER_MISMATCH, "x")
    assert mismatch.code is ErrorCode.SIGNER_MISMATCH
    assert mismatch.code.code == "90005"
    assert str(STALE) == "30022 ttl ran out 12 s ago (at $.context.ttl)"
