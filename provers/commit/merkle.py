"""Binary Merkle tree over SHA-256 with batched openings.

Leaf i hashes to H(0x00 ‖ leaf_i) and an inner node to H(0x01 ‖ left ‖ right); the distinct
prefixes keep a leaf from ever being read as a node (second-preimage attacks on the tree shape).
A tree over n leaves has height h = ⌈log2 n⌉; positions n … 2^h − 1 of the bottom layer hold the
all-zero digest, which no leaf hashes to except with probability 2^−256.

A batched opening of a set S of leaves sends, layer by layer from the bottom, each sibling the
verifier cannot compute itself: walking the known positions of a layer in increasing order, the
sibling of position i is sent exactly when i ⊕ 1 is not known; the parents ⌊i/2⌋ form the next
layer's known positions. Openings of nearby leaves therefore share their upper paths.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from provers.encoding import DIGEST_BYTES, Reader, Writer
from provers.errors import Reject, VerificationError

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
PADDING_DIGEST = bytes(DIGEST_BYTES)
MAX_HEIGHT = 32
"""At most 2^32 leaves: a larger count in proof bytes is hostile, not a real tree."""

# hashlib releases the interpreter lock on inputs of 2 KiB and more, so large leaves hash on
# two threads at once; small leaves are not worth the hand-off.
_THREADED_LEAF_BYTES = 2048
_THREADED_MIN_LEAVES = 256
_LEAF_HASHER = hashlib.sha256(LEAF_PREFIX)
_NODE_HASHER = hashlib.sha256(NODE_PREFIX)

LeafBytes = bytes | bytearray | memoryview


def hash_leaf(leaf: LeafBytes) -> bytes:
    hasher = _LEAF_HASHER.copy()
    hasher.update(leaf)
    return hasher.digest()


def hash_node(left: bytes, right: bytes) -> bytes:
    hasher = _NODE_HASHER.copy()
    hasher.update(left)
    hasher.update(right)
    return hasher.digest()


def tree_height(num_leaves: int) -> int:
    return (num_leaves - 1).bit_length()


def _hash_leaves(leaves: Sequence[LeafBytes]) -> list[bytes]:
    large = len(leaves) >= _THREADED_MIN_LEAVES and len(leaves[0]) >= _THREADED_LEAF_BYTES
    if not large:
        return [hash_leaf(leaf) for leaf in leaves]
    half = len(leaves) // 2
    with ThreadPoolExecutor(max_workers=2) as pool:
        parts = pool.map(lambda part: [hash_leaf(x) for x in part], [leaves[:half], leaves[half:]])
        return [digest for part in parts for digest in part]


@dataclass(frozen=True)
class MerkleProof:
    """The siblings of a batched opening, in the order the verifier consumes them."""

    siblings: tuple[bytes, ...]
    """32-byte digests, layer by layer from the leaves up, increasing position within a layer."""

    def write_to(self, writer: Writer) -> None:
        writer.u32(len(self.siblings))
        for digest in self.siblings:
            writer.raw(digest)

    @classmethod
    def read_from(cls, reader: Reader, max_siblings: int) -> MerkleProof:
        count = reader.bounded_u32("merkle sibling count", 0, max_siblings)
        return cls(tuple(reader.raw(DIGEST_BYTES, "merkle sibling") for _ in range(count)))

    def to_bytes(self) -> bytes:
        writer = Writer()
        self.write_to(writer)
        return writer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes, max_siblings: int) -> MerkleProof:
        reader = Reader(data)
        proof = cls.read_from(reader, max_siblings)
        reader.finish("merkle proof")
        return proof


def max_siblings(num_leaves: int, num_opened: int) -> int:
    """An upper bound on the siblings an honest batched opening of ``num_opened`` leaves sends."""
    return num_opened * tree_height(num_leaves)


class MerkleTree:
    """Every layer of the tree, leaves first, kept so openings need no rehashing."""

    def __init__(self, layers: list[list[bytes]], num_leaves: int) -> None:
        self._layers = layers
        self.num_leaves = num_leaves

    @classmethod
    def build(cls, leaves: Sequence[LeafBytes]) -> MerkleTree:
        num_leaves = len(leaves)
        if num_leaves == 0:
            raise ValueError("a Merkle tree needs at least one leaf")
        if tree_height(num_leaves) > MAX_HEIGHT:
            raise ValueError(f"at most 2^{MAX_HEIGHT} leaves")
        return cls.from_leaf_digests(_hash_leaves(leaves))

    @classmethod
    def from_leaf_digests(cls, digests: Sequence[bytes]) -> MerkleTree:
        """The tree over leaves whose digests H(0x00 ‖ leaf) are already known (a stored tree
        is rebuilt this way without re-reading its leaves)."""
        num_leaves = len(digests)
        if num_leaves == 0:
            raise ValueError("a Merkle tree needs at least one leaf")
        if tree_height(num_leaves) > MAX_HEIGHT:
            raise ValueError(f"at most 2^{MAX_HEIGHT} leaves")
        if any(len(digest) != DIGEST_BYTES for digest in digests):
            raise ValueError(f"leaf digests are {DIGEST_BYTES} bytes")
        layer = list(digests)
        layer.extend([PADDING_DIGEST] * ((1 << tree_height(num_leaves)) - num_leaves))
        layers = [layer]
        while len(layer) > 1:
            layer = [hash_node(layer[i], layer[i + 1]) for i in range(0, len(layer), 2)]
            layers.append(layer)
        return cls(layers, num_leaves)

    def leaf_digests(self) -> list[bytes]:
        """H(0x00 ‖ leaf) of every leaf, in order."""
        return self._layers[0][: self.num_leaves]

    @property
    def root(self) -> bytes:
        return self._layers[-1][0]

    def open_batch(self, indices: Sequence[int]) -> MerkleProof:
        """Siblings proving the leaves at ``indices`` (any order, repeats allowed)."""
        if any(not 0 <= i < self.num_leaves for i in indices):
            raise ValueError("leaf index out of range")
        positions = sorted(set(indices))
        siblings: list[bytes] = []
        for layer in self._layers[:-1]:
            known = set(positions)
            siblings.extend(layer[i ^ 1] for i in positions if i ^ 1 not in known)
            positions = sorted({i >> 1 for i in positions})
        return MerkleProof(tuple(siblings))


def _reject(detail: str) -> VerificationError:
    return VerificationError(Reject.MERKLE_PATH_INVALID, detail)


def _check_statement(
    num_leaves: int, indices: Sequence[int], leaf_bytes: Sequence[LeafBytes]
) -> None:
    if not 1 <= num_leaves <= (1 << MAX_HEIGHT):
        raise _reject(f"tree of {num_leaves} leaves")
    if len(indices) != len(leaf_bytes):
        raise _reject(f"{len(indices)} indices but {len(leaf_bytes)} leaves")
    if not indices:
        raise _reject("no leaves to check")
    if any(not 0 <= i < num_leaves for i in indices):
        raise _reject("leaf index out of range")
    if len(set(indices)) != len(indices):
        raise _reject("repeated leaf index")


def verify_batch(
    root: bytes,
    num_leaves: int,
    indices: Sequence[int],
    leaf_bytes: Sequence[LeafBytes],
    proof: MerkleProof,
) -> None:
    """Check that the leaves ``leaf_bytes`` sit at the distinct positions ``indices`` of the
    tree with ``root`` and ``num_leaves`` leaves; raise MERKLE_PATH_INVALID otherwise."""
    _check_statement(num_leaves, indices, leaf_bytes)
    nodes = {i: hash_leaf(leaf) for i, leaf in zip(indices, leaf_bytes, strict=True)}
    siblings = iter(proof.siblings)
    consumed = 0
    for _ in range(tree_height(num_leaves)):
        parents: dict[int, bytes] = {}
        for i in sorted(nodes):
            if i & 1 and i ^ 1 in nodes:
                continue
            sibling = nodes.get(i ^ 1)
            if sibling is None:
                sibling = next(siblings, None)
                if sibling is None:
                    raise _reject("too few siblings")
                consumed += 1
            parents[i >> 1] = (
                hash_node(nodes[i], sibling) if i & 1 == 0 else hash_node(sibling, nodes[i])
            )
        nodes = parents
    if consumed != len(proof.siblings):
        raise _reject(f"{len(proof.siblings) - consumed} unused siblings")
    if nodes[0] != root:
        raise _reject("the opened leaves do not hash to the root")
