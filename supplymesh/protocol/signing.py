"""Beckn HTTP signatures: build and verify ``Authorization`` and ``X-Gateway-Authorization``.

The scheme (BECKN-006; ONDC ``signing-verification.md``)::

    Signature keyId="{subscriber_id}|{unique_key_id}|ed25519",algorithm="ed25519",
              created="{unix}",expires="{unix}",headers="(created) (expires) digest",
              signature="{base64 Ed25519 signature of the signing string}"

    signing string = "(created): {created}\\n(expires): {expires}\\ndigest: BLAKE-512={digest}"
    digest         = base64(BLAKE2b-512(exact raw body bytes))

Nothing here reads a clock or fetches a key: ``now`` is passed in, and the public key is passed
in or asked for through a callback that the caller backs with its registry cache. Checks run in
a fixed order and the first that fails is reported as a :class:`SignatureError` naming the
failure and, for the time window, which bound failed and by how many seconds.
"""

from __future__ import annotations

import binascii
import hashlib
import re
from base64 import b64decode
from collections.abc import Callable, Mapping

import msgspec
from nacl.signing import VerifyKey

from supplymesh.protocol.errors import LocalProtocolError, SignatureError, SignatureFailure
from supplymesh.protocol.keys import (
    KeyFormatError,
    SigningKeyPair,
    b64encode,
    verify_key_from_text,
    verify_signature,
)

ALGORITHM = "ed25519"
SIGNED_HEADERS = "(created) (expires) digest"
DEFAULT_SKEW_SECONDS = 5
AUTHORIZATION = "Authorization"
GATEWAY_AUTHORIZATION = "X-Gateway-Authorization"
# Beckn 0.9 named the gateway's header Proxy-Authorization; some stacks still send only that.
LEGACY_GATEWAY_AUTHORIZATION = "Proxy-Authorization"

# Tolerant of what the field sends: spaces after commas, any parameter order, unknown params.
_PARAM = re.compile(r'\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*"([^"]*)"\s*(?:,|$)')
# The exact layout ``sign`` writes (and most stacks send): read in one match, no loop.
_CANONICAL = re.compile(
    r'keyId="([^"]*)",algorithm="([^"]*)",created="([^"]*)",expires="([^"]*)",'
    r'headers="([^"]*)",signature="([^"]*)"'
)
_CANONICAL_NAMES = ("keyId", "algorithm", "created", "expires", "headers", "signature")
_KEY_ID_PART = re.compile(r'[^|"\r\n]+')
_SIGNED_HEADER_TOKEN = re.compile(r"\(created\)|\(expires\)|digest|\S+")
_SIGNED_TOKENS = ["(created)", "(expires)", "digest"]
_UNIX = re.compile(r"[0-9]{1,12}")
_MAX_UNIX = 10**12 - 1
_MAX_HEADER_LENGTH = 4096

KeyResolver = Callable[[str, str], VerifyKey | None]
"""Given (subscriber_id, unique_key_id), the sender's public key, or None if unknown."""


class SignatureParams(msgspec.Struct, frozen=True, kw_only=True):
    """A parsed signature header: who signed, when, and the signature itself."""

    subscriber_id: str
    unique_key_id: str
    algorithm: str
    created: int
    expires: int
    signature: bytes
    created_text: str
    expires_text: str

    @property
    def key_id(self) -> str:
        """The keyId as it appears in the header."""
        return f"{self.subscriber_id}|{self.unique_key_id}|{self.algorithm}"


def body_digest(body: bytes) -> str:
    """base64 of BLAKE2b-512 over the exact body bytes (never over re-serialized JSON)."""
    return b64encode(hashlib.blake2b(body).digest())


def digest_header(body: bytes) -> str:
    """The value of an HTTP ``Digest`` header for ``body``, for peers that want it sent."""
    return f"BLAKE-512={body_digest(body)}"


def signing_string(created: str | int, expires: str | int, digest: str) -> bytes:
    """The three-line string that is signed, with no trailing newline."""
    return f"(created): {created}\n(expires): {expires}\ndigest: BLAKE-512={digest}".encode()


def sign(
    body: bytes,
    key: SigningKeyPair,
    *,
    subscriber_id: str,
    unique_key_id: str,
    created: int,
    expires: int,
) -> str:
    """The signature header value (for Authorization or X-Gateway-Authorization) for ``body``."""
    if expires <= created:
        raise LocalProtocolError(f"expires ({expires}) must be after created ({created})")
    if created < 0 or expires > _MAX_UNIX:
        raise LocalProtocolError(
            f"created ({created}) and expires ({expires}) must be Unix seconds of 1 to 12 "
            "digits, as verifiers read them"
        )
    if _KEY_ID_PART.fullmatch(subscriber_id) is None:
        raise _bad_key_id_part("subscriber_id", subscriber_id)
    if _KEY_ID_PART.fullmatch(unique_key_id) is None:
        raise _bad_key_id_part("unique_key_id", unique_key_id)
    signature = key.sign(signing_string(created, expires, body_digest(body)))
    header = (
        f'Signature keyId="{subscriber_id}|{unique_key_id}|{ALGORITHM}",'
        f'algorithm="{ALGORITHM}",created="{created}",expires="{expires}",'
        f'headers="{SIGNED_HEADERS}",signature="{b64encode(signature)}"'
    )
    if len(header) > _MAX_HEADER_LENGTH:
        raise LocalProtocolError(
            f"the header would be {len(header)} characters; verifiers refuse more than "
            f"{_MAX_HEADER_LENGTH}: shorten subscriber_id or unique_key_id"
        )
    return header


def _bad_key_id_part(name: str, value: str) -> LocalProtocolError:
    return LocalProtocolError(f'{name} {value!r} is empty or holds | " or a line break')


def sign_at(
    body: bytes,
    key: SigningKeyPair,
    *,
    subscriber_id: str,
    unique_key_id: str,
    now: float,
    ttl: int,
) -> str:
    """:func:`sign` created at ``now`` (whole seconds) and valid for ``ttl`` seconds."""
    created = int(now)
    return sign(
        body,
        key,
        subscriber_id=subscriber_id,
        unique_key_id=unique_key_id,
        created=created,
        expires=created + ttl,
    )


def _malformed(message: str, header: str) -> SignatureError:
    return SignatureError(SignatureFailure.MALFORMED_HEADER, message, header)


def parse_signature_header(value: str, header: str = AUTHORIZATION) -> SignatureParams:
    """Parse a signature header value; raise :class:`SignatureError` if it is not one."""
    if not value or not value.strip():
        raise SignatureError(SignatureFailure.MISSING, f"no {header} header", header)
    if len(value) > _MAX_HEADER_LENGTH:
        raise _malformed(f"header is {len(value)} characters, limit {_MAX_HEADER_LENGTH}", header)
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "signature":
        raise _malformed(f'must start with "Signature ", starts with {scheme[:20]!r}', header)
    rest = rest.strip()
    canonical = _CANONICAL.fullmatch(rest)
    params: dict[str, str] = (
        dict(zip(_CANONICAL_NAMES, canonical.groups(), strict=True)) if canonical else {}
    )
    position = len(rest) if canonical else 0
    while position < len(rest):
        match = _PARAM.match(rest, position)
        if match is None:
            raise _malformed(
                f'expected key="value" at character {position}: {rest[position:][:30]!r}', header
            )
        name = match.group(1)
        if name in params:
            raise _malformed(f"parameter {name} appears twice", header)
        params[name] = match.group(2)
        position = match.end()
    for required in ("keyId", "created", "expires", "signature"):
        if required not in params:
            raise _malformed(f"missing parameter {required}", header)

    parts = params["keyId"].split("|")
    if len(parts) != 3 or not all(parts):
        raise _malformed(
            f'keyId must be "subscriber_id|unique_key_id|algorithm", got {params["keyId"]!r}',
            header,
        )
    subscriber_id, unique_key_id, key_algorithm = parts
    if key_algorithm.lower() != ALGORITHM:
        raise SignatureError(
            SignatureFailure.UNSUPPORTED_ALGORITHM,
            f"keyId names algorithm {key_algorithm!r}; only {ALGORITHM} is supported",
            header,
        )
    algorithm = params.get("algorithm", key_algorithm)
    if algorithm.lower() != key_algorithm.lower():
        raise SignatureError(
            SignatureFailure.ALGORITHM_MISMATCH,
            f"algorithm={algorithm!r} differs from the keyId's {key_algorithm!r}",
            header,
        )

    headers = params.get("headers", SIGNED_HEADERS)
    if headers != SIGNED_HEADERS and _SIGNED_HEADER_TOKEN.findall(headers) != _SIGNED_TOKENS:
        raise _malformed(
            f'headers must be "{SIGNED_HEADERS}", got {params.get("headers")!r}', header
        )
    created_text, expires_text = params["created"], params["expires"]
    for name, text in (("created", created_text), ("expires", expires_text)):
        if not _UNIX.fullmatch(text):
            raise _malformed(f"{name} must be whole Unix seconds, got {text!r}", header)
    created, expires = int(created_text), int(expires_text)
    if expires <= created:
        raise _malformed(f"expires ({expires}) is not after created ({created})", header)
    try:
        signature = b64decode(params["signature"], validate=True)
    except (binascii.Error, ValueError):
        raise _malformed("signature is not valid base64", header) from None
    if len(signature) != 64:
        raise _malformed(f"an Ed25519 signature is 64 bytes, got {len(signature)}", header)
    # base64 of 64 bytes leaves 4 unused bits in its last character (before "=="): refuse
    # them set, or a header whose signature text was changed there would still verify.
    if len(params["signature"]) != 88 or params["signature"][85] not in "AQgw":
        raise _malformed("signature is not canonical base64 (unused bits are set)", header)
    return SignatureParams(
        subscriber_id=subscriber_id,
        unique_key_id=unique_key_id,
        algorithm=algorithm.lower(),
        created=created,
        expires=expires,
        signature=signature,
        created_text=created_text,
        expires_text=expires_text,
    )


def check_window(
    params: SignatureParams,
    now: float,
    skew: int = DEFAULT_SKEW_SECONDS,
    header: str = AUTHORIZATION,
) -> None:
    """Refuse a signature created in the future or expired, allowing ``skew`` seconds each way."""
    if params.created > now + skew:
        ahead = params.created - now
        raise SignatureError(
            SignatureFailure.NOT_YET_VALID,
            f"created={params.created} is {ahead:.0f} s after now ({now:.0f}); allowed clock "
            f"skew is {skew} s: check the sender's clock (NTP)",
            header,
        )
    if params.expires < now - skew:
        late = now - params.expires
        raise SignatureError(
            SignatureFailure.EXPIRED,
            f"expires={params.expires} passed {late:.0f} s before now ({now:.0f}); allowed "
            f"clock skew is {skew} s",
            header,
        )


def verify(
    header_value: str,
    body: bytes,
    *,
    now: float,
    key: VerifyKey | str | KeyResolver,
    skew: int = DEFAULT_SKEW_SECONDS,
    header: str = AUTHORIZATION,
    digest: str | None = None,
    expected_signer: str | None = None,
) -> SignatureParams:
    """Verify a signature header over ``body``; return its parameters or raise SignatureError.

    ``key`` is the public key (a VerifyKey or base64 text) or a resolver called with the
    keyId's subscriber_id and unique_key_id. ``digest`` is the request's ``Digest`` header if
    it sent one: then a changed body is told apart from a bad signature. ``expected_signer``
    is the subscriber the context says is speaking (see ``envelope.expected_signer``).
    """
    params = parse_signature_header(header_value, header)
    if expected_signer is not None and params.subscriber_id != expected_signer:
        raise SignatureError(
            SignatureFailure.SIGNER_MISMATCH,
            f"signed by {params.subscriber_id!r} but the context's sender is {expected_signer!r}",
            header,
        )
    check_window(params, now, skew, header)
    verify_key = _resolve(key, params, header)
    actual = body_digest(body)
    if digest is not None and digest.strip() != f"BLAKE-512={actual}":
        raise SignatureError(
            SignatureFailure.DIGEST_MISMATCH,
            f"the Digest header ({digest.strip()[:40]}…) is not the BLAKE-512 of the body "
            f"received (BLAKE-512={actual[:24]}…): the body changed in transit",
            header,
        )
    message = signing_string(params.created_text, params.expires_text, actual)
    if not verify_signature(verify_key, message, params.signature):
        raise SignatureError(
            SignatureFailure.BAD_SIGNATURE,
            f"the signature does not verify with {params.key_id}'s key over the digest of the "
            "body received: the body, created, expires or signature changed, or another key "
            "signed it",
            header,
        )
    return params


def _resolve(key: VerifyKey | str | KeyResolver, params: SignatureParams, header: str) -> VerifyKey:
    if isinstance(key, VerifyKey):
        return key
    if isinstance(key, str):
        try:
            return verify_key_from_text(key)
        except KeyFormatError as exc:
            raise SignatureError(SignatureFailure.UNKNOWN_KEY, str(exc), header) from None
    resolved = key(params.subscriber_id, params.unique_key_id)
    if resolved is None:
        raise SignatureError(
            SignatureFailure.UNKNOWN_KEY,
            f"no valid key for {params.subscriber_id!r} with unique_key_id "
            f"{params.unique_key_id!r}",
            header,
        )
    return resolved


def gateway_signature_header(headers: Mapping[str, str]) -> tuple[str, str] | None:
    """The gateway's signature header and its name, by the current or the legacy name."""
    lowered = {name.lower(): value for name, value in headers.items()}
    for name in (GATEWAY_AUTHORIZATION, LEGACY_GATEWAY_AUTHORIZATION):
        value = lowered.get(name.lower())
        if value is not None:
            return name, value
    return None


def authenticate_challenge(realm: str) -> str:
    """The ``WWW-Authenticate`` (or ``Proxy-Authenticate``) value a 401 carries (BECKN-006)."""
    return f'Signature realm="{realm}",headers="{SIGNED_HEADERS}"'
