"""Our signatures and keys against independent implementations (cryptography, hashlib).

Nothing here goes through supplymesh to build what it checks: the signing string, digest,
header parsing and key encodings on the "other side" are written out again in this file.
"""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.public import PublicKey

from supplymesh.protocol.errors import SignatureError, SignatureFailure
from supplymesh.protocol.keys import (
    EncryptionKeyPair,
    SigningKeyPair,
    encode_encryption_public_key,
    encryption_public_key_from_text,
    verify_key_from_text,
)
from supplymesh.protocol.signing import sign, verify

CREATED = 1_732_000_000
EXPIRES = CREATED + 30
RAW = serialization.Encoding.Raw
DER = serialization.Encoding.DER


def b64(data: bytes) -> str:
    """Standard base64 text."""
    return base64.b64encode(data).decode("ascii")


def their_signing_string(created: str, expires: str, body: bytes) -> bytes:
    """The BECKN-006 signing string, built without supplymesh."""
    digest = b64(hashlib.blake2b(body, digest_size=64).digest())
    return f"(created): {created}\n(expires): {expires}\ndigest: BLAKE-512={digest}".encode()


def their_header_params(header: str) -> dict[str, str]:
    """Parse a Signature header the way a minimal independent verifier would."""
    assert header.startswith("Signature ")
    params = dict(re.findall(r'(\w+)="([^"]*)"', header))
    assert set(params) == {"keyId", "algorithm", "created", "expires", "headers", "signature"}
    return params


def their_header(key: Ed25519PrivateKey, body: bytes, key_id: str) -> str:
    """An Authorization header written by an independent signer (cryptography + hashlib)."""
    created, expires = str(CREATED), str(EXPIRES)
    signature = key.sign(their_signing_string(created, expires, body))
    return (
        f'Signature keyId="{key_id}",algorithm="ed25519",created="{created}",'
        f'expires="{expires}",headers="(created) (expires) digest",signature="{b64(signature)}"'
    )


@settings(max_examples=100, deadline=None)
@given(body=st.binary(max_size=4096), seed=st.binary(min_size=32, max_size=32))
def test_our_headers_verify_with_cryptography_and_hashlib(body: bytes, seed: bytes) -> None:
    """cryptography's Ed25519 verifies our signature over a signing string rebuilt by hand."""
    ours = SigningKeyPair.from_seed(seed)
    ids = {"subscriber_id": "bap.example.in", "unique_key_id": "k1"}
    header = sign(body, ours, created=CREATED, expires=EXPIRES, **ids)
    params = their_header_params(header)
    assert params["keyId"] == "bap.example.in|k1|ed25519"
    assert params["headers"] == "(created) (expires) digest"
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(ours.public_key_b64))
    message = their_signing_string(params["created"], params["expires"], body)
    public.verify(base64.b64decode(params["signature"]), message)  # raises if invalid
    with pytest.raises(InvalidSignature):
        public.verify(base64.b64decode(params["signature"]), message + b" ")


@settings(max_examples=100, deadline=None)
@given(body=st.binary(max_size=4096), seed=st.binary(min_size=32, max_size=32))
def test_headers_signed_by_cryptography_verify_with_ours(body: bytes, seed: bytes) -> None:
    """A header written by cryptography + hashlib verifies with our verify, by raw or DER key."""
    theirs = Ed25519PrivateKey.from_private_bytes(seed)
    header = their_header(theirs, body, "bpp.example.in|k9|ed25519")
    raw_public = theirs.public_key().public_bytes(RAW, serialization.PublicFormat.Raw)
    der_public = theirs.public_key().public_bytes(
        DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for key_text in (b64(raw_public), b64(der_public)):
        params = verify(header, body, now=CREATED, key=key_text)
        assert (params.subscriber_id, params.unique_key_id) == ("bpp.example.in", "k9")
    with pytest.raises(SignatureError) as caught:
        verify(header, body + b"x", now=CREATED, key=b64(raw_public))
    assert caught.value.failure is SignatureFailure.BAD_SIGNATURE


@given(seed=st.binary(min_size=32, max_size=32))
def test_signing_keys_agree_with_cryptography_in_every_encoding(seed: bytes) -> None:
    """Seed, PKCS#8 and the public key read and write as cryptography does."""
    theirs = Ed25519PrivateKey.from_private_bytes(seed)
    pkcs8 = theirs.private_bytes(
        DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_raw = theirs.public_key().public_bytes(RAW, serialization.PublicFormat.Raw)
    for text in (b64(seed), b64(pkcs8), b64(seed + public_raw)):
        ours = SigningKeyPair.from_private_text(text)
        assert ours.public_key_bytes == public_raw
        assert ours.seed == seed
    assert bytes(verify_key_from_text(b64(public_raw))) == public_raw
    ours = SigningKeyPair.from_seed(seed)
    assert ours.sign(b"message") == theirs.sign(b"message")  # Ed25519 is deterministic


@given(seed=st.binary(min_size=32, max_size=32))
def test_our_x25519_der_public_key_loads_in_cryptography(seed: bytes) -> None:
    """ONDC's DER SubjectPublicKeyInfo form of our X25519 key is what cryptography reads."""
    ours = EncryptionKeyPair.from_private_bytes(seed)
    loaded = serialization.load_der_public_key(base64.b64decode(ours.public_key_der_b64))
    assert isinstance(loaded, X25519PublicKey)
    assert loaded.public_bytes(RAW, serialization.PublicFormat.Raw) == ours.public_key_bytes
    their_der = (
        X25519PrivateKey.from_private_bytes(seed)
        .public_key()
        .public_bytes(DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    assert base64.b64decode(ours.public_key_der_b64) == their_der
    public = PublicKey(ours.public_key_bytes)
    assert encode_encryption_public_key(public, der=True) == b64(their_der)
    assert bytes(encryption_public_key_from_text(b64(their_der))) == ours.public_key_bytes


@given(seed=st.binary(min_size=32, max_size=32))
def test_cryptography_pkcs8_x25519_private_key_loads_in_ours(seed: bytes) -> None:
    """cryptography's PKCS#8 private bytes read as the same key, and ours write the same bytes."""
    theirs = X25519PrivateKey.from_private_bytes(seed)
    pkcs8 = theirs.private_bytes(
        DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    ours = EncryptionKeyPair.from_private_text(b64(pkcs8))
    their_public = theirs.public_key().public_bytes(RAW, serialization.PublicFormat.Raw)
    assert ours.public_key_bytes == their_public
    assert ours.private_pkcs8_b64() == b64(pkcs8)
    assert EncryptionKeyPair.from_private_text(ours.private_text()).public_key_bytes == their_public


@given(our_seed=st.binary(min_size=32, max_size=32), their_seed=st.binary(min_size=32, max_size=32))
def test_x25519_shared_secrets_agree_with_cryptography(our_seed: bytes, their_seed: bytes) -> None:
    """Our raw ECDH output equals cryptography's exchange() from either side."""
    ours = EncryptionKeyPair.from_private_bytes(our_seed)
    theirs = X25519PrivateKey.from_private_bytes(their_seed)
    their_public = theirs.public_key().public_bytes(RAW, serialization.PublicFormat.Raw)
    secret = ours.shared_secret(PublicKey(their_public))
    try:
        expected = theirs.exchange(X25519PublicKey.from_public_bytes(ours.public_key_bytes))
    except ValueError:  # an all-zero result: cryptography refuses it, libsodium too
        return
    assert secret == expected
