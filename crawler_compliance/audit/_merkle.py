"""The RFC 9162 §2.1 Merkle tree over audit records, and its proofs.

A leaf is a record's line without its newline: ``SHA-256(0x00 || line)``; an
interior node is ``SHA-256(0x01 || left || right)``; the tree over ``n``
leaves splits at the largest power of two below ``n`` (RFC 9162 §2.1.1).
Inclusion proofs follow §2.1.3, consistency proofs §2.1.4, and both verifiers
follow the RFC's algorithms step by step. Hashes are raw 32-byte ``bytes``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH({}): the root of the empty tree (RFC 9162 §2.1.1)."""

_sha256 = hashlib.sha256


class ProofError(ValueError):
    """A proof does not verify, or cannot be built for these sizes."""


def leaf_hash(data: bytes) -> bytes:
    """MTH({d}) = SHA-256(0x00 || d)."""
    return _sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right)."""
    return _sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (``n`` > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


class CompactRange:
    """The roots of the perfect subtrees covering leaves ``[0, size)``.

    O(log n) hashes: enough to extend the tree one leaf at a time and to give
    its root, without the leaves themselves (the writer's whole tree state).
    """

    __slots__ = ("size", "hashes")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if size < 0 or len(hashes) != size.bit_count():
            raise ValueError(f"a compact range of size {size} has {size.bit_count()} hashes")
        self.size = size
        self.hashes = list(hashes)

    def append(self, leaf: bytes) -> None:
        """Add one leaf hash (the tree grows by one record)."""
        hashes = self.hashes
        hashes.append(leaf)
        self.size = size = self.size + 1
        while not size & 1:  # one merge per trailing zero bit of the new size
            right = hashes.pop()
            hashes[-1] = _sha256(b"\x01" + hashes[-1] + right).digest()
            size >>= 1

    def root(self) -> bytes:
        """MTH of the leaves so far (``EMPTY_ROOT`` when there are none)."""
        hashes = self.hashes
        if not hashes:
            return EMPTY_ROOT
        root = hashes[-1]
        for left in reversed(hashes[:-1]):
            root = node_hash(left, root)
        return root

    def nodes(self) -> list[tuple[int, int, bytes]]:
        """``(start, end, hash)`` of each perfect subtree, left to right."""
        out = []
        start = 0
        bits = self.size
        for hash_ in self.hashes:
            width = 1 << (bits.bit_length() - 1)
            out.append((start, start + width, hash_))
            start += width
            bits -= width
        return out

    def copy(self) -> CompactRange:
        return CompactRange(self.size, self.hashes)


class HashSource:
    """Subtree hashes of a tree: what proofs are built from.

    ``range_hash(lo, hi)`` is MTH(D[lo:hi]). This base class holds every leaf
    (levels of complete subtrees, so each hash is computed once); see
    :class:`PartialTree` for one that holds only the leaves after a compact range.
    """

    def __init__(self, leaves: Sequence[bytes] | bytes) -> None:
        """``leaves``: the leaf hashes, or all of them concatenated (32 bytes each)."""
        first = leaves if isinstance(leaves, bytes) else b"".join(leaves)
        self.size = len(first) // HASH_SIZE
        levels = [first]
        while len(levels[-1]) >= 2 * HASH_SIZE:
            below = levels[-1]
            levels.append(
                b"".join(
                    _sha256(b"\x01" + below[i : i + 2 * HASH_SIZE]).digest()
                    for i in range(0, len(below) - 2 * HASH_SIZE + 1, 2 * HASH_SIZE)
                )
            )
        self._levels = levels

    def _mth(self, lo: int, hi: int) -> bytes:
        """MTH of the held leaves ``[lo, hi)`` (indices into what this object holds)."""
        width = hi - lo
        if not width & (width - 1) and not lo % width:  # a complete subtree: stored
            level = width.bit_length() - 1
            at = (lo >> level) * HASH_SIZE
            return self._levels[level][at : at + HASH_SIZE]
        k = _split(width)
        return node_hash(self._mth(lo, lo + k), self._mth(lo + k, hi))

    def range_hash(self, lo: int, hi: int) -> bytes:
        """MTH(D[lo:hi])."""
        if not 0 <= lo < hi <= self.size:
            raise ProofError(f"no subtree [{lo}, {hi}) in a tree of {self.size}")
        return self._mth(lo, hi)

    def root(self, size: int | None = None) -> bytes:
        size = self.size if size is None else size
        return EMPTY_ROOT if size == 0 else self.range_hash(0, size)

    def inclusion(self, index: int, size: int | None = None) -> list[bytes]:
        """PATH(index, D[size]) of RFC 9162 §2.1.3.1, leaf to root."""
        size = self.size if size is None else size
        if not 0 <= index < size <= self.size:
            raise ProofError(f"leaf {index} is not in a tree of size {size}")
        path: list[bytes] = []
        lo, hi = 0, size
        while hi - lo > 1:  # walk down; siblings are collected root-first
            k = _split(hi - lo)
            if index < lo + k:
                path.append(self.range_hash(lo + k, hi))
                hi = lo + k
            else:
                path.append(self.range_hash(lo, lo + k))
                lo += k
        path.reverse()
        return path

    def consistency(self, old: int, size: int | None = None) -> list[bytes]:
        """PROOF(old, D[size]) of RFC 9162 §2.1.4.1 (empty when old is 0 or size)."""
        size = self.size if size is None else size
        if not 0 <= old <= size <= self.size:
            raise ProofError(f"no consistency proof from size {old} to {size}")
        if old == 0 or old == size:
            return []
        proof: list[bytes] = []
        lo, hi, m, complete = 0, size, old, True
        while True:  # SUBPROOF(m, D[lo:hi], complete), iteratively
            n = hi - lo
            if m == n:
                if not complete:
                    proof.append(self.range_hash(lo, hi))
                break
            k = _split(n)
            if m <= k:
                proof.append(self.range_hash(lo + k, hi))
                hi = lo + k
            else:
                proof.append(self.range_hash(lo, lo + k))
                lo, m, complete = lo + k, m - k, False
        proof.reverse()
        return proof


class PartialTree(HashSource):
    """A tree known only as a compact range at ``base.size`` plus the leaves after it.

    Enough for consistency proofs from ``base.size`` (or later) and inclusion
    proofs of the later leaves, in O(log n + new leaves) memory: what a
    witness submission needs, without reading the log back.
    """

    def __init__(self, base: CompactRange, leaves: Sequence[bytes] | bytes) -> None:
        super().__init__(leaves)
        self.base = base
        self._nodes = base.nodes()
        self.size = base.size + self.size

    def range_hash(self, lo: int, hi: int) -> bytes:
        m = self.base.size
        if not 0 <= lo < hi <= self.size:
            raise ProofError(f"no subtree [{lo}, {hi}) in a tree of {self.size}")
        if lo >= m:  # entirely after the base: from the held leaves
            return self._mth(lo - m, hi - m)
        if hi <= m:  # entirely before: consecutive nodes of the compact range
            inside = [(s, e, h) for s, e, h in self._nodes if lo <= s and e <= hi]
            if not inside or inside[0][0] != lo or inside[-1][1] != hi:
                raise ProofError(f"subtree [{lo}, {hi}) is not known from the compact range")
            root = inside[-1][2]
            for _, _, left in reversed(inside[:-1]):
                root = node_hash(left, root)
            return root
        k = _split(hi - lo)
        return node_hash(self.range_hash(lo, lo + k), self.range_hash(lo + k, hi))


def root_from_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes]) -> bytes:
    """The root an inclusion proof leads to (RFC 9162 §2.1.3.2); ``ProofError`` if malformed."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is not below the tree size {size}")
    fn, sn = index, size - 1
    r = leaf
    for p in path:
        if len(p) != HASH_SIZE:
            raise ProofError("a proof hash is not 32 bytes")
        if sn == 0:
            raise ProofError("the inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the inclusion proof is shorter than the tree is deep")
    return r


def verify_inclusion(
    index: int, size: int, leaf: bytes, path: Sequence[bytes], root: bytes
) -> None:
    """Raise ``ProofError`` unless ``leaf`` is leaf ``index`` of the tree ``(size, root)``."""
    if root_from_inclusion(index, size, leaf, path) != root:
        raise ProofError("the inclusion proof does not lead to the checkpoint's root hash")


def verify_consistency(
    old: int, size: int, old_root: bytes, root: bytes, proof: Sequence[bytes]
) -> None:
    """Raise ``ProofError`` unless tree ``(size, root)`` extends ``(old, old_root)`` (§2.1.4.2)."""
    if not 0 <= old <= size:
        raise ProofError(f"size {size} is smaller than the old size {old}")
    if any(len(p) != HASH_SIZE for p in proof):
        raise ProofError("a proof hash is not 32 bytes")
    if old == size:
        if proof:
            raise ProofError("a consistency proof between equal sizes must be empty")
        if old_root != root:
            raise ProofError(f"two different root hashes for the same size {size}")
        return
    if old == 0:
        if proof:
            raise ProofError("a consistency proof from the empty tree must be empty")
        return
    if not proof:
        raise ProofError("empty consistency proof")
    path = list(proof)
    if old & (old - 1) == 0:  # old is an exact power of 2
        path.insert(0, old_root)
    fn, sn = old - 1, size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("the consistency proof is too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the consistency proof is too short")
    if fr != old_root:
        raise ProofError(f"the log does not extend the old tree of size {old}: its root differs")
    if sr != root:
        raise ProofError("the consistency proof does not lead to the new root hash")
