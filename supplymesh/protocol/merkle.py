"""A Merkle tree over commitments, and inclusion proofs a member checks on its own.

Leaves and inner nodes are hashed with different prefixes (0x00 / 0x01, as RFC 6962 does) so a
leaf can never be passed off as an inner node. An odd node is promoted to the next level
unchanged. The hash is BLAKE2b-256, the same family the signing digest uses.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

_LEAF = b"\x00"
_NODE = b"\x01"


def _hash(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=32).digest()


def leaf_hash(commitment: bytes) -> bytes:
    """The hash of one leaf."""
    return _hash(_LEAF + commitment)


def _parent(left: bytes, right: bytes) -> bytes:
    return _hash(_NODE + left + right)


@dataclass(frozen=True, slots=True)
class ProofStep:
    """One sibling on the way to the root, and which side it sits on."""

    sibling: bytes
    sibling_is_left: bool


def _levels(leaves: Sequence[bytes]) -> list[list[bytes]]:
    level = [leaf_hash(c) for c in leaves]
    levels = [level]
    while len(level) > 1:
        nxt = [_parent(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
        levels.append(level)
    return levels


def root(commitments: Sequence[bytes]) -> bytes:
    """The root over ``commitments`` in the given order (the hash of nothing when empty)."""
    if not commitments:
        return _hash(b"")
    return _levels(commitments)[-1][0]


def proof(commitments: Sequence[bytes], index: int) -> tuple[ProofStep, ...]:
    """The inclusion proof of ``commitments[index]``."""
    if not 0 <= index < len(commitments):
        raise IndexError(f"no leaf {index} among {len(commitments)}")
    steps = []
    for level in _levels(commitments)[:-1]:
        sibling = index ^ 1
        if sibling < len(level):
            steps.append(ProofStep(level[sibling], sibling_is_left=sibling < index))
        index //= 2
    return tuple(steps)


def proofs(commitments: Sequence[bytes]) -> list[tuple[ProofStep, ...]]:
    """The inclusion proof of every leaf, from one pass over the tree."""
    if not commitments:
        return []
    levels = _levels(commitments)[:-1]
    result = []
    for index in range(len(commitments)):
        steps, position = [], index
        for level in levels:
            sibling = position ^ 1
            if sibling < len(level):
                steps.append(ProofStep(level[sibling], sibling_is_left=sibling < position))
            position //= 2
        result.append(tuple(steps))
    return result


def verify(commitment: bytes, steps: Sequence[ProofStep], expected_root: bytes) -> bool:
    """True when ``commitment`` is a leaf of the tree whose root is ``expected_root``."""
    node = leaf_hash(commitment)
    for step in steps:
        node = _parent(step.sibling, node) if step.sibling_is_left else _parent(node, step.sibling)
    return node == expected_root
