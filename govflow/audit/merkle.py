"""The Merkle root a checkpoint signs over every chain's head.

RFC 6962's tree hash (Certificate Transparency): a leaf is SHA-256 of 0x00
and the head's text `chain:seq:hash`, an inner node SHA-256 of 0x01 and its
two children, the tree split at the largest power of two below the count.
The prefixes keep a leaf from passing for a node. Heads are taken in chain
order, so the root commits to which chains exist, how long each is and
where each ends; one chain's head can be proven against a signed root with
log2(N) hashes (`merkle_path`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

Head = tuple[int, int, str]  # (chain, seq, hash of the newest event)


def leaf_hash(head: Head) -> bytes:
    chain, seq, digest = head
    return hashlib.sha256(b"\x00" + f"{chain}:{seq}:{digest}".encode()).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(count: int) -> int:
    k = 1
    while k * 2 < count:
        k *= 2
    return k


def _root(leaves: Sequence[bytes]) -> bytes:
    if len(leaves) == 1:
        return leaves[0]
    k = _split(len(leaves))
    return _node(_root(leaves[:k]), _root(leaves[k:]))


def merkle_root(heads: Sequence[Head]) -> str:
    """Hex root over the heads, in chain order; raises on none or on a
    chain named twice."""
    ordered = sorted(heads)
    if not ordered:
        raise ValueError("a Merkle root needs at least one head")
    if len({head[0] for head in ordered}) != len(ordered):
        raise ValueError("a chain is named twice")
    return _root([leaf_hash(head) for head in ordered]).hex()


def merkle_path(heads: Sequence[Head], chain: int) -> list[tuple[str, str]]:
    """The sibling hashes from `chain`'s leaf up to the root, each with the
    side it stands on ("left" or "right"): what a third party needs to check
    one chain's head against a signed root."""
    ordered = sorted(heads)
    index = [head[0] for head in ordered].index(chain)
    leaves = [leaf_hash(head) for head in ordered]
    path: list[tuple[str, str]] = []
    while len(leaves) > 1:
        k = _split(len(leaves))
        if index < k:
            path.append(("right", _root(leaves[k:]).hex()))
            leaves = leaves[:k]
        else:
            path.append(("left", _root(leaves[:k]).hex()))
            leaves, index = leaves[k:], index - k
    return path[::-1]


def root_from_path(head: Head, path: Sequence[tuple[str, str]]) -> str:
    digest = leaf_hash(head)
    for side, sibling in path:
        other = bytes.fromhex(sibling)
        digest = _node(other, digest) if side == "left" else _node(digest, other)
    return digest.hex()
