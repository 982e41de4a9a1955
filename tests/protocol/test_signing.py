"""Beckn HTTP signatures: the BECKN-006 vector, round trips, and every way a check can fail."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from nacl.signing import VerifyKey

from supplymesh.protocol.errors import (
    ErrorCode,
    LocalProtocolError,
    ProtocolError,
    SignatureError,
    SignatureFailure,
)
from supplymesh.protocol.keys import SigningKeyPair, b64encode
from supplymesh.protocol.signing import (
    AUTHORIZATION,
    DEFAULT_SKEW_SECONDS,
    GATEWAY_AUTHORIZATION,
    LEGACY_GATEWAY_AUTHORIZATION,
    authenticate_challenge,
    body_digest,
    digest_header,
    gateway_signature_header,
    parse_signature_header,
    sign,
    signing_string,
    verify,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
VECTOR: dict[str, Any] = json.loads((FIXTURES / "beckn006" / "vector.json").read_text())
VECTOR_BODY = (FIXTURES / "beckn006" / "body.json").read_bytes()

KEY = SigningKeyPair.from_seed(bytes(range(32)))
OTHER_KEY = SigningKeyPair.from_seed(bytes(range(1, 33)))
SUBSCRIBER = "bap.kadamfootwear.in"
KEY_ID = "k1"
CREATED = 1_700_000_000
EXPIRES = CREATED + 3600
NOW = CREATED + 100
BODY = b'{"context":{"action":"search","bap_id":"bap.kadamfootwear.in"},"message":{}}'

# Ids as `sign` accepts them: anything but | " and line breaks (no lone surrogates: not text).
key_id_parts = st.text(
    alphabet=st.characters(blacklist_characters='|"\r\n', blacklist_categories=("Cs",)),
    min_size=1,
    max_size=40,
)


def signed(
    body: bytes = BODY,
    *,
    key: SigningKeyPair = KEY,
    subscriber_id: str = SUBSCRIBER,
    unique_key_id: str = KEY_ID,
    created: int = CREATED,
    expires: int = EXPIRES,
) -> str:
    """A header value signed with the test key."""
    return sign(
        body,
        key,
        subscriber_id=subscriber_id,
        unique_key_id=unique_key_id,
        created=created,
        expires=expires,
    )


def failure_of(header: str, body: bytes = BODY, **kwargs: Any) -> SignatureFailure:
    """The failure ``verify`` reports (it must report one)."""
    kwargs.setdefault("now", NOW)
    kwargs.setdefault("key", KEY.signing_key.verify_key)
    with pytest.raises(SignatureError) as caught:
        verify(header, body, **kwargs)
    return caught.value.failure


def build_header(**params: str) -> str:
    """A header from parameters, in the order given."""
    return "Signature " + ",".join(f'{name}="{value}"' for name, value in params.items())


def params_of(header: str) -> dict[str, str]:
    """The parameters of a header this module's tests built."""
    return dict(re.findall(r'([A-Za-z]+)="([^"]*)"', header))


# The BECKN-006 worked example.


def test_beckn006_digest_and_signing_string_are_byte_exact() -> None:
    """BLAKE2b-512 of the example body and the three-line signing string match the document."""
    assert body_digest(VECTOR_BODY) == VECTOR["digest"]
    assert digest_header(VECTOR_BODY) == "BLAKE-512=" + VECTOR["digest"]
    expected = VECTOR["signing_string"].encode()
    assert signing_string(VECTOR["created"], VECTOR["expires"], VECTOR["digest"]) == expected


def test_beckn006_signature_and_header_are_byte_exact() -> None:
    """Signing the example body with the example key gives the document's header, byte for byte."""
    pair = SigningKeyPair.from_private_text(VECTOR["signing_private_key"])
    assert pair.public_key_b64 == VECTOR["signing_public_key"]
    header = sign(
        VECTOR_BODY,
        pair,
        subscriber_id=VECTOR["subscriber_id"],
        unique_key_id=VECTOR["unique_key_id"],
        created=VECTOR["created"],
        expires=VECTOR["expires"],
    )
    assert header == VECTOR["authorization_header"]
    assert params_of(header)["signature"] == VECTOR["signature"]


def test_beckn006_64_byte_key_and_32_byte_seed_sign_identically() -> None:
    """The libsodium 64-byte private key and its 32-byte seed are the same key."""
    full = base64.b64decode(VECTOR["signing_private_key"])
    from_full = SigningKeyPair.from_private_text(VECTOR["signing_private_key"])
    from_seed = SigningKeyPair.from_private_text(b64encode(full[:32]))
    message = VECTOR["signing_string"].encode()
    assert from_full.sign(message) == from_seed.sign(message)
    assert from_seed.sign(message) == base64.b64decode(VECTOR["signature"])


def test_beckn006_header_verifies_between_created_and_expires() -> None:
    """The document's header verifies with its public key at a time inside its window."""
    params = verify(
        VECTOR["authorization_header"],
        VECTOR_BODY,
        now=(VECTOR["created"] + VECTOR["expires"]) / 2,
        key=VECTOR["signing_public_key"],
    )
    assert params.subscriber_id == VECTOR["subscriber_id"]
    assert params.unique_key_id == VECTOR["unique_key_id"]
    assert (params.created, params.expires) == (VECTOR["created"], VECTOR["expires"])
    assert params.key_id == f"{VECTOR['subscriber_id']}|{VECTOR['unique_key_id']}|ed25519"


def test_beckn006_gateway_header_verifies_as_x_gateway_authorization() -> None:
    """The gateway's header over the same body verifies with the gateway's key."""
    gateway = VECTOR["gateway_step3_computed"]
    params = verify(
        gateway["x_gateway_authorization_header"],
        VECTOR_BODY,
        now=gateway["created"] + 1,
        key=gateway["signing_public_key"],
        header=GATEWAY_AUTHORIZATION,
    )
    assert params.subscriber_id == "example-bg.com"


def test_beckn006_header_fails_outside_its_window() -> None:
    """Checked an hour after it expired, the document's header is refused as expired."""
    failure = failure_of(
        VECTOR["authorization_header"],
        VECTOR_BODY,
        now=VECTOR["expires"] + 3600,
        key=VECTOR["signing_public_key"],
    )
    assert failure is SignatureFailure.EXPIRED


# Round trips.


@settings(max_examples=200, deadline=None)
@given(
    body=st.binary(max_size=4096),
    subscriber_id=key_id_parts,
    unique_key_id=key_id_parts,
    created=st.integers(0, 10**11),
    ttl=st.integers(1, 10**6),
)
@example(body=b"", subscriber_id="a", unique_key_id="b", created=0, ttl=1)
def test_sign_then_verify_round_trips_for_any_body_and_ids(
    body: bytes, subscriber_id: str, unique_key_id: str, created: int, ttl: int
) -> None:
    """What ``sign`` writes, ``verify`` accepts, returning the ids and times that were signed."""
    header = signed(
        body,
        subscriber_id=subscriber_id,
        unique_key_id=unique_key_id,
        created=created,
        expires=created + ttl,
    )
    params = verify(header, body, now=created, key=KEY.signing_key.verify_key)
    assert (params.subscriber_id, params.unique_key_id) == (subscriber_id, unique_key_id)
    assert (params.created, params.expires, params.algorithm) == (created, created + ttl, "ed25519")
    assert verify(header, body, now=created, key=KEY.public_key_b64) == params
    assert verify(header, body, now=created, key=lambda s, k: KEY.signing_key.verify_key) == params


@given(
    good=key_id_parts,
    bad=st.text(min_size=0, max_size=10).map(lambda s: s + "|")
    | st.sampled_from(["", 'a"b', "a\nb", "a\rb", "|"]),
    which=st.sampled_from(["subscriber_id", "unique_key_id"]),
)
def test_sign_refuses_ids_with_bar_quote_or_line_break(good: str, bad: str, which: str) -> None:
    """An id that would break the keyId or the header is a LocalProtocolError, not a header."""
    ids = {"subscriber_id": good, "unique_key_id": good, which: bad}
    with pytest.raises(LocalProtocolError, match=which):
        sign(BODY, KEY, created=CREATED, expires=EXPIRES, **ids)


@pytest.mark.parametrize(("created", "expires"), [(CREATED, CREATED), (CREATED, CREATED - 1)])
def test_sign_refuses_expires_not_after_created(created: int, expires: int) -> None:
    """A window that ends before it starts is our bug: LocalProtocolError."""
    with pytest.raises(LocalProtocolError, match="expires"):
        signed(created=created, expires=expires)


@pytest.mark.parametrize(
    ("created", "expires"), [(-1, 10), (10**12 - 10, 10**12), (10**13, 10**13 + 1)]
)
def test_sign_refuses_times_that_verify_would_not_read(created: int, expires: int) -> None:
    """Negative times or times past twelve digits would make a header no verifier accepts."""
    with pytest.raises(LocalProtocolError, match="Unix seconds"):
        signed(created=created, expires=expires)


def test_sign_refuses_ids_so_long_the_header_passes_the_size_limit() -> None:
    """A header over the verifier's 4096-character limit is refused when signing, not sent."""
    with pytest.raises(LocalProtocolError, match="4096"):
        signed(subscriber_id="a" * 4000)


# Tampering.


@settings(max_examples=150, deadline=None)
@given(body=st.binary(min_size=1, max_size=2048), data=st.data())
def test_changing_any_byte_of_the_body_is_a_bad_signature(body: bytes, data: st.DataObject) -> None:
    """One changed byte fails as BAD_SIGNATURE, or DIGEST_MISMATCH when a Digest header came."""
    header = signed(body)
    index = data.draw(st.integers(0, len(body) - 1), label="index")
    flip = data.draw(st.integers(1, 255), label="xor")
    tampered = body[:index] + bytes([body[index] ^ flip]) + body[index + 1 :]
    assert failure_of(header, tampered) is SignatureFailure.BAD_SIGNATURE
    digest = digest_header(body)
    assert failure_of(header, tampered, digest=digest) is SignatureFailure.DIGEST_MISMATCH
    assert verify(header, body, now=NOW, key=KEY.signing_key.verify_key, digest=digest)


def test_a_digest_header_that_matches_the_body_passes() -> None:
    """The optional Digest check passes when the body is the one the sender hashed."""
    params = verify(
        signed(), BODY, now=NOW, key=KEY.signing_key.verify_key, digest=digest_header(BODY) + " "
    )
    assert params.subscriber_id == SUBSCRIBER


@given(created=st.integers(CREATED - 1000, NOW + DEFAULT_SKEW_SECONDS))
def test_changing_created_within_the_window_is_a_bad_signature(created: int) -> None:
    """created is signed: a header whose created was changed fails the signature check."""
    assume(created != CREATED)
    header = signed().replace(f'created="{CREATED}"', f'created="{created}"')
    assert failure_of(header) is SignatureFailure.BAD_SIGNATURE


@given(expires=st.integers(NOW - DEFAULT_SKEW_SECONDS, EXPIRES + 10**6))
def test_changing_expires_within_the_window_is_a_bad_signature(expires: int) -> None:
    """expires is signed: a header whose expires was changed fails the signature check."""
    assume(expires != EXPIRES)
    header = signed().replace(f'expires="{EXPIRES}"', f'expires="{expires}"')
    assert failure_of(header) is SignatureFailure.BAD_SIGNATURE


def test_created_written_with_a_leading_zero_is_a_bad_signature() -> None:
    """The signing string uses created as written, so even an equal number spelt otherwise fails."""
    header = signed().replace(f'created="{CREATED}"', f'created="0{CREATED}"')
    assert failure_of(header) is SignatureFailure.BAD_SIGNATURE


@given(other=key_id_parts)
def test_changing_the_key_ids_subscriber_is_an_unknown_key(other: str) -> None:
    """A registry that does not know the claimed subscriber gives no key: UNKNOWN_KEY."""
    assume(other != SUBSCRIBER)
    calls: list[tuple[str, str]] = []

    def registry(subscriber_id: str, unique_key_id: str) -> VerifyKey | None:
        calls.append((subscriber_id, unique_key_id))
        return KEY.signing_key.verify_key if subscriber_id == SUBSCRIBER else None

    header = signed().replace(f'keyId="{SUBSCRIBER}|', f'keyId="{other}|')
    assert failure_of(header, key=registry) is SignatureFailure.UNKNOWN_KEY
    assert calls == [(other, KEY_ID)]


@given(other=key_id_parts)
def test_changing_the_key_ids_subscriber_is_a_signer_mismatch(other: str) -> None:
    """With the context's sender given, a keyId naming someone else is SIGNER_MISMATCH."""
    assume(other != SUBSCRIBER)
    header = signed().replace(f'keyId="{SUBSCRIBER}|', f'keyId="{other}|')
    with pytest.raises(SignatureError) as caught:
        verify(header, BODY, now=NOW, key=KEY.signing_key.verify_key, expected_signer=SUBSCRIBER)
    assert caught.value.failure is SignatureFailure.SIGNER_MISMATCH
    assert caught.value.code is ErrorCode.SIGNER_MISMATCH
    assert repr(other) in caught.value.message


def test_a_signer_matching_the_context_sender_passes() -> None:
    """expected_signer equal to keyId's subscriber passes the binding check."""
    params = verify(
        signed(), BODY, now=NOW, key=KEY.signing_key.verify_key, expected_signer=SUBSCRIBER
    )
    assert params.subscriber_id == SUBSCRIBER


def test_changing_the_unique_key_id_asks_the_registry_for_that_key() -> None:
    """The resolver is asked for the keyId's unique_key_id, and an unknown one is UNKNOWN_KEY."""
    header = signed().replace(f"|{KEY_ID}|", "|k2|")

    def registry(subscriber_id: str, unique_key_id: str) -> VerifyKey | None:
        return KEY.signing_key.verify_key if unique_key_id == KEY_ID else None

    assert failure_of(header, key=registry) is SignatureFailure.UNKNOWN_KEY


def test_a_different_key_is_a_bad_signature() -> None:
    """Another participant's public key does not verify the header."""
    assert failure_of(signed(), key=OTHER_KEY.public_key_b64) is SignatureFailure.BAD_SIGNATURE


def test_a_public_key_text_that_is_not_a_key_is_an_unknown_key() -> None:
    """A base64 key that cannot be read is reported as UNKNOWN_KEY, still a SignatureError."""
    assert failure_of(signed(), key="not-a-key") is SignatureFailure.UNKNOWN_KEY


B64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="


@settings(max_examples=300, deadline=None)
@given(index=st.integers(0, 87), replacement=st.sampled_from(B64_ALPHABET + " -_,\\"))
@example(index=85, replacement="R")  # sets bits base64 leaves unused: same bytes if not refused
@example(index=86, replacement="A")
def test_changing_one_character_of_the_signature_fails(index: int, replacement: str) -> None:
    """Any one changed character is BAD_SIGNATURE or, if it breaks base64, MALFORMED_HEADER."""
    header = signed()
    text = params_of(header)["signature"]
    assume(text[index] != replacement)
    changed = text[:index] + replacement + text[index + 1 :]
    failure = failure_of(header.replace(text, changed))
    assert failure in {SignatureFailure.BAD_SIGNATURE, SignatureFailure.MALFORMED_HEADER}


# The time window.


def test_an_expired_signature_names_the_bound_and_the_seconds() -> None:
    """Ten seconds past expiry (skew 5) fails EXPIRED, saying expires= and by how much."""
    with pytest.raises(SignatureError) as caught:
        verify(signed(), BODY, now=EXPIRES + 10, key=KEY.signing_key.verify_key)
    assert caught.value.failure is SignatureFailure.EXPIRED
    assert f"expires={EXPIRES}" in caught.value.message
    assert "passed 10 s" in caught.value.message
    assert "skew is 5 s" in caught.value.message


def test_a_not_yet_valid_signature_names_the_bound_and_the_seconds() -> None:
    """Created 60 s ahead of now fails NOT_YET_VALID, saying created= and by how much."""
    with pytest.raises(SignatureError) as caught:
        verify(signed(), BODY, now=CREATED - 60, key=KEY.signing_key.verify_key)
    assert caught.value.failure is SignatureFailure.NOT_YET_VALID
    assert f"created={CREATED}" in caught.value.message
    assert "60 s after now" in caught.value.message


@pytest.mark.parametrize("skew", [0, DEFAULT_SKEW_SECONDS, 30])
def test_skew_is_honoured_exactly_at_the_boundaries(skew: int) -> None:
    """now = expires + skew passes and one second more fails; likewise before created."""
    key = KEY.signing_key.verify_key
    header = signed()
    assert verify(header, BODY, now=EXPIRES + skew, key=key, skew=skew)
    assert verify(header, BODY, now=CREATED - skew, key=key, skew=skew)
    assert failure_of(header, now=EXPIRES + skew + 1, skew=skew) is SignatureFailure.EXPIRED
    late = failure_of(header, now=CREATED - skew - 1, skew=skew)
    assert late is SignatureFailure.NOT_YET_VALID


@given(offset=st.integers(1, 10**9))
def test_expired_and_not_yet_valid_are_rejected_however_far_out(offset: int) -> None:
    """Beyond the skew on either side, the window check fails before any key is looked up."""

    def no_lookup(subscriber_id: str, unique_key_id: str) -> VerifyKey | None:
        raise AssertionError("the key must not be fetched for a signature outside its window")

    later = EXPIRES + DEFAULT_SKEW_SECONDS + offset
    assert failure_of(signed(), now=later, key=no_lookup) is SignatureFailure.EXPIRED
    earlier = CREATED - DEFAULT_SKEW_SECONDS - offset
    assert failure_of(signed(), now=earlier, key=no_lookup) is SignatureFailure.NOT_YET_VALID


# Fuzzing: whatever arrives, only ProtocolError leaves.


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(header=st.text(max_size=600))
def test_fuzzed_header_strings_only_raise_protocol_errors(header: str) -> None:
    """Arbitrary text as the header value is refused with a SignatureError, never a crash."""
    with pytest.raises(ProtocolError) as caught:
        verify(header, BODY, now=NOW, key=KEY.signing_key.verify_key)
    assert isinstance(caught.value, SignatureError)


def _header_piece() -> st.SearchStrategy[str]:
    name = st.sampled_from(
        ["keyId", "algorithm", "created", "expires", "headers", "signature", "x"]
    ) | st.text(max_size=8)
    value = st.sampled_from(
        [
            f"{SUBSCRIBER}|{KEY_ID}|ed25519",
            "ed25519",
            str(CREATED),
            str(EXPIRES),
            "(created) (expires) digest",
            b64encode(bytes(64)),
            "",
        ]
    ) | st.text(max_size=30)
    quote = st.sampled_from(['"', "", "'"])
    return st.builds(lambda n, q, v: f"{n}={q}{v}{q}", name, quote, value)


@settings(max_examples=300, deadline=None)
@given(
    scheme=st.sampled_from(["Signature ", "signature ", "Bearer ", "", "Signature"]),
    pieces=st.lists(_header_piece(), max_size=8),
    separator=st.sampled_from([",", ", ", " ", ";", ",,"]),
)
def test_structured_fuzzed_headers_only_raise_signature_errors(
    scheme: str, pieces: list[str], separator: str
) -> None:
    """Headers built from plausible and broken parameters never verify and never crash."""
    with pytest.raises(SignatureError):
        verify(scheme + separator.join(pieces), BODY, now=NOW, key=KEY.signing_key.verify_key)


@pytest.mark.parametrize("cut", range(len(signed())))
def test_every_truncation_of_a_header_is_refused(cut: int) -> None:
    """A header cut short anywhere is refused with a SignatureError."""
    with pytest.raises(SignatureError):
        verify(signed()[:cut], BODY, now=NOW, key=KEY.signing_key.verify_key)


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=2048))
def test_fuzzed_bodies_only_raise_signature_errors(body: bytes) -> None:
    """Any body other than the signed one fails the signature check, never anything else."""
    assume(body != BODY)
    assert failure_of(signed(), body) is SignatureFailure.BAD_SIGNATURE


# Header shapes seen in the field.


def _signature() -> str:
    return params_of(signed())["signature"]


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(
            build_header(
                keyId=f"{SUBSCRIBER}|{KEY_ID}|ed25519",
                algorithm="ed25519",
                created=str(CREATED),
                expires=str(EXPIRES),
                headers="(created)(expires)digest",
                signature=_signature(),
            ),
            id="headers-without-spaces",
        ),
        pytest.param(signed().replace('",', '", '), id="spaces-after-commas"),
        pytest.param(
            build_header(
                signature=_signature(),
                expires=str(EXPIRES),
                headers="(created) (expires) digest",
                created=str(CREATED),
                algorithm="ed25519",
                keyId=f"{SUBSCRIBER}|{KEY_ID}|ed25519",
            ),
            id="parameters-in-another-order",
        ),
        pytest.param(
            build_header(
                keyId=f"{SUBSCRIBER}|{KEY_ID}|ed25519",
                created=str(CREATED),
                expires=str(EXPIRES),
                signature=_signature(),
            ),
            id="algorithm-and-headers-left-out",
        ),
        pytest.param(signed().replace("Signature ", "signature ", 1), id="lower-case-scheme"),
        pytest.param("  " + signed() + " ", id="surrounding-whitespace"),
        pytest.param(signed() + ',realm="x"', id="unknown-parameter"),
        pytest.param(signed().replace('"ed25519"', '"ED25519"'), id="algorithm-in-capitals"),
        pytest.param(signed().replace("=", " = ", 1), id="spaces-around-equals"),
    ],
)
def test_tolerant_parsing_accepts_shapes_seen_in_the_field(header: str) -> None:
    """Variants of spacing, order and optional parameters that real stacks send still verify."""
    params = verify(header, BODY, now=NOW, key=KEY.signing_key.verify_key)
    assert (params.subscriber_id, params.created, params.expires) == (SUBSCRIBER, CREATED, EXPIRES)


def test_an_algorithm_differing_from_the_key_ids_is_an_algorithm_mismatch() -> None:
    """algorithm="rsa-sha256" beside an ed25519 keyId is ALGORITHM_MISMATCH."""
    header = signed().replace('algorithm="ed25519"', 'algorithm="rsa-sha256"')
    assert failure_of(header) is SignatureFailure.ALGORITHM_MISMATCH


@pytest.mark.parametrize("algorithm", ["rsa", "hmac-sha256", "ed448"])
def test_a_key_id_naming_another_algorithm_is_unsupported(algorithm: str) -> None:
    """Only ed25519 keys exist on a Beckn network: anything else is UNSUPPORTED_ALGORITHM."""
    header = (
        signed()
        .replace("|ed25519", f"|{algorithm}")
        .replace('algorithm="ed25519"', f'algorithm="{algorithm}"')
    )
    assert failure_of(header) is SignatureFailure.UNSUPPORTED_ALGORITHM


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("Bearer " + signed(), id="bearer-prefix"),
        pytest.param('"' + signed() + '"', id="wrapped-in-double-quotes"),
        pytest.param("'" + signed() + "'", id="wrapped-in-single-quotes"),
        pytest.param(signed().removeprefix("Signature "), id="no-scheme"),
        pytest.param(signed() + ',keyId="x|y|ed25519"', id="duplicate-parameter"),
        pytest.param(re.sub(r',created="\d+"', "", signed()), id="created-missing"),
        pytest.param(re.sub(r',signature="[^"]+"', "", signed()), id="signature-missing"),
        pytest.param(signed().replace(f"|{KEY_ID}|", "|"), id="key-id-of-two-parts"),
        pytest.param(signed().replace(f'"{SUBSCRIBER}|', '"|'), id="key-id-empty-part"),
        pytest.param(signed().replace(str(CREATED), "1.7e9"), id="created-not-whole-seconds"),
        pytest.param(signed().replace(str(EXPIRES), str(CREATED)), id="expires-equals-created"),
        pytest.param(
            signed().replace("(created) (expires) digest", "(created) digest"), id="headers-short"
        ),
        pytest.param(
            signed().replace("(created) (expires) digest", "digest (created) (expires)"),
            id="headers-reordered",
        ),
        pytest.param(signed().replace('signature="', 'signature="AAAA'), id="signature-too-long"),
        pytest.param(signed().replace("==", ""), id="signature-unpadded"),
        pytest.param(signed() + "," + "x" * 5000, id="header-over-size-limit"),
        pytest.param(signed().replace('",', '";'), id="semicolons"),
    ],
)
def test_malformed_headers_are_malformed_header(header: str) -> None:
    """Wrong shapes fail as MALFORMED_HEADER before any cryptography runs."""
    assert failure_of(header) is SignatureFailure.MALFORMED_HEADER


@pytest.mark.parametrize("header", ["", "   "])
def test_an_empty_header_is_missing(header: str) -> None:
    """No header value at all is MISSING, still a SignatureError with 30016."""
    with pytest.raises(SignatureError) as caught:
        parse_signature_header(header)
    assert caught.value.failure is SignatureFailure.MISSING
    assert caught.value.code is ErrorCode.INVALID_SIGNATURE


def test_signature_errors_carry_the_header_name_as_their_path() -> None:
    """A failed gateway signature names X-Gateway-Authorization; the code is 30016."""
    with pytest.raises(SignatureError) as caught:
        verify(
            signed(),
            b"{}",
            now=NOW,
            key=KEY.signing_key.verify_key,
            header=GATEWAY_AUTHORIZATION,
        )
    assert caught.value.path == GATEWAY_AUTHORIZATION
    assert caught.value.header == GATEWAY_AUTHORIZATION
    assert caught.value.code.code == "30016"
    assert str(caught.value).startswith("30016 bad-signature:")


# Gateway headers and the 401 challenge.


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"X-Gateway-Authorization": "a"}, (GATEWAY_AUTHORIZATION, "a")),
        ({"x-gateway-authorization": "a"}, (GATEWAY_AUTHORIZATION, "a")),
        ({"Proxy-Authorization": "b"}, (LEGACY_GATEWAY_AUTHORIZATION, "b")),
        ({"PROXY-AUTHORIZATION": "b"}, (LEGACY_GATEWAY_AUTHORIZATION, "b")),
        (
            {"proxy-authorization": "b", "X-GATEWAY-AUTHORIZATION": "a"},
            (GATEWAY_AUTHORIZATION, "a"),
        ),
        ({"Authorization": "c"}, None),
        ({}, None),
    ],
)
def test_gateway_signature_header_finds_the_current_and_the_legacy_name(
    headers: dict[str, str], expected: tuple[str, str] | None
) -> None:
    """X-Gateway-Authorization, else Proxy-Authorization, in any letter case."""
    assert gateway_signature_header(headers) == expected


def test_authenticate_challenge_names_the_realm_and_the_signed_headers() -> None:
    """The WWW-Authenticate value a 401 carries (BECKN-006)."""
    challenge = authenticate_challenge("bpp.agrashoecluster.in")
    assert (
        challenge == 'Signature realm="bpp.agrashoecluster.in",headers="(created) (expires) digest"'
    )


def test_the_authorization_header_name_is_the_default_path() -> None:
    """Errors from the default verify name Authorization."""
    with pytest.raises(SignatureError) as caught:
        verify("Bearer x", BODY, now=NOW, key=KEY.signing_key.verify_key)
    assert caught.value.path == AUTHORIZATION
