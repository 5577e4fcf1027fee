"""Authenticated state for the AssetL2 node (DESIGN §5).

* ``StateTree`` -- versioned sparse Merkle tree over 256-bit keys on LevelDB, one
  atomic write batch per block, inclusion and non-inclusion proofs, pruning;
* ``verify`` / ``Proof`` -- the database-free proof verifier and proof encoding;
* ``keys.derive_key`` -- typed key derivation, every namespace listed in one place;
* ``pages.PageRegion`` -- fixed-layout regions (slab arenas) as dirty-tracked pages;
* ``txlog.TxLog`` -- the append-only transaction log (pymerkle) with its proofs.

Hashing rules and the proof format are in ``hashing.py``, ``proof.py`` and README.md.
"""
from .errors import InvalidInput, StateCorruption, StateTreeError, VersionNotFound
from .hashing import EMPTY_HASH, leaf_hash, node_hash, reference_root
from .keys import NAMESPACES, derive_key
from .pages import PageRegion
from .proof import InvalidProof, Proof, check_proof, verify
from .tree import MAX_VALUE_BYTES, StateTree
from .txlog import TxLog

__all__ = [
    "EMPTY_HASH",
    "MAX_VALUE_BYTES",
    "NAMESPACES",
    "PageRegion",
    "InvalidInput",
    "InvalidProof",
    "Proof",
    "StateCorruption",
    "StateTree",
    "StateTreeError",
    "TxLog",
    "VersionNotFound",
    "check_proof",
    "derive_key",
    "leaf_hash",
    "node_hash",
    "reference_root",
    "verify",
]
