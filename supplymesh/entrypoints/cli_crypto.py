"""``supplymesh keys new``, ``sign`` and ``verify``: the signing core from the shell.

Exit codes (a contract our black-box checks rely on): 0 success (``verify`` prints ``valid``),
1 the signature is invalid (the error code and reason are printed), 2 bad arguments.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from supplymesh.adapters.keyfiles import KeyFileError, create_key_pair_files, load_signing_key
from supplymesh.protocol import signing
from supplymesh.protocol.errors import LocalProtocolError, SignatureError
from supplymesh.protocol.keys import KeyFormatError, verify_key_from_text

keys_app = typer.Typer(help="Make and inspect key pairs.", no_args_is_help=True)


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _read_body(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise _fail(f"cannot read body file {path}: {exc.strerror}") from None


@keys_app.command("new")
def keys_new(
    out: Annotated[
        Path, typer.Option("--out", help="Directory for signing.key and encryption.key.")
    ],
) -> None:
    """Make an Ed25519 signing key and an X25519 encryption key (files mode 0600)."""
    try:
        signing_pair, encryption_pair = create_key_pair_files(out)
    except KeyFileError as exc:
        raise _fail(str(exc)) from None
    typer.echo(
        json.dumps(
            {
                "signing_public_key": signing_pair.public_key_b64,
                "encr_public_key": encryption_pair.public_key_b64,
            }
        )
    )


def sign_command(
    body_file: Annotated[
        str, typer.Argument(metavar="BODYFILE", help="The body to sign ('-': stdin).")
    ],
    key: Annotated[Path, typer.Option("--key", help="Private signing key file (mode 0600).")],
    subscriber_id: Annotated[str, typer.Option("--subscriber-id", help="Your subscriber id.")],
    key_id: Annotated[str, typer.Option("--key-id", help="Your unique_key_id at the registry.")],
    ttl: Annotated[
        int, typer.Option("--ttl", min=1, help="Seconds until the signature expires.")
    ] = 3600,
    created: Annotated[
        int | None, typer.Option("--created", help="Unix time to sign at (default: now).")
    ] = None,
) -> None:
    """Print the Authorization header value for BODYFILE's exact bytes."""
    body = _read_body(body_file)
    try:
        pair = load_signing_key(key)
    except KeyFileError as exc:
        raise _fail(str(exc)) from None
    at = int(time.time()) if created is None else created
    try:
        header = signing.sign(
            body,
            pair,
            subscriber_id=subscriber_id,
            unique_key_id=key_id,
            created=at,
            expires=at + ttl,
        )
    except LocalProtocolError as exc:
        raise _fail(str(exc)) from None
    typer.echo(header)


def verify_command(
    body_file: Annotated[
        str, typer.Argument(metavar="BODYFILE", help="The body received ('-': stdin).")
    ],
    public_key: Annotated[str, typer.Option("--public-key", help="Signer's public key, base64.")],
    header: Annotated[str, typer.Option("--header", help="The Authorization header value.")],
    now: Annotated[
        float | None, typer.Option("--now", help="Unix time to check at (default: now).")
    ] = None,
    skew: Annotated[
        int, typer.Option("--skew", min=0, help="Allowed clock skew, seconds.")
    ] = signing.DEFAULT_SKEW_SECONDS,
    digest: Annotated[
        str | None, typer.Option("--digest", help="The request's Digest header, if sent.")
    ] = None,
) -> None:
    """Check HEADER over BODYFILE: print 'valid' (exit 0) or the error code and reason (exit 1)."""
    body = _read_body(body_file)
    try:
        key = verify_key_from_text(public_key)
    except KeyFormatError as exc:
        raise _fail(f"--public-key: {exc}") from None
    try:
        signing.verify(
            header, body, now=time.time() if now is None else now, key=key, skew=skew, digest=digest
        )
    except SignatureError as exc:
        typer.echo(f"invalid: {exc.code.code} {exc.message}")
        raise typer.Exit(1) from None
    typer.echo("valid")
