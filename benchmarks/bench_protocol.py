"""Protocol speed as ratios against raw PyNaCl and orjson, measured in the same run.

    python benchmarks/bench_protocol.py [--repeat N]

Each line times supplymesh's operation and the raw library doing the irreducible part of the
same work on the same bytes, best of N timeit loops, and prints ops/s for both and their ratio
against the goal from issue 3. Ratios, not absolute figures, are what is compared across
machines.
"""

from __future__ import annotations

import argparse
import json
import sys
import timeit
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import orjson
from nacl.signing import SigningKey

from supplymesh.protocol import envelope, signing
from supplymesh.protocol.keys import SigningKeyPair

ROOT = Path(__file__).resolve().parent.parent
ON_SEARCH_50 = ROOT / "tests" / "fixtures" / "bodies" / "on_search_50.json"
SEED = bytes(range(32))
CREATED = 1_700_000_000
EXPIRES = CREATED + 30
TARGET_SECONDS = 0.2  # each timeit loop runs about this long


@dataclass(frozen=True)
class Line:
    """One comparison: ours against the raw library, with the goal for the ratio."""

    name: str
    ours: float
    raw: float
    goal: float

    @property
    def ratio(self) -> float:
        """Our ops/s as a fraction of the raw library's."""
        return self.ours / self.raw


def ops_per_second(func: Callable[[], object], repeat: int) -> float:
    """Best-of-``repeat`` throughput of ``func``, each loop sized to about TARGET_SECONDS."""
    timer = timeit.Timer(func)
    number, elapsed = timer.autorange()
    number = max(1, int(number * TARGET_SECONDS / max(elapsed, 1e-9)))
    best = min(timer.repeat(repeat=repeat, number=number))
    return number / best


def body_of_size(size: int) -> bytes:
    """A search body of exactly ``size`` bytes (padded in a descriptor)."""
    tree: dict[str, object] = {
        "context": {
            "domain": "supplymesh:MFG10",
            "action": "search",
            "version": "1.1.0",
            "bap_id": "bap.example.in",
            "bap_uri": "https://bap.example.in/beckn",
            "transaction_id": "7c2e4b1a-93d5-4f0e-8a61-2d4b9e0c5f37",
            "message_id": "0b8f4c6e-1d2a-4e37-9c55-6a1f2e3d4b70",
            "timestamp": "2024-11-18T09:00:00.000Z",
            "ttl": "PT30S",
        },
        "message": {"intent": {"descriptor": {"name": ""}}},
    }
    base = len(json.dumps(tree, separators=(",", ":")).encode())
    tree["message"] = {"intent": {"descriptor": {"name": "x" * (size - base)}}}
    raw = json.dumps(tree, separators=(",", ":")).encode()
    assert len(raw) == size
    return raw


def bench_sign(repeat: int) -> Line:
    """Build and sign the Authorization header of a 2 KB body vs raw ``SigningKey.sign``."""
    body = body_of_size(2048)
    pair = SigningKeyPair.from_seed(SEED)
    raw_key = SigningKey(SEED)
    message = signing.signing_string(CREATED, EXPIRES, signing.body_digest(body))

    def ours() -> str:
        return signing.sign(
            body,
            pair,
            subscriber_id="bap.example.in",
            unique_key_id="k1",
            created=CREATED,
            expires=EXPIRES,
        )

    def raw() -> bytes:
        return raw_key.sign(message).signature

    return Line("build+sign 2 KB", ops_per_second(ours, repeat), ops_per_second(raw, repeat), 0.85)


def bench_verify(repeat: int) -> Line:
    """Parse and verify the header of a 2 KB body vs raw ``VerifyKey.verify``."""
    body = body_of_size(2048)
    pair = SigningKeyPair.from_seed(SEED)
    header = signing.sign(
        body, pair, subscriber_id="bap.example.in", unique_key_id="k1", created=CREATED,
        expires=EXPIRES,
    )  # fmt: skip
    verify_key = pair.signing_key.verify_key
    params = signing.parse_signature_header(header)
    message = signing.signing_string(CREATED, EXPIRES, signing.body_digest(body))
    signature = params.signature

    def ours() -> signing.SignatureParams:
        return signing.verify(header, body, now=CREATED + 1, key=verify_key)

    def raw() -> bytes:
        return verify_key.verify(message, signature)

    return Line(
        "parse+verify 2 KB", ops_per_second(ours, repeat), ops_per_second(raw, repeat), 0.85
    )


def bench_codec(repeat: int) -> Line:
    """Decode and encode an on_search with 50 items vs ``orjson.loads`` and ``orjson.dumps``."""
    raw_body = ON_SEARCH_50.read_bytes()

    def ours() -> bytes:
        return envelope.encode(envelope.decode(raw_body))

    def raw() -> bytes:
        return orjson.dumps(orjson.loads(raw_body))

    return Line(
        "decode+encode on_search_50",
        ops_per_second(ours, repeat),
        ops_per_second(raw, repeat),
        0.50,
    )


def main(argv: list[str] | None = None) -> int:
    """Run the three comparisons and print the table; exit 0 whatever the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=7, help="timeit loops per figure (best)")
    args = parser.parse_args(argv)
    lines = [bench_sign(args.repeat), bench_verify(args.repeat), bench_codec(args.repeat)]
    header = (
        f"{'operation':<28}{'supplymesh ops/s':>18}{'raw ops/s':>14}{'ratio':>9}{'goal':>8}  result"
    )
    print(header)
    print("-" * len(header))
    for line in lines:
        verdict = "PASS" if line.ratio >= line.goal else "BELOW"
        print(
            f"{line.name:<28}{line.ours:>18,.0f}{line.raw:>14,.0f}"
            f"{line.ratio:>9.1%}{line.goal:>8.0%}  {verdict}"
        )
    print("raw: PyNaCl SigningKey.sign / VerifyKey.verify of the same signing string;")
    print("     orjson.loads + orjson.dumps of the same bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
