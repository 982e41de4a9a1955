"""Private key files: written 0600, and refused when anyone but their owner can read them.

A node's private keys are its identity; a key file that the group or the world can read may
already be someone else's, so it is refused with a message saying how to fix it, rather than
used quietly (the same rule OpenSSH applies to its keys).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from supplymesh.protocol.keys import EncryptionKeyPair, KeyFormatError, SigningKeyPair

SIGNING_KEY_FILE = "signing.key"
ENCRYPTION_KEY_FILE = "encryption.key"


class KeyFileError(Exception):
    """A key file is missing, unreadable, too open, or holds no valid key."""


def write_private_key(path: Path, text: str) -> None:
    """Create ``path`` holding ``text``, mode 0600; never overwrite an existing key."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyFileError(f"{path} already exists; refusing to overwrite a private key") from None
    except OSError as exc:
        raise KeyFileError(f"cannot create {path}: {exc.strerror}") from None
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(text + "\n")
    os.chmod(path, 0o600)  # the umask cannot widen it, but a pre-set ACL default could


def read_private_key(path: Path) -> str:
    """The text of a private key file, after checking only its owner can read it."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise KeyFileError(f"{path}: no such key file") from None
    except OSError as exc:
        raise KeyFileError(f"{path}: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise KeyFileError(f"{path} is not a regular file")
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        raise KeyFileError(
            f"{path} has mode {mode:04o}: a private key must be readable by its owner only; "
            f"run: chmod 600 {path}"
        )
    try:
        return path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"cannot read {path}: {exc}") from None


def load_signing_key(path: Path) -> SigningKeyPair:
    """The Ed25519 key pair in ``path``."""
    try:
        return SigningKeyPair.from_private_text(read_private_key(path))
    except KeyFormatError as exc:
        raise KeyFileError(f"{path}: {exc}") from None


def load_encryption_key(path: Path) -> EncryptionKeyPair:
    """The X25519 key pair in ``path``."""
    try:
        return EncryptionKeyPair.from_private_text(read_private_key(path))
    except KeyFormatError as exc:
        raise KeyFileError(f"{path}: {exc}") from None


def create_key_pair_files(directory: Path) -> tuple[SigningKeyPair, EncryptionKeyPair]:
    """Make fresh signing and encryption keys in ``directory`` (created 0700 if missing)."""
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise KeyFileError(f"cannot create {directory}: {exc.strerror}") from None
    for name in (SIGNING_KEY_FILE, ENCRYPTION_KEY_FILE):
        if (directory / name).exists():
            raise KeyFileError(
                f"{directory / name} already exists; refusing to overwrite a private key"
            )
    signing, encryption = SigningKeyPair.generate(), EncryptionKeyPair.generate()
    write_private_key(directory / SIGNING_KEY_FILE, signing.private_text())
    write_private_key(directory / ENCRYPTION_KEY_FILE, encryption.private_text())
    return signing, encryption
