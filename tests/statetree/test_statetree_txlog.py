"""Transaction log on pymerkle: (size, root) per block, proofs, resume (DESIGN §5, §8)."""
from __future__ import annotations

import hashlib
import random
import sqlite3

import pytest

from statetree import InvalidInput
from statetree.txlog import (TxLog, TxLogConflict, leaf_of, verify_log_consistency,
                             verify_tx_inclusion)


def _txs(block: int, n: int) -> list[bytes]:
    return [hashlib.sha256(f"{block}/{i}".encode()).digest() for i in range(n)]


@pytest.fixture(params=["sqlite", "memory"])
def log(request, tmp_path):
    lg = TxLog(str(tmp_path / "log.db") if request.param == "sqlite" else None, backend=request.param)
    yield lg
    lg.close()


def _rfc9162_root(leaves: list[bytes]) -> bytes:
    """Independent RFC 9162 Merkle tree hash (largest power of two < n splits)."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + _rfc9162_root(leaves[:k]) + _rfc9162_root(leaves[k:])).digest()


def test_each_block_returns_size_and_the_rfc9162_root(log):
    leaves = []
    for block, n in enumerate([3, 0, 5, 1, 8]):
        txs = _txs(block, n)
        leaves += [leaf_of(t) for t in txs]
        size, root = log.append_block(txs)
        assert size == len(leaves) and root == _rfc9162_root(leaves)
        assert log.block(block) == (size, root)
    assert log.block_count() == 5


def test_inclusion_and_consistency_proofs_verify_and_reject_tampering(log):
    history = [log.append_block(_txs(b, 7)) for b in range(4)]
    size, root = history[-1]
    all_txs = [t for b in range(4) for t in _txs(b, 7)]
    for position in (0, 6, 13, 27):
        proof = log.prove_inclusion(position)
        assert verify_tx_inclusion(all_txs[position], root, proof, position=position, size=size)
        assert verify_tx_inclusion(all_txs[position], root, proof.serialize())
        assert not verify_tx_inclusion(all_txs[position + 1 if position < 27 else 0], root, proof)
        assert not verify_tx_inclusion(all_txs[position], history[0][1], proof)
    for prior_size, prior_root in history[:-1]:
        proof = log.prove_consistency(prior_size, size)
        assert verify_log_consistency(prior_root, root, proof, prior_size, size)
        assert not verify_log_consistency(root, prior_root, proof)
        assert not verify_log_consistency(prior_root, history[0][1] if prior_size != 7 else history[1][1],
                                          proof)


def test_a_reopened_log_resumes_where_it_stopped(tmp_path):
    path = str(tmp_path / "log.db")
    with TxLog(path) as log:
        log.append_block(_txs(0, 4))
        size, root = log.append_block(_txs(1, 6))
    with TxLog(path) as log:
        assert log.size() == size == 10 and log.root() == root and log.block_count() == 2
        size2, root2 = log.append_block(_txs(2, 2))
    with TxLog(path) as log:
        assert (log.size(), log.root()) == (size2, root2) == (12, log.root(12))
        assert verify_log_consistency(root, root2, log.prove_consistency(10))


def test_leaves_logged_without_their_block_record_are_recorded_on_open(tmp_path):
    path = str(tmp_path / "log.db")
    with TxLog(path) as log:
        log.append_block(_txs(0, 3))
        log._tree.append_entries(_txs(1, 4))  # crash between leaves and block record
    with TxLog(path) as log:
        assert log.block_count() == 2 and log.block(1)[0] == 7
        assert log.block(1)[1] == _rfc9162_root([leaf_of(t) for t in _txs(0, 3) + _txs(1, 4)])
        # and the compact range rebuilt on open carries on from there
        size, root = log.append_block(_txs(2, 5), block=2)
        assert size == 12 and root == log._tree.get_root(12)
        # the executor replays block 1 after the crash: same hashes -> same result
        assert log.append_block(_txs(1, 4), block=1) == log.block(1)


def test_replaying_a_logged_block_is_idempotent_and_a_different_one_conflicts(log):
    first = log.append_block(_txs(0, 3), block=0)
    second = log.append_block(_txs(1, 2), block=1)
    assert log.append_block(_txs(0, 3), block=0) == first
    assert log.append_block(_txs(1, 2), block=1) == second
    with pytest.raises(TxLogConflict):
        log.append_block(_txs(9, 3), block=0)
    with pytest.raises(TxLogConflict):
        log.append_block(_txs(1, 3), block=1)
    with pytest.raises(InvalidInput):
        log.append_block(_txs(3, 1), block=3)
    assert log.size() == 5 and log.block_count() == 2


@pytest.mark.parametrize("bad", [[b"short"], [b"x" * 33], ["a" * 32]])
def test_malformed_transaction_hashes_are_refused_and_nothing_is_logged(log, bad):
    log.append_block(_txs(0, 2))
    with pytest.raises(InvalidInput):
        log.append_block(_txs(1, 2) + bad)
    assert log.size() == 2 and log.block_count() == 1


def test_the_sqlite_leaf_table_stays_append_only(tmp_path):
    path = str(tmp_path / "log.db")
    with TxLog(path) as log:
        log.append_block(_txs(0, 2))
    con = sqlite3.connect(path)
    with pytest.raises(sqlite3.DatabaseError):
        con.execute("DELETE FROM leaf")
    con.close()


@pytest.mark.parametrize("backend", ["sqlite", "memory"])
def test_the_compact_range_root_is_pymerkles_root_at_every_block_and_after_reopening(tmp_path, backend):
    """The block root comes from the log's compact range; pymerkle's own root over its stored
    leaves must agree at every size (block sizes cross every power-of-two boundary)."""
    rng = random.Random(7)
    path = tmp_path / "log.sqlite"
    log = TxLog(path if backend == "sqlite" else None, backend=backend)
    leaves = []
    for block in range(40):
        if backend == "sqlite" and block in (13, 29):
            log.close()
            log = TxLog(path)
        txs = _txs(block, rng.choice([0, 1, 2, 3, 7, 8, 9, 31, 64, 65, 200]))
        leaves += [leaf_of(t) for t in txs]
        size, root = log.append_block(txs, block=block)
        assert size == len(leaves) == log.size()
        assert root == log._tree.get_root(size)
        if leaves:
            assert root == _rfc9162_root(leaves)
    log.close()
