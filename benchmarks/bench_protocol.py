"""Protocol speed as ratios against raw PyNaCl and orjson, measured in the same run.

    python benchmarks/bench_protocol.py [--repeat N] [--gc]

Each line times supplymesh's operation and the raw library doing the irreducible part of the
same work on the same bytes, and prints ops/s for both and their ratio against the goal from
issue 3. Ratios, not absolute figures, are what compare across machines. Timing is timeit's:
the best of N loops, each about TARGET_SECONDS long, ours and the raw one taking turns so that
a change of CPU speed during the run hits both. Like timeit, loops run with the garbage
collector off; ``--gc`` turns it on, as it is in a running node.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import timeit
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import orjson
from nacl.signing import SigningKey

from supplymesh.protocol import signing
from supplymesh.protocol.envelope import decode, encode
from supplymesh.protocol.keys import SigningKeyPair

ROOT = Path(__file__).resolve().parent.parent
ON_SEARCH_50 = ROOT / "tests" / "fixtures" / "bodies" / "on_search_50.json"
SEED = bytes(range(32))
CREATED = 1_700_000_000
EXPIRES = CREATED + 30
TARGET_SECONDS = 0.1


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

    @property
    def verdict(self) -> str:
        """PASS when the ratio reaches the goal."""
        return "PASS" if self.ratio >= self.goal else "BELOW"


def _timer(func: Callable[[], object], with_gc: bool) -> tuple[timeit.Timer, int]:
    timer = timeit.Timer(func, setup="gc.enable()" if with_gc else "pass", globals={"gc": gc})
    number, elapsed = timer.autorange()
    return timer, max(1, int(number * TARGET_SECONDS / max(elapsed, 1e-9)))


def compare(
    name: str,
    ours: Callable[[], object],
    raw: Callable[[], object],
    goal: float,
    *,
    repeat: int,
    with_gc: bool,
) -> Line:
    """Best-of-``repeat`` ops/s of ``ours`` and ``raw``, measured in alternating loops."""
    ours_timer, ours_number = _timer(ours, with_gc)
    raw_timer, raw_number = _timer(raw, with_gc)
    ours_best = raw_best = float("inf")
    for _ in range(repeat):
        ours_best = min(ours_best, ours_timer.timeit(ours_number))
        raw_best = min(raw_best, raw_timer.timeit(raw_number))
    return Line(name, ours_number / ours_best, raw_number / raw_best, goal)


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


def bench_sign(repeat: int, with_gc: bool) -> Line:
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

    return compare("build+sign 2 KB", ours, raw, 0.85, repeat=repeat, with_gc=with_gc)


def bench_verify(repeat: int, with_gc: bool) -> Line:
    """Parse and verify the header of a 2 KB body vs raw ``VerifyKey.verify``."""
    body = body_of_size(2048)
    pair = SigningKeyPair.from_seed(SEED)
    header = signing.sign(
        body,
        pair,
        subscriber_id="bap.example.in",
        unique_key_id="k1",
        created=CREATED,
        expires=EXPIRES,
    )
    verify_key = pair.signing_key.verify_key
    message = signing.signing_string(CREATED, EXPIRES, signing.body_digest(body))
    signature = signing.parse_signature_header(header).signature

    def ours() -> signing.SignatureParams:
        return signing.verify(header, body, now=CREATED + 1, key=verify_key)

    def raw() -> bytes:
        return verify_key.verify(message, signature)

    return compare("parse+verify 2 KB", ours, raw, 0.85, repeat=repeat, with_gc=with_gc)


def bench_codec(repeat: int, with_gc: bool) -> Line:
    """Decode and encode an on_search with 50 items vs ``orjson.loads`` and ``orjson.dumps``."""
    raw_body = ON_SEARCH_50.read_bytes()

    def ours() -> bytes:
        return encode(decode(raw_body))

    def raw() -> bytes:
        return orjson.dumps(orjson.loads(raw_body))

    return compare("decode+encode on_search_50", ours, raw, 0.50, repeat=repeat, with_gc=with_gc)


def main(argv: list[str] | None = None) -> int:
    """Run the three comparisons and print the table; exit 0 whatever the ratios."""
    parser = argparse.ArgumentParser(description="supplymesh protocol speed vs raw libraries")
    parser.add_argument("--repeat", type=int, default=9, help="timeit loops per figure (best)")
    parser.add_argument("--gc", action="store_true", help="time with the garbage collector on")
    args = parser.parse_args(argv)
    lines = [bench(args.repeat, args.gc) for bench in (bench_sign, bench_verify, bench_codec)]
    title = f"{'operation':<28}{'supplymesh ops/s':>18}{'raw ops/s':>12}{'ratio':>8}{'goal':>7}"
    print(title + "  result")
    print("-" * (len(title) + 8))
    for line in lines:
        print(
            f"{line.name:<28}{line.ours:>18,.0f}{line.raw:>12,.0f}"
            f"{line.ratio:>8.1%}{line.goal:>7.0%}  {line.verdict}"
        )
    print("raw: PyNaCl SigningKey.sign / VerifyKey.verify of the same signing string and")
    print("     orjson.loads + orjson.dumps of the same bytes")
    print(f"best of {args.repeat} loops each, garbage collector {'on' if args.gc else 'off'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
