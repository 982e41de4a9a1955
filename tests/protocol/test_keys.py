"""Key encodings: Ed25519 seeds, libsodium's 64 bytes, PKCS#8 and DER, and X25519 both ways."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st
from nacl.public import PublicKey
from nacl.signing import SigningKey

from supplymesh.protocol.keys import (
    EncryptionKeyPair,
    KeyFormatError,
    SigningKeyPair,
    b64decode_strict,
    b64encode,
    encode_encryption_public_key,
    encryption_public_key_from_text,
    verify_key_from_text,
    verify_signature,
)

ED25519_PKCS8 = bytes.fromhex("302e020100300506032b657004220420")
ED25519_SPKI = bytes.fromhex("302a300506032b6570032100")
X25519_PKCS8 = bytes.fromhex("302e020100300506032b656e04220420")
X25519_SPKI = bytes.fromhex("302a300506032b656e032100")
SEED = bytes(range(32))
seeds = st.binary(min_size=32, max_size=32)


def b64(data: bytes) -> str:
    """Standard base64 text."""
    return base64.b64encode(data).decode("ascii")


@given(seed=seeds)
def test_a_signing_key_reads_from_seed_libsodium_and_pkcs8_forms(seed: bytes) -> None:
    """The 32-byte seed, seed ‖ public key, and PKCS#8 DER all give the same key pair."""
    public = bytes(SigningKey(seed).verify_key)
    forms = [b64(seed), b64(seed + public), b64(ED25519_PKCS8 + seed), f"  {b64(seed)}\n"]
    pairs = [SigningKeyPair.from_private_text(text) for text in forms]
    assert {pair.public_key_bytes for pair in pairs} == {public}
    assert {pair.seed for pair in pairs} == {seed}
    assert all(pair == pairs[0] for pair in pairs)


@given(seed=seeds, data=st.binary(max_size=512))
def test_our_signatures_are_pynacls(seed: bytes, data: bytes) -> None:
    """SigningKeyPair.sign gives the signature PyNaCl's SigningKey.sign gives."""
    assert SigningKeyPair.from_seed(seed).sign(data) == SigningKey(seed).sign(data).signature


def test_the_private_key_is_written_as_its_seed_and_read_back() -> None:
    """private_text is base64 of the 32-byte seed, and reads back to the same pair."""
    pair = SigningKeyPair.from_seed(SEED)
    assert base64.b64decode(pair.private_text()) == SEED
    assert SigningKeyPair.from_private_text(pair.private_text()) == pair
    assert pair.public_key_b64 == b64(pair.public_key_bytes)


def test_the_64_byte_form_with_a_foreign_public_half_is_refused() -> None:
    """seed ‖ someone else's public key is corrupt, not silently accepted."""
    other = bytes(SigningKey(bytes(32)).verify_key)
    with pytest.raises(KeyFormatError, match="second half is not the public key"):
        SigningKeyPair.from_private_text(b64(SEED + other))


@pytest.mark.parametrize("size", [0, 16, 31, 33, 48, 63, 65, 96])
def test_a_signing_key_of_another_length_is_refused_naming_the_length(size: int) -> None:
    """The message names the accepted sizes and the size found."""
    with pytest.raises(
        KeyFormatError, match=f"32 \\(seed\\) or 64 \\(libsodium\\) bytes, got {size}"
    ):
        SigningKeyPair.from_private_text(b64(bytes(size)))


@pytest.mark.parametrize("text", ["not base64!", "AAAAA", "AAA", "€€€€"])
def test_text_that_is_not_base64_is_refused_naming_the_key(text: str) -> None:
    """A key that is not standard padded base64 says which key it was meant to be."""
    with pytest.raises(KeyFormatError, match="signing private key is not valid base64"):
        SigningKeyPair.from_private_text(text)
    with pytest.raises(KeyFormatError, match="encryption private key is not valid base64"):
        EncryptionKeyPair.from_private_text(text)


def test_from_seed_refuses_a_seed_of_the_wrong_length() -> None:
    """Only 32 bytes are an Ed25519 seed."""
    with pytest.raises(KeyFormatError, match="32 bytes, got 31"):
        SigningKeyPair.from_seed(bytes(31))


def test_key_format_errors_are_value_errors() -> None:
    """Callers that only know ValueError still catch a bad key."""
    assert issubclass(KeyFormatError, ValueError)


@given(seed=seeds)
def test_a_verify_key_reads_from_raw_and_der_forms(seed: bytes) -> None:
    """The registry's raw base64 and DER SubjectPublicKeyInfo give the same public key."""
    public = bytes(SigningKey(seed).verify_key)
    assert bytes(verify_key_from_text(b64(public))) == public
    assert bytes(verify_key_from_text(b64(ED25519_SPKI + public))) == public


@pytest.mark.parametrize(
    ("raw", "size"),
    [(bytes(31), 31), (bytes(64), 64), (X25519_SPKI + bytes(32), 44)],
    ids=["short", "long", "x25519-der-as-a-signing-key"],
)
def test_a_verify_key_of_another_shape_is_refused(raw: bytes, size: int) -> None:
    """Wrong lengths, and an X25519 DER key offered as a signing key, are refused."""
    with pytest.raises(KeyFormatError, match=f"signing public key must be 32 bytes, got {size}"):
        verify_key_from_text(b64(raw))


def test_verify_signature_is_false_rather_than_raising() -> None:
    """A wrong or malformed signature is False, not an exception."""
    pair = SigningKeyPair.from_seed(SEED)
    key = pair.signing_key.verify_key
    signature = pair.sign(b"data")
    assert verify_signature(key, b"data", signature)
    assert not verify_signature(key, b"other", signature)
    assert not verify_signature(key, b"data", signature[:63])
    assert not verify_signature(key, b"data", bytes(64))


@given(seed=seeds)
def test_an_encryption_key_reads_raw_and_pkcs8_and_writes_both(seed: bytes) -> None:
    """X25519 private keys: raw base64 or ONDC's PKCS#8; public keys raw or DER."""
    pair = EncryptionKeyPair.from_private_bytes(seed)
    public = bytes(pair.private_key.public_key)
    assert pair.public_key_bytes == public
    assert base64.b64decode(pair.public_key_der_b64) == X25519_SPKI + public
    assert base64.b64decode(pair.private_pkcs8_b64()) == X25519_PKCS8 + seed
    for text in (pair.private_text(), pair.private_pkcs8_b64()):
        assert EncryptionKeyPair.from_private_text(text).public_key_bytes == public
    for text in (pair.public_key_b64, pair.public_key_der_b64):
        assert bytes(encryption_public_key_from_text(text)) == public
    key = PublicKey(public)
    assert encode_encryption_public_key(key) == pair.public_key_b64
    assert encode_encryption_public_key(key, der=True) == pair.public_key_der_b64


@given(a=seeds, b=seeds)
def test_both_sides_of_an_x25519_exchange_agree(a: bytes, b: bytes) -> None:
    """shared_secret is symmetric: each side gets the same 32 bytes."""
    first, second = EncryptionKeyPair.from_private_bytes(a), EncryptionKeyPair.from_private_bytes(b)
    secret = first.shared_secret(second.private_key.public_key)
    assert len(secret) == 32
    assert secret == second.shared_secret(first.private_key.public_key)


@pytest.mark.parametrize("size", [0, 31, 33, 64])
def test_an_encryption_key_of_another_length_is_refused(size: int) -> None:
    """X25519 keys are 32 bytes, raw or inside their DER wrapper."""
    with pytest.raises(KeyFormatError, match=f"X25519 private key is 32 bytes, got {size}"):
        EncryptionKeyPair.from_private_text(b64(bytes(size)))
    with pytest.raises(KeyFormatError, match=f"encryption public key must be 32 bytes, got {size}"):
        encryption_public_key_from_text(b64(bytes(size)))


def test_generated_keys_are_distinct() -> None:
    """generate() draws fresh randomness each time."""
    assert SigningKeyPair.generate().seed != SigningKeyPair.generate().seed
    first, second = EncryptionKeyPair.generate(), EncryptionKeyPair.generate()
    assert first.public_key_bytes != second.public_key_bytes


def test_base64_helpers_are_strict_and_padded() -> None:
    """b64encode pads; b64decode_strict refuses missing padding and stray characters."""
    assert b64encode(b"\x00") == "AA=="
    assert b64decode_strict(" AA==\n", "x") == b"\x00"
    with pytest.raises(KeyFormatError, match="thing is not valid base64"):
        b64decode_strict("AA", "thing")
    with pytest.raises(KeyFormatError):
        b64decode_strict("A-_A", "thing")
