"""The Merkle tree: batched openings round-trip, and every altered part is rejected."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import numpy as np
import pytest

from provers.commit import merkle
from provers.errors import Reject, VerificationError


def make_leaves(count: int, seed: int) -> list[bytes]:
    rng = np.random.default_rng(seed)
    return [rng.bytes(int(rng.integers(1, 40))) for _ in range(count)]


def choose(count: int, how_many: int, seed: int) -> list[int]:
    rng = np.random.default_rng(seed)
    return sorted(rng.choice(count, size=min(count, how_many), replace=False).tolist())


@pytest.mark.parametrize("num_leaves", [1, 2, 3, 5, 8, 33, 256, 1000])
def test_a_batched_opening_of_any_subset_verifies(num_leaves: int) -> None:
    leaves = make_leaves(num_leaves, num_leaves)
    tree = merkle.MerkleTree.build(leaves)
    for how_many in (1, 2, 7, num_leaves):
        indices = choose(num_leaves, how_many, how_many)
        proof = tree.open_batch(indices)
        opened = [leaves[i] for i in indices]
        merkle.verify_batch(tree.root, num_leaves, indices, opened, proof)


def test_the_root_follows_the_domain_separated_definition() -> None:
    leaves = [b"a", b"b", b"c"]
    hashed = [hashlib.sha256(b"\x00" + leaf).digest() for leaf in leaves] + [bytes(32)]
    left = hashlib.sha256(b"\x01" + hashed[0] + hashed[1]).digest()
    right = hashlib.sha256(b"\x01" + hashed[2] + hashed[3]).digest()
    expected = hashlib.sha256(b"\x01" + left + right).digest()
    assert merkle.MerkleTree.build(leaves).root == expected


def test_indices_may_come_in_any_order_and_the_opening_ignores_repeats() -> None:
    leaves = make_leaves(64, 1)
    tree = merkle.MerkleTree.build(leaves)
    assert tree.open_batch([9, 3, 9, 40]) == tree.open_batch([3, 9, 40])
    indices = [40, 3, 9]
    merkle.verify_batch(
        tree.root, 64, indices, [leaves[i] for i in indices], tree.open_batch(indices)
    )


def test_siblings_the_verifier_can_compute_are_not_sent() -> None:
    tree = merkle.MerkleTree.build(make_leaves(16, 2))
    assert len(tree.open_batch([5]).siblings) == 4
    assert len(tree.open_batch([4, 5]).siblings) == 3
    assert len(tree.open_batch([0, 1, 2, 3]).siblings) == 2
    assert len(tree.open_batch(list(range(16))).siblings) == 0
    separate = len(tree.open_batch([2]).siblings) + len(tree.open_batch([3]).siblings)
    assert len(tree.open_batch([2, 3]).siblings) < separate


def test_large_leaves_hash_the_same_on_threads() -> None:
    rng = np.random.default_rng(3)
    leaves = [rng.bytes(4096) for _ in range(300)]
    tree = merkle.MerkleTree.build(leaves)
    assert tree._layers[0][:300] == [merkle.hash_leaf(leaf) for leaf in leaves]


def test_a_pair_of_child_digests_does_not_open_as_a_leaf() -> None:
    leaves = [b"left", b"right"]
    tree = merkle.MerkleTree.build(leaves)
    forged_leaf = merkle.hash_leaf(leaves[0]) + merkle.hash_leaf(leaves[1])
    with pytest.raises(VerificationError) as caught:
        merkle.verify_batch(tree.root, 1, [0], [forged_leaf], merkle.MerkleProof(()))
    assert caught.value.reason is Reject.MERKLE_PATH_INVALID


Statement = tuple[bytes, int, list[int], list[bytes], merkle.MerkleProof]


def _honest() -> Statement:
    leaves = make_leaves(40, 9)
    tree = merkle.MerkleTree.build(leaves)
    indices = [2, 3, 17, 30]
    return tree.root, 40, indices, [leaves[i] for i in indices], tree.open_batch(indices)


def _flip_first_byte(data: bytes) -> bytes:
    return bytes([data[0] ^ 1]) + data[1:]


def _wrong_sibling(s: Statement) -> Statement:
    siblings = list(s[4].siblings)
    siblings[1] = _flip_first_byte(siblings[1])
    return s[0], s[1], s[2], s[3], merkle.MerkleProof(tuple(siblings))


def _wrong_leaf(s: Statement) -> Statement:
    leaves = list(s[3])
    leaves[2] = leaves[2] + b"!"
    return s[0], s[1], s[2], leaves, s[4]


def _wrong_index(s: Statement) -> Statement:
    return s[0], s[1], [2, 3, 16, 30], s[3], s[4]


def _swapped_leaves(s: Statement) -> Statement:
    return s[0], s[1], s[2], [s[3][1], s[3][0], *s[3][2:]], s[4]


def _wrong_root(s: Statement) -> Statement:
    return _flip_first_byte(s[0]), s[1], s[2], s[3], s[4]


def _wrong_leaf_count(s: Statement) -> Statement:
    return s[0], 80, s[2], s[3], s[4]


def _missing_sibling(s: Statement) -> Statement:
    return s[0], s[1], s[2], s[3], merkle.MerkleProof(s[4].siblings[:-1])


def _extra_sibling(s: Statement) -> Statement:
    return s[0], s[1], s[2], s[3], merkle.MerkleProof((*s[4].siblings, bytes(32)))


def _repeated_index(s: Statement) -> Statement:
    return s[0], s[1], [2, 2, 17, 30], s[3], s[4]


def _index_out_of_range(s: Statement) -> Statement:
    return s[0], s[1], [2, 3, 17, 40], s[3], s[4]


def _fewer_leaves_than_indices(s: Statement) -> Statement:
    return s[0], s[1], s[2], s[3][:3], s[4]


def _no_leaves(s: Statement) -> Statement:
    return s[0], s[1], [], [], s[4]


TAMPERS: dict[str, Callable[[Statement], Statement]] = {
    "wrong sibling": _wrong_sibling,
    "wrong leaf": _wrong_leaf,
    "wrong index": _wrong_index,
    "swapped leaves": _swapped_leaves,
    "wrong root": _wrong_root,
    "wrong leaf count": _wrong_leaf_count,
    "missing sibling": _missing_sibling,
    "extra sibling": _extra_sibling,
    "repeated index": _repeated_index,
    "index out of range": _index_out_of_range,
    "fewer leaves than indices": _fewer_leaves_than_indices,
    "no leaves": _no_leaves,
}


def test_the_honest_statement_of_the_tamper_table_verifies() -> None:
    merkle.verify_batch(*_honest())


@pytest.mark.parametrize("case", sorted(TAMPERS))
def test_verify_batch_rejects_a_tampered_opening(case: str) -> None:
    with pytest.raises(VerificationError) as caught:
        merkle.verify_batch(*TAMPERS[case](_honest()))
    assert caught.value.reason is Reject.MERKLE_PATH_INVALID


def test_proof_bytes_round_trip() -> None:
    proof = _honest()[4]
    data = proof.to_bytes()
    assert merkle.MerkleProof.from_bytes(data, max_siblings=100) == proof


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda data: data[:-1], Reject.TRUNCATED),
        (lambda data: data + b"\x00", Reject.TRAILING_BYTES),
        (lambda data: b"\xff\xff\xff\xff" + data[4:], Reject.LENGTH_OUT_OF_BOUNDS),
    ],
    ids=["truncated", "extended", "count above bound"],
)
def test_from_bytes_rejects_malformed_proof_bytes(
    change: Callable[[bytes], bytes], reason: Reject
) -> None:
    data = _honest()[4].to_bytes()
    with pytest.raises(VerificationError) as caught:
        merkle.MerkleProof.from_bytes(change(data), max_siblings=100)
    assert caught.value.reason is reason


def test_building_a_tree_of_no_leaves_is_refused() -> None:
    with pytest.raises(ValueError):
        merkle.MerkleTree.build([])
