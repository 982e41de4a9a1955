"""Private key files: written 0600, never overwritten, refused when others can read them."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from supplymesh.adapters.keyfiles import (
    ENCRYPTION_KEY_FILE,
    SIGNING_KEY_FILE,
    KeyFileError,
    create_key_pair_files,
    load_encryption_key,
    load_signing_key,
    read_private_key,
    write_private_key,
)
from supplymesh.protocol.keys import EncryptionKeyPair, SigningKeyPair


def mode_of(path: Path) -> int:
    """The permission bits of ``path``."""
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> object:
    """Run with umask 0, so only the code's own mode keeps files private."""
    previous = os.umask(0)
    yield
    os.umask(previous)


@pytest.mark.usefixtures("open_umask")
def test_a_key_file_is_written_0600_whatever_the_umask(tmp_path: Path) -> None:
    """Even with umask 0, a new key file is readable by its owner only."""
    path = tmp_path / "signing.key"
    write_private_key(path, "c2VjcmV0")
    assert mode_of(path) == 0o600
    assert path.read_text() == "c2VjcmV0\n"
    assert read_private_key(path) == "c2VjcmV0"


def test_an_existing_key_file_is_never_overwritten(tmp_path: Path) -> None:
    """Writing over a key is refused, and the old key is left as it was."""
    path = tmp_path / "signing.key"
    write_private_key(path, "old")
    with pytest.raises(KeyFileError, match="already exists; refusing to overwrite"):
        write_private_key(path, "new")
    assert read_private_key(path) == "old"


def test_a_key_file_in_a_missing_directory_is_a_key_file_error(tmp_path: Path) -> None:
    """An OS failure to create the file is reported as KeyFileError naming the path."""
    path = tmp_path / "missing" / "signing.key"
    with pytest.raises(KeyFileError, match="cannot create"):
        write_private_key(path, "x")


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o666, 0o700 | 0o004, 0o610])
def test_a_key_readable_by_others_is_refused_with_the_fix(tmp_path: Path, mode: int) -> None:
    """Group- or world-accessible keys are refused, the message saying to chmod 600."""
    path = tmp_path / "signing.key"
    write_private_key(path, SigningKeyPair.generate().private_text())
    path.chmod(mode)
    with pytest.raises(KeyFileError) as caught:
        load_signing_key(path)
    message = str(caught.value)
    assert f"mode {mode:04o}" in message
    assert f"chmod 600 {path}" in message
    assert "readable by its owner only" in message


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_a_key_readable_by_its_owner_only_is_loaded(tmp_path: Path, mode: int) -> None:
    """0600 and 0400 are both private enough."""
    pair = SigningKeyPair.generate()
    path = tmp_path / "signing.key"
    write_private_key(path, pair.private_text())
    path.chmod(mode)
    assert load_signing_key(path).public_key_bytes == pair.public_key_bytes


def test_a_missing_key_file_says_so(tmp_path: Path) -> None:
    """No file is a KeyFileError, not FileNotFoundError."""
    with pytest.raises(KeyFileError, match="no such key file"):
        load_signing_key(tmp_path / "nothing.key")


def test_a_directory_is_not_a_key_file(tmp_path: Path) -> None:
    """A path that is not a regular file is refused."""
    directory = tmp_path / "signing.key"
    directory.mkdir(mode=0o700)
    with pytest.raises(KeyFileError, match="not a regular file"):
        read_private_key(directory)


def test_a_key_file_holding_no_key_names_the_file_and_the_fault(tmp_path: Path) -> None:
    """Corrupt contents are a KeyFileError with the path and the KeyFormatError's reason."""
    path = tmp_path / "signing.key"
    write_private_key(path, "AAAA")
    with pytest.raises(KeyFileError, match=f"{path}: signing private key must be 32"):
        load_signing_key(path)
    binary = tmp_path / "binary.key"
    binary.write_bytes(b"\xff\xfe")
    binary.chmod(0o600)
    with pytest.raises(KeyFileError, match="cannot read"):
        read_private_key(binary)


def test_an_encryption_key_file_loads_in_raw_and_pkcs8_forms(tmp_path: Path) -> None:
    """ONDC's PKCS#8 text in a key file reads like our raw form."""
    pair = EncryptionKeyPair.generate()
    for name, text in (("raw.key", pair.private_text()), ("der.key", pair.private_pkcs8_b64())):
        write_private_key(tmp_path / name, text)
        assert load_encryption_key(tmp_path / name).public_key_bytes == pair.public_key_bytes


@pytest.mark.usefixtures("open_umask")
def test_create_key_pair_files_makes_a_private_directory_and_both_keys(tmp_path: Path) -> None:
    """A missing directory is created 0700; both keys are 0600 and load to the returned pairs."""
    directory = tmp_path / "node" / "keys"
    signing, encryption = create_key_pair_files(directory)
    assert mode_of(directory) == 0o700
    assert mode_of(directory / SIGNING_KEY_FILE) == 0o600
    assert mode_of(directory / ENCRYPTION_KEY_FILE) == 0o600
    assert load_signing_key(directory / SIGNING_KEY_FILE) == signing
    loaded = load_encryption_key(directory / ENCRYPTION_KEY_FILE)
    assert loaded.public_key_bytes == encryption.public_key_bytes


@pytest.mark.parametrize("existing", [SIGNING_KEY_FILE, ENCRYPTION_KEY_FILE])
def test_create_key_pair_files_touches_nothing_if_either_key_exists(
    tmp_path: Path, existing: str
) -> None:
    """If one key is already there, neither file is written or changed."""
    (tmp_path / existing).write_text("keep me\n")
    with pytest.raises(KeyFileError, match="already exists"):
        create_key_pair_files(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [existing]
    assert (tmp_path / existing).read_text() == "keep me\n"
