"""Commitments: the SHA-256 Merkle tree (``merkle``) and the tensor-code polynomial commitment
(``pcs``) built on it."""
