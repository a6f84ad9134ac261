"""The RFC 9162 tree: the CT reference vectors, and proofs checked both ways."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crawler_compliance.audit._merkle import (
    EMPTY_ROOT,
    CompactRange,
    HashSource,
    PartialTree,
    ProofError,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)

VECTORS = json.loads((Path(__file__).parent / "data" / "ct_merkle_vectors.json").read_text())
LEAVES = [leaf_hash(bytes.fromhex(x)) for x in VECTORS["leaves"]]
ROOTS = [bytes.fromhex(x) for x in VECTORS["roots"]]


def _hashes(items: list[str]) -> list[bytes]:
    return [bytes.fromhex(x) for x in items]


def test_empty_and_leaf_hashes_match_the_reference():
    assert EMPTY_ROOT.hex() == VECTORS["empty_root"]
    assert [h.hex() for h in LEAVES] == VECTORS["compact_trees"]["level0"]


@pytest.mark.parametrize("size", range(1, 9))
def test_tree_heads_match_the_reference(size):
    assert HashSource(LEAVES[:size]).root() == ROOTS[size - 1]
    compact = CompactRange()
    for leaf in LEAVES[:size]:
        compact.append(leaf)
    assert compact.root() == ROOTS[size - 1]


def test_compact_range_holds_the_reference_subtrees():
    levels = [_hashes(VECTORS["compact_trees"][f"level{i}"]) for i in range(4)]
    compact = CompactRange()
    for leaf in LEAVES[:7]:
        compact.append(leaf)
    # 7 = 4 + 2 + 1: the subtree of leaves 0-3, of leaves 4-5, and leaf 6
    assert compact.hashes == [levels[2][0], levels[1][2], levels[0][6]]


@pytest.mark.parametrize("case", VECTORS["inclusion"], ids=lambda c: f"{c['leaf']}-{c['size']}")
def test_inclusion_proofs_match_the_reference(case):
    index, size = case["leaf"] - 1, case["size"]
    proof = _hashes(case["proof"])
    assert HashSource(LEAVES[:size]).inclusion(index) == proof
    verify_inclusion(index, size, LEAVES[index], proof, ROOTS[size - 1])


@pytest.mark.parametrize("case", VECTORS["consistency"], ids=lambda c: f"{c['size1']}-{c['size2']}")
def test_consistency_proofs_match_the_reference(case):
    old, size = case["size1"], case["size2"]
    proof = _hashes(case["proof"])
    assert HashSource(LEAVES[:size]).consistency(old) == proof
    verify_consistency(old, size, ROOTS[old - 1], ROOTS[size - 1], proof)


def _flip(proof: list[bytes], i: int) -> list[bytes]:
    out = list(proof)
    out[i] = bytes([out[i][0] ^ 8]) + out[i][1:]
    return out


@pytest.mark.parametrize("case", VECTORS["inclusion"][1:], ids=lambda c: f"{c['leaf']}-{c['size']}")
def test_corrupted_inclusion_proofs_fail(case):
    index, size = case["leaf"] - 1, case["size"]
    proof, root, leaf = _hashes(case["proof"]), ROOTS[size - 1], LEAVES[case["leaf"] - 1]
    bad = [
        (index + 1, size, leaf, proof, root),
        (index ^ 2, size, leaf, proof, root),
        (index, size * 2, leaf, proof, root),
        (index, size, leaf_hash(b"WrongLeaf"), proof, root),
        (index, size, leaf, proof, EMPTY_ROOT),
        (index, size, leaf, [*proof, root], root),
        (index, size, leaf, [root, *proof], root),
        (index, size, leaf, proof[:-1], root),
        *((index, size, leaf, _flip(proof, i), root) for i in range(len(proof))),
    ]
    if index:
        bad.append((index - 1, size, leaf, proof, root))
    for args in bad:
        with pytest.raises(ProofError):
            verify_inclusion(*args)


@pytest.mark.parametrize(
    "case", VECTORS["consistency"][1:], ids=lambda c: f"{c['size1']}-{c['size2']}"
)
def test_corrupted_consistency_proofs_fail(case):
    m, n = case["size1"], case["size2"]
    proof, r1, r2 = _hashes(case["proof"]), ROOTS[m - 1], ROOTS[n - 1]
    bad = [
        (m + 1, n, r1, r2, proof),
        (m ^ 2, n, r1, r2, proof),
        (m, n * 2, r1, r2, proof),
        (m, n, r2, r1, proof),
        (m, n, leaf_hash(b"x"), r2, proof),
        (m, n, r1, r2, []),
        (m, n, r1, r2, [*proof, r1]),
        (m, n, r1, r2, [r2, *proof]),
        (m, n, r1, r2, proof[:-1]),
        *((m, n, r1, r2, _flip(proof, i)) for i in range(len(proof))),
    ]
    if m > 1:
        bad.append((m - 1, n, r1, r2, proof))
    for args in bad:
        with pytest.raises(ProofError):
            verify_consistency(*args)


def test_edge_sizes():
    verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    verify_consistency(0, 5, EMPTY_ROOT, ROOTS[4], [])
    verify_consistency(3, 3, ROOTS[2], ROOTS[2], [])
    with pytest.raises(ProofError):
        verify_consistency(3, 3, ROOTS[2], ROOTS[3], [])
    with pytest.raises(ProofError):
        verify_consistency(4, 3, ROOTS[3], ROOTS[2], [])
    with pytest.raises(ProofError):
        verify_consistency(0, 1, EMPTY_ROOT, ROOTS[0], [EMPTY_ROOT])
    with pytest.raises(ProofError):
        verify_inclusion(0, 0, LEAVES[0], [], EMPTY_ROOT)


def test_every_proof_up_to_70_leaves_verifies():
    leaves = [leaf_hash(str(i).encode()) for i in range(70)]
    full = HashSource(leaves)
    for n in range(1, 71):
        root = full.root(n)
        for i in range(n):
            verify_inclusion(i, n, leaves[i], full.inclusion(i, n), root)
        for m in range(0, n + 1):
            verify_consistency(m, n, full.root(m), root, full.consistency(m, n))


def test_partial_tree_gives_the_same_proofs_as_the_full_tree():
    leaves = [leaf_hash(str(i).encode()) for i in range(70)]
    full = HashSource(leaves)
    for m in range(0, 40):
        base = CompactRange()
        for leaf in leaves[:m]:
            base.append(leaf)
        for n in range(m, 70):
            partial = PartialTree(base, leaves[m:n])
            assert partial.root() == full.root(n)
            assert partial.consistency(m) == full.consistency(m, n)
