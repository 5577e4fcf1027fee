"""Append-only transaction log on pymerkle (DESIGN §5, §8).

Every executed block appends its transaction hashes; ``(size, root)`` after the
block is what the batch poster anchors beside the state root, and consistency
proofs show an auditor that a later batch only extends the log.  The accumulator
is pymerkle's RFC 9162-style tree with its default second-preimage protection:
``leaf = SHA-256(0x00 || tx_hash)``, ``node = SHA-256(0x01 || left || right)``,
``root(0) = SHA-256("")``.

Backend: pymerkle's ``SqliteTree`` (persistent, bulk append in one SQLite
transaction); see statetree/README.md for the in-memory vs SQLite measurements
that chose it.  ``backend="memory"`` (``InmemoryTree``) is kept for tests and
measurement only -- it is not persisted.

The root after each block comes from a **compact range** kept beside the tree: the roots of
the log's maximal perfect subtrees, largest first (RFC 9162 §2.1.1 builds the root by folding
exactly these).  Appending ``k`` leaves costs ``k`` leaf hashes and at most ``k`` merges, so a
block's root no longer re-reads and re-hashes the uncached right edge of the tree from SQLite
(pymerkle caches only subtrees of 128+ leaves).  pymerkle stays the store and the prover;
tests check the two roots agree at every size, across reopening.

Blocks are recorded in a ``txlog_block`` table in the same SQLite file.  The
leaves of a block and its record are two commits; a crash between them leaves
exactly one block's leaves unrecorded, which ``open`` records (the leaves of one
``append_entries`` call are atomic).  Re-appending an already logged block with
the same hashes (an executor replaying after a crash) returns the recorded
``(size, root)``; different hashes raise ``TxLogConflict``.
"""
from __future__ import annotations

import os
from hashlib import sha256
from typing import Optional, Sequence, Union

from pymerkle import (ConsistencyProof, InclusionProof, InmemoryTree, InvalidProof, SqliteTree,
                      verify_consistency, verify_inclusion)

from .errors import InvalidInput, StateTreeError

TX_HASH_BYTES = 32
LEAF_DOMAIN = b"\x00"
NODE_DOMAIN = b"\x01"
BACKEND_SQLITE = "sqlite"
BACKEND_MEMORY = "memory"
_BLOCK_TABLE = """CREATE TABLE IF NOT EXISTS txlog_block(
    block INTEGER PRIMARY KEY, size INTEGER NOT NULL, root BLOB NOT NULL)"""


class TxLogConflict(StateTreeError):
    """A block already in the log was appended again with different transactions."""


class TxLog:
    """The transaction-log accumulator; one writer.  Positions are 0-based."""

    def __init__(self, path: Union[str, os.PathLike, None] = None, *,
                 backend: str = BACKEND_SQLITE) -> None:
        self.backend = backend
        if backend == BACKEND_SQLITE:
            if path is None:
                raise InvalidInput("the sqlite backend needs a file path")
            self._tree = SqliteTree(os.fspath(path))
            with self._tree.con:
                self._tree.con.execute(_BLOCK_TABLE)
            self._blocks = self._load_blocks()
        elif backend == BACKEND_MEMORY:
            self._tree = InmemoryTree()
            self._blocks = []
        else:
            raise InvalidInput(f"unknown txlog backend {backend!r}")
        self._range = self._load_range(self._tree.get_size())
        if backend == BACKEND_SQLITE:
            self._record_pending()

    # ------------------------------------------------------------ compact range

    def _load_range(self, size: int) -> list[tuple[int, bytes]]:
        """``[(width, subtree root)]`` of the first ``size`` leaves, largest subtree first —
        read once from the tree on open (a power-of-two decomposition of ``size``)."""
        out, offset = [], 0
        for bit in range(size.bit_length() - 1, -1, -1):
            width = 1 << bit
            if size & width:
                out.append((width, self._tree._get_subroot(offset, width)))
                offset += width
        return out

    def _extend_range(self, hashes: list[bytes]) -> None:
        """Add leaves to the compact range: each leaf is a width-1 subtree; two trailing
        subtrees of equal width merge into their parent (RFC 9162 node hash)."""
        rng = self._range
        for h in hashes:
            width, node = 1, sha256(LEAF_DOMAIN + h).digest()
            while rng and rng[-1][0] == width:
                node = sha256(NODE_DOMAIN + rng.pop()[1] + node).digest()
                width <<= 1
            rng.append((width, node))

    def _range_root(self) -> bytes:
        """Fold the subtree roots right to left: ``H(c0, H(c1, … H(c_k-1, c_k)))``."""
        if not self._range:
            return sha256(b"").digest()
        root = self._range[-1][1]
        for _width, node in reversed(self._range[:-1]):
            root = sha256(NODE_DOMAIN + node + root).digest()
        return root

    # ------------------------------------------------------------ recording

    def _load_blocks(self) -> list[tuple[int, bytes]]:
        cur = self._tree.con.cursor()
        cur.row_factory = None
        rows = cur.execute("SELECT block, size, root FROM txlog_block ORDER BY block").fetchall()
        for expected, (block, _, _) in enumerate(rows):
            if block != expected:
                raise StateTreeError(f"txlog block records are not contiguous at block {expected}")
        return [(size, bytes(root)) for _, size, root in rows]

    def _record(self, size: int) -> tuple[int, bytes]:
        """Record the block that brought the log to ``size`` (the compact range's size)."""
        root = self._range_root()
        if self.backend == BACKEND_SQLITE:
            with self._tree.con:
                self._tree.con.execute("INSERT INTO txlog_block(block, size, root) VALUES (?, ?, ?)",
                                       (len(self._blocks), size, root))
        self._blocks.append((size, root))
        return size, root

    def _record_pending(self) -> None:
        size = self._tree.get_size()
        recorded = self._blocks[-1][0] if self._blocks else 0
        if size < recorded:
            raise StateTreeError(f"txlog has {size} leaves but block records claim {recorded}")
        if size > recorded:
            self._record(size)

    def append_block(self, tx_hashes: Sequence[bytes], block: Optional[int] = None) -> tuple[int, bytes]:
        """Append one block's transaction hashes; return ``(size, root)`` after it.

        ``block`` (0-based block count) makes a replay idempotent: an already logged
        block with identical hashes returns its recorded result.
        """
        hashes = [_check_hash(h) for h in tx_hashes]
        if block is not None:
            if not isinstance(block, int) or block < 0 or block > len(self._blocks):
                raise InvalidInput(f"block {block} is not the next block ({len(self._blocks)})")
            if block < len(self._blocks):
                return self._replayed(block, hashes)
        if hashes:
            if self.backend == BACKEND_SQLITE:
                self._tree.append_entries(hashes)
            else:
                for h in hashes:
                    self._tree.append_entry(h)
            self._extend_range(hashes)
        return self._record(sum(w for w, _n in self._range))

    def _replayed(self, block: int, hashes: list[bytes]) -> tuple[int, bytes]:
        start = self._blocks[block - 1][0] if block else 0
        size, root = self._blocks[block]
        leaf = self._tree.hash_buff
        if size - start != len(hashes) or any(
                self._tree.get_leaf(start + 1 + i) != leaf(h) for i, h in enumerate(hashes)):
            raise TxLogConflict(f"block {block} was logged with different transactions")
        return size, root

    # ---------------------------------------------------------------- reads

    def size(self) -> int:
        """Number of transactions logged."""
        return self._tree.get_size()

    def block_count(self) -> int:
        """Number of blocks logged."""
        return len(self._blocks)

    def block(self, block: int) -> tuple[int, bytes]:
        """``(size, root)`` recorded after ``block``."""
        if not 0 <= block < len(self._blocks):
            raise InvalidInput(f"block {block} is not logged ({len(self._blocks)} blocks)")
        return self._blocks[block]

    def root(self, size: Optional[int] = None) -> bytes:
        """Log root at ``size`` transactions (default: all).

        The root after the last block is read from its record, so a restarted node
        does not rehash the whole log just to report where it is."""
        if self._blocks and size in (None, self._blocks[-1][0]) and \
                self._blocks[-1][0] == self._tree.get_size():
            return self._blocks[-1][1]
        return self._tree.get_root(size)

    def prove_inclusion(self, position: int, size: Optional[int] = None) -> InclusionProof:
        """Proof that the transaction at ``position`` is in the log of ``size`` entries."""
        return self._tree.prove_inclusion(position + 1, size)

    def prove_consistency(self, prior_size: int, later_size: Optional[int] = None) -> ConsistencyProof:
        """Proof that the log at ``later_size`` extends the log at ``prior_size``."""
        return self._tree.prove_consistency(prior_size, later_size)

    def close(self) -> None:
        if self.backend == BACKEND_SQLITE:
            self._tree.close()

    def __enter__(self) -> "TxLog":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def leaf_of(tx_hash: bytes) -> bytes:
    """Log leaf of a transaction hash: ``SHA-256(0x00 || tx_hash)`` (pymerkle's
    second-preimage-protected leaf, which the tests check against the tree)."""
    return sha256(LEAF_DOMAIN + _check_hash(tx_hash)).digest()


def verify_tx_inclusion(tx_hash: bytes, root: bytes, proof: Union[InclusionProof, dict],
                        position: Optional[int] = None, size: Optional[int] = None) -> bool:
    """True iff ``proof`` shows ``tx_hash`` (at ``position`` if given) under log ``root``."""
    try:
        if isinstance(proof, dict):
            proof = InclusionProof.deserialize(proof)
        verify_inclusion(leaf_of(tx_hash), root, proof,
                         index=None if position is None else position + 1, size=size)
        return True
    except InvalidProof:
        return False


def verify_log_consistency(prior_root: bytes, later_root: bytes,
                           proof: Union[ConsistencyProof, dict],
                           prior_size: Optional[int] = None, later_size: Optional[int] = None) -> bool:
    """True iff ``proof`` shows the log with ``later_root`` extends the one with ``prior_root``."""
    try:
        if isinstance(proof, dict):
            proof = ConsistencyProof.deserialize(proof)
        verify_consistency(prior_root, later_root, proof, prior_size=prior_size,
                           later_size=later_size)
        return True
    except InvalidProof:
        return False


def _check_hash(h: bytes) -> bytes:
    if not isinstance(h, (bytes, bytearray)) or len(h) != TX_HASH_BYTES:
        raise InvalidInput(f"transaction hashes must be {TX_HASH_BYTES} bytes")
    return bytes(h)
