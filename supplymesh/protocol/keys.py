"""Ed25519 signing keys and X25519 encryption keys, and the text forms they travel in.

Beckn and ONDC write keys as base64 text (``beckn-facts.md`` section 4):

- signing public key: the raw 32 bytes;
- signing private key: the 32-byte seed, or libsodium's 64-byte form (seed ‖ public key)
  that ONDC's utility and the BECKN-006 example use. Both are read; the seed is written;
- encryption public key (X25519): raw 32 bytes in Beckn, DER SubjectPublicKeyInfo in ONDC
  (``MCowBQYDK2VuAyEA…``). Both are read; either can be written;
- encryption private key: raw 32 bytes, or PKCS#8 DER as ONDC's utility writes it.

Nothing here touches a file: reading and writing key files (with their 0600 mode) is the
job of ``supplymesh.adapters.keyfiles``.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field

from nacl.bindings import crypto_scalarmult, crypto_sign
from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey
from nacl.signing import SigningKey, VerifyKey

# DER prefixes: the fixed ASN.1 headers of the only key types the network uses (RFC 8410).
_X25519_SPKI_PREFIX = bytes.fromhex("302a300506032b656e032100")
_X25519_PKCS8_PREFIX = bytes.fromhex("302e020100300506032b656e04220420")
_ED25519_SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")
_ED25519_PKCS8_PREFIX = bytes.fromhex("302e020100300506032b657004220420")


class KeyFormatError(ValueError):
    """A key's text is not one of the accepted encodings; the message says what was expected."""


def b64decode_strict(text: str, what: str) -> bytes:
    """Decode standard base64 (padding required), naming ``what`` in the error."""
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise KeyFormatError(f"{what} is not valid base64: {exc}") from None


def b64encode(data: bytes) -> str:
    """Standard base64 with padding, as every Beckn key and signature is written."""
    return binascii.b2a_base64(data, newline=False).decode("ascii")


def _strip_prefix(raw: bytes, prefix: bytes) -> bytes:
    return raw[len(prefix) :] if len(raw) == len(prefix) + 32 and raw.startswith(prefix) else raw


@dataclass(frozen=True, slots=True)
class SigningKeyPair:
    """An Ed25519 key pair: the participant's identity on the network."""

    signing_key: SigningKey
    _secret: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # libsodium's 64-byte secret key (seed ‖ public key): signing with it directly skips
        # the wrapper objects SigningKey.sign builds, on the hot path of every message sent.
        secret = bytes(self.signing_key) + bytes(self.signing_key.verify_key)
        object.__setattr__(self, "_secret", secret)

    @classmethod
    def generate(cls) -> SigningKeyPair:
        """A fresh random key pair."""
        return cls(SigningKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> SigningKeyPair:
        """The key pair for a 32-byte seed (deterministic: used by tests and fixtures)."""
        if len(seed) != 32:
            raise KeyFormatError(f"an Ed25519 seed is 32 bytes, got {len(seed)}")
        return cls(SigningKey(seed))

    @classmethod
    def from_private_text(cls, text: str) -> SigningKeyPair:
        """Read a private signing key: base64 of the seed, of libsodium's 64 bytes, or PKCS#8."""
        raw = _strip_prefix(b64decode_strict(text, "signing private key"), _ED25519_PKCS8_PREFIX)
        if len(raw) == 32:
            return cls.from_seed(raw)
        if len(raw) == 64:
            pair = cls.from_seed(raw[:32])
            if pair.public_key_bytes != raw[32:]:
                raise KeyFormatError(
                    "signing private key: the 64-byte form's second half is not the public key "
                    "of its first half (seed); the key is corrupt"
                )
            return pair
        raise KeyFormatError(
            f"signing private key must be 32 (seed) or 64 (libsodium) bytes, got {len(raw)}"
        )

    @property
    def seed(self) -> bytes:
        """The 32-byte private seed."""
        return bytes(self.signing_key)

    @property
    def public_key_bytes(self) -> bytes:
        """The raw 32-byte public key."""
        return bytes(self.signing_key.verify_key)

    @property
    def public_key_b64(self) -> str:
        """The public key as the registry publishes it: base64 of the raw 32 bytes."""
        return b64encode(self.public_key_bytes)

    def private_text(self) -> str:
        """The private key as written to a key file: base64 of the seed."""
        return b64encode(self.seed)

    def sign(self, data: bytes) -> bytes:
        """The 64-byte Ed25519 signature of ``data``."""
        return crypto_sign(data, self._secret)[:64]


def verify_key_from_text(text: str) -> VerifyKey:
    """Read an Ed25519 public key: base64 of 32 raw bytes, or of its DER SubjectPublicKeyInfo."""
    raw = _strip_prefix(b64decode_strict(text, "signing public key"), _ED25519_SPKI_PREFIX)
    if len(raw) != 32:
        raise KeyFormatError(f"signing public key must be 32 bytes, got {len(raw)}")
    return VerifyKey(raw)


def verify_signature(key: VerifyKey, data: bytes, signature: bytes) -> bool:
    """True when ``signature`` is ``key``'s Ed25519 signature of ``data``."""
    try:
        key.verify(data, signature)
    except (CryptoError, ValueError, TypeError):
        return False
    return True


@dataclass(frozen=True, slots=True)
class EncryptionKeyPair:
    """An X25519 key pair, used to answer the registry's on_subscribe challenge."""

    private_key: PrivateKey

    @classmethod
    def generate(cls) -> EncryptionKeyPair:
        """A fresh random key pair."""
        return cls(PrivateKey.generate())

    @classmethod
    def from_private_bytes(cls, raw: bytes) -> EncryptionKeyPair:
        """The key pair for a raw 32-byte X25519 private key."""
        if len(raw) != 32:
            raise KeyFormatError(f"an X25519 private key is 32 bytes, got {len(raw)}")
        return cls(PrivateKey(raw))

    @classmethod
    def from_private_text(cls, text: str) -> EncryptionKeyPair:
        """Read a private encryption key: base64 of the raw 32 bytes or of PKCS#8 DER (ONDC)."""
        raw = _strip_prefix(b64decode_strict(text, "encryption private key"), _X25519_PKCS8_PREFIX)
        return cls.from_private_bytes(raw)

    @property
    def public_key_bytes(self) -> bytes:
        """The raw 32-byte public key."""
        return bytes(self.private_key.public_key)

    @property
    def public_key_b64(self) -> str:
        """The public key as Beckn writes it: base64 of the raw 32 bytes."""
        return b64encode(self.public_key_bytes)

    @property
    def public_key_der_b64(self) -> str:
        """The public key as ONDC writes it: base64 of DER SubjectPublicKeyInfo."""
        return b64encode(_X25519_SPKI_PREFIX + self.public_key_bytes)

    def private_text(self) -> str:
        """The private key as written to a key file: base64 of the raw 32 bytes."""
        return b64encode(bytes(self.private_key))

    def private_pkcs8_b64(self) -> str:
        """The private key as ONDC's utility writes it: base64 of PKCS#8 DER."""
        return b64encode(_X25519_PKCS8_PREFIX + bytes(self.private_key))

    def shared_secret(self, peer_public: PublicKey) -> bytes:
        """Raw X25519 ECDH output (32 bytes, no KDF), as ONDC's challenge scheme uses it."""
        return crypto_scalarmult(bytes(self.private_key), bytes(peer_public))


def encryption_public_key_from_text(text: str) -> PublicKey:
    """Read an X25519 public key: base64 of 32 raw bytes or of DER SubjectPublicKeyInfo."""
    raw = _strip_prefix(b64decode_strict(text, "encryption public key"), _X25519_SPKI_PREFIX)
    if len(raw) != 32:
        raise KeyFormatError(f"encryption public key must be 32 bytes, got {len(raw)}")
    return PublicKey(raw)


def encode_encryption_public_key(key: PublicKey, *, der: bool = False) -> str:
    """Write an X25519 public key as raw base64 (Beckn) or DER SubjectPublicKeyInfo (ONDC)."""
    raw = bytes(key)
    return b64encode(_X25519_SPKI_PREFIX + raw if der else raw)
