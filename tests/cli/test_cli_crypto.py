"""The CLI contract of issue 3, driven through the real ``supplymesh`` console script.

    supplymesh keys new --out DIR
    supplymesh sign --key DIR/signing.key --subscriber-id ID --key-id KID [--ttl SECONDS] BODYFILE
    supplymesh verify --public-key B64 --header HEADER BODYFILE

Exit codes: 0 success, 1 invalid signature (code and reason printed), 2 bad arguments.
Signatures are checked with ``cryptography`` and ``hashlib``, not with supplymesh.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

SCRIPT = Path(sys.executable).parent / "supplymesh"
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
VECTOR: dict[str, Any] = json.loads((FIXTURES / "beckn006" / "vector.json").read_text())
VECTOR_BODY = FIXTURES / "beckn006" / "body.json"
BODY = b'{"context":{"action":"search"},"message":{"intent":{}}}\r\n\x00\xff'
CREATED = 1_732_000_000


def run(*args: str | Path, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    """Run the console script; whatever happens, no traceback may reach the user."""
    done = subprocess.run(  # noqa: S603 - our own console script, fixed arguments
        [str(SCRIPT), *map(str, args)], input=stdin, capture_output=True, timeout=60, check=False
    )
    result = subprocess.CompletedProcess(
        done.args,
        done.returncode,
        done.stdout.decode("utf-8", "replace"),
        done.stderr.decode("utf-8", "replace"),
    )
    assert "Traceback" not in result.stdout
    assert "Traceback" not in result.stderr
    return result


def public_of_seed_file(path: Path) -> bytes:
    """The Ed25519 public key for the base64 seed in a key file, derived by cryptography."""
    seed = base64.b64decode(path.read_text())
    key = Ed25519PrivateKey.from_private_bytes(seed[:32])
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def check_independently(header: str, body: bytes, public: bytes) -> dict[str, str]:
    """Verify a header with cryptography + hashlib; return its parameters."""
    params = dict(re.findall(r'(\w+)="([^"]*)"', header))
    digest = base64.b64encode(hashlib.blake2b(body).digest()).decode()
    message = f"(created): {params['created']}\n(expires): {params['expires']}\n"
    message += f"digest: BLAKE-512={digest}"
    signature = base64.b64decode(params["signature"])
    Ed25519PublicKey.from_public_bytes(public).verify(signature, message.encode())
    return params


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """One `keys new` run: the directory and the JSON it printed."""
    directory = tmp_path_factory.mktemp("node") / "keys"
    result = run("keys", "new", "--out", directory)
    assert result.returncode == 0, result.stderr
    return directory, json.loads(result.stdout)


@pytest.fixture
def body_file(tmp_path: Path) -> Path:
    """A body file whose exact bytes (CRLF, NUL, a non-UTF-8 byte) must be what is signed."""
    path = tmp_path / "body.json"
    path.write_bytes(BODY)
    return path


def sign_body(keys: tuple[Path, dict[str, str]], body: Path, *extra: str) -> str:
    """The header ``supplymesh sign`` prints for ``body``."""
    result = run(
        "sign",
        "--key",
        keys[0] / "signing.key",
        "--subscriber-id",
        "maker.example",
        "--key-id",
        "k1",
        *extra,
        body,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith("\n")
    assert result.stdout.count("\n") == 1
    return result.stdout.strip()


# keys new


def test_keys_new_writes_both_keys_0600_and_prints_their_public_keys(
    keys: tuple[Path, dict[str, str]],
) -> None:
    """signing.key and encryption.key, owner-only, and JSON with exactly the two public keys."""
    directory, printed = keys
    assert set(printed) == {"signing_public_key", "encr_public_key"}
    for name in ("signing.key", "encryption.key"):
        assert stat.S_IMODE((directory / name).stat().st_mode) == 0o600
    assert base64.b64decode(printed["signing_public_key"]) == public_of_seed_file(
        directory / "signing.key"
    )
    assert len(base64.b64decode(printed["encr_public_key"], validate=True)) == 32
    assert printed["encr_public_key"] != printed["signing_public_key"]


def test_keys_new_refuses_to_overwrite_existing_keys(keys: tuple[Path, dict[str, str]]) -> None:
    """A second run into the same directory exits 2 and leaves the keys alone."""
    directory, _ = keys
    before = (directory / "signing.key").read_bytes()
    result = run("keys", "new", "--out", directory)
    assert result.returncode == 2
    assert "already exists" in result.stderr
    assert (directory / "signing.key").read_bytes() == before


# sign


def test_sign_prints_a_header_for_the_files_exact_bytes(
    keys: tuple[Path, dict[str, str]], body_file: Path
) -> None:
    """The header verifies with cryptography over the file's raw bytes, CRLF and all."""
    header = sign_body(keys, body_file, "--created", str(CREATED), "--ttl", "30")
    public = base64.b64decode(keys[1]["signing_public_key"])
    params = check_independently(header, BODY, public)
    assert params["keyId"] == "maker.example|k1|ed25519"
    assert (params["created"], params["expires"]) == (str(CREATED), str(CREATED + 30))
    assert params["headers"] == "(created) (expires) digest"
    assert header.startswith('Signature keyId="maker.example|k1|ed25519",algorithm="ed25519",')


def test_sign_defaults_to_now_and_an_hour(
    keys: tuple[Path, dict[str, str]], body_file: Path
) -> None:
    """Without --created the signature starts now; without --ttl it lasts 3600 s."""
    before = int(time.time())
    params = check_independently(
        sign_body(keys, body_file), BODY, base64.b64decode(keys[1]["signing_public_key"])
    )
    created = int(params["created"])
    assert before - 1 <= created <= int(time.time()) + 1
    assert int(params["expires"]) - created == 3600


def test_sign_reads_the_body_from_stdin(keys: tuple[Path, dict[str, str]]) -> None:
    """BODYFILE '-' signs standard input."""
    body = b'{"context":{"action":"status"},"message":{"order_id":"1"}}'
    result = run(
        "sign",
        "--key",
        keys[0] / "signing.key",
        "--subscriber-id",
        "maker.example",
        "--key-id",
        "k1",
        "-",
        stdin=body,
    )
    assert result.returncode == 0, result.stderr
    check_independently(
        result.stdout.strip(), body, base64.b64decode(keys[1]["signing_public_key"])
    )


def test_sign_reproduces_the_beckn006_header_from_its_64_byte_key(tmp_path: Path) -> None:
    """The document's key, ids and times through the CLI give the document's header."""
    key_file = tmp_path / "signing.key"
    key_file.write_text(VECTOR["signing_private_key"] + "\n")
    key_file.chmod(0o600)
    result = run(
        "sign",
        "--key",
        key_file,
        "--subscriber-id",
        VECTOR["subscriber_id"],
        "--key-id",
        VECTOR["unique_key_id"],
        "--created",
        str(VECTOR["created"]),
        "--ttl",
        str(VECTOR["expires"] - VECTOR["created"]),
        VECTOR_BODY,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == VECTOR["authorization_header"]


# verify


def test_verify_accepts_a_valid_header(keys: tuple[Path, dict[str, str]], body_file: Path) -> None:
    """A header over the same bytes, checked inside its window: exit 0 and "valid"."""
    header = sign_body(keys, body_file, "--created", str(CREATED), "--ttl", "60")
    result = run(
        "verify",
        "--public-key",
        keys[1]["signing_public_key"],
        "--header",
        header,
        "--now",
        str(CREATED + 10),
        body_file,
    )
    assert (result.returncode, result.stdout) == (0, "valid\n")


def test_verify_accepts_the_beckn006_vector() -> None:
    """The document's header over its body, at a time inside its window."""
    result = run(
        "verify",
        "--public-key",
        VECTOR["signing_public_key"],
        "--header",
        VECTOR["authorization_header"],
        "--now",
        str(VECTOR["created"] + 60),
        VECTOR_BODY,
    )
    assert (result.returncode, result.stdout) == (0, "valid\n")


def test_verify_accepts_the_beckn006_gateway_header() -> None:
    """The gateway's header (computed with the document's BG key) verifies too."""
    gateway = VECTOR["gateway_step3_computed"]
    result = run(
        "verify",
        "--public-key",
        gateway["signing_public_key"],
        "--header",
        gateway["x_gateway_authorization_header"],
        "--now",
        str(gateway["created"]),
        VECTOR_BODY,
    )
    assert (result.returncode, result.stdout) == (0, "valid\n")


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("tampered-body", "30016 bad-signature"),
        ("expired", "30016 expired"),
        ("not-yet-valid", "30016 not-yet-valid"),
        ("wrong-key", "30016 bad-signature"),
        ("malformed-header", "30016 malformed-header"),
        ("wrong-digest", "30016 digest-mismatch"),
    ],
)
def test_verify_refuses_with_exit_1_printing_the_code_and_reason(
    keys: tuple[Path, dict[str, str]], body_file: Path, tmp_path: Path, case: str, expected: str
) -> None:
    """Each failed check exits 1 and prints the error code and which check failed, and why."""
    header = sign_body(keys, body_file, "--created", str(CREATED), "--ttl", "60")
    public = keys[1]["signing_public_key"]
    now, target, extra = CREATED + 10, body_file, []
    if case == "tampered-body":
        target = tmp_path / "tampered.json"
        target.write_bytes(BODY.replace(b"search", b"select"))
    elif case == "expired":
        now = CREATED + 60 + 3600
    elif case == "not-yet-valid":
        now = CREATED - 600
    elif case == "wrong-key":
        public = VECTOR["signing_public_key"]
    elif case == "malformed-header":
        header = "Bearer " + header
    elif case == "wrong-digest":
        extra = ["--digest", "BLAKE-512=" + base64.b64encode(bytes(64)).decode()]
    result = run(
        "verify", "--public-key", public, "--header", header, "--now", str(now), *extra, target
    )
    assert result.returncode == 1
    assert expected in result.stdout
    assert result.stdout != "valid\n"
    if case == "expired":
        assert f"expires={CREATED + 60} passed 3600 s" in result.stdout
    if case == "not-yet-valid":
        assert f"created={CREATED} is 600 s after now" in result.stdout


# Bad arguments: exit 2, a message, no traceback.


def _bad(result: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert fragment in result.stderr + result.stdout


def test_verify_without_a_header_option_exits_2(body_file: Path) -> None:
    """A missing required option is a usage error."""
    _bad(run("verify", "--public-key", VECTOR["signing_public_key"], body_file), "--header")


def test_sign_without_a_key_id_exits_2(keys: tuple[Path, dict[str, str]], body_file: Path) -> None:
    """Every option of sign but --ttl is required."""
    result = run("sign", "--key", keys[0] / "signing.key", "--subscriber-id", "x", body_file)
    _bad(result, "--key-id")


@pytest.mark.parametrize("command", ["sign", "verify"])
def test_an_unreadable_body_file_exits_2(
    keys: tuple[Path, dict[str, str]], tmp_path: Path, command: str
) -> None:
    """A body file that is missing or is a directory is reported, not a crash."""
    for target, reason in ((tmp_path / "absent.json", "No such file"), (tmp_path, "directory")):
        if command == "sign":
            args = ["--key", keys[0] / "signing.key", "--subscriber-id", "x", "--key-id", "k"]
        else:
            args = ["--public-key", keys[1]["signing_public_key"], "--header", "Signature x"]
        result = run(command, *args, target)
        _bad(result, "cannot read body file")
        assert reason in result.stderr


@pytest.mark.parametrize(
    ("key", "fragment"),
    [("not base64!", "not valid base64"), (base64.b64encode(bytes(31)).decode(), "got 31")],
)
def test_an_invalid_public_key_exits_2(body_file: Path, key: str, fragment: str) -> None:
    """A public key that is not base64 of 32 bytes is a bad argument, not a failed signature."""
    result = run("verify", "--public-key", key, "--header", "Signature x", body_file)
    _bad(result, "--public-key")
    assert fragment in result.stderr


@pytest.mark.parametrize("mode", [0o644, 0o640])
def test_a_key_file_others_can_read_exits_2_saying_chmod_600(
    tmp_path: Path, body_file: Path, mode: int
) -> None:
    """sign refuses a group- or world-readable key and says how to fix it."""
    run("keys", "new", "--out", tmp_path / "k")
    key = tmp_path / "k" / "signing.key"
    key.chmod(mode)
    result = run("sign", "--key", key, "--subscriber-id", "x", "--key-id", "k", body_file)
    _bad(result, f"chmod 600 {key}")


def test_a_missing_key_file_exits_2(tmp_path: Path, body_file: Path) -> None:
    """No key file is a bad argument."""
    result = run(
        "sign", "--key", tmp_path / "none.key", "--subscriber-id", "x", "--key-id", "k", body_file
    )
    _bad(result, "no such key file")


@pytest.mark.parametrize(
    "args",
    [
        ["--subscriber-id", "a|b", "--key-id", "k"],
        ["--subscriber-id", "a", "--key-id", 'k"'],
        ["--subscriber-id", "a", "--key-id", "k", "--ttl", "0"],
        ["--subscriber-id", "a", "--key-id", "k", "--ttl", "soon"],
    ],
    ids=["bar-in-subscriber", "quote-in-key-id", "zero-ttl", "ttl-not-a-number"],
)
def test_sign_with_invalid_values_exits_2(
    keys: tuple[Path, dict[str, str]], body_file: Path, args: list[str]
) -> None:
    """Ids that would break the header, and a ttl that is not a positive number, are refused."""
    result = run("sign", "--key", keys[0] / "signing.key", *args, body_file)
    assert result.returncode == 2
    assert result.stderr.strip()


def test_verify_with_a_now_that_is_not_a_number_exits_2(body_file: Path) -> None:
    """--now must be Unix seconds."""
    result = run(
        "verify",
        "--public-key",
        VECTOR["signing_public_key"],
        "--header",
        VECTOR["authorization_header"],
        "--now",
        "yesterday",
        body_file,
    )
    _bad(result, "--now")
