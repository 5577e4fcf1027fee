"""Bad input is refused with nothing written; damage on disk is reported (issue 3)."""
from __future__ import annotations

import plyvel
import pytest

from statetree import (MAX_VALUE_BYTES, InvalidInput, StateCorruption, StateTree, verify)
from statetree.proof import InvalidProof, Proof
from statetree.tree import _P_NODE, _P_VALUE
from statetree_helpers import db_snapshot, structured_keys

KEYS = structured_keys(5)
GOOD = {KEYS[0]: b"a", KEYS[1]: b"b"}


@pytest.fixture
def seeded(db_path):
    """A tree at version 3 with some content, closed; yields its path."""
    tree = StateTree(db_path, sync=False)
    tree.apply(1, {k: k[:8] for k in KEYS})
    tree.apply(2, {KEYS[2]: None})
    tree.apply(3, {KEYS[3]: b"three"})
    tree.close()
    return db_path


@pytest.mark.parametrize("version, updates, extra", [
    (4, {b"short": b"v"}, None),
    (4, {KEYS[0] + b"\x00": b"v"}, None),
    (4, {"not-bytes" * 4: b"v"}, None),
    (4, {KEYS[0]: b"x" * (MAX_VALUE_BYTES + 1)}, None),
    (4, {KEYS[0]: "text"}, None),
    (4, {KEYS[0]: 7}, None),
    (4, [(KEYS[0], b"v")], None),
    (3, GOOD, None),
    (2, GOOD, None),
    (-1, GOOD, None),
    (2**64, GOOD, None),
    ("4", GOOD, None),
    (True, GOOD, None),
    (4, GOOD, {b"": b"x"}),
    (4, GOOD, {b"k": "text"}),
    (4, {**GOOD, b"bad": b"v"}, None),
], ids=["short-key", "long-key", "str-key", "oversized-value", "str-value", "int-value",
        "not-a-mapping", "same-version", "older-version", "negative-version", "version-2^64",
        "str-version", "bool-version", "empty-meta-key", "str-meta-value", "one-bad-key-in-batch"])
def test_bad_apply_input_raises_and_writes_nothing(seeded, version, updates, extra):
    before = db_snapshot(seeded)
    tree = StateTree(seeded, sync=False)
    root = tree.root()
    with pytest.raises(InvalidInput):
        tree.apply(version, updates, extra_meta=extra)
    assert tree.latest_version() == 3 and tree.root() == root
    tree.close()
    assert db_snapshot(seeded) == before


def test_a_value_of_exactly_the_maximum_size_is_accepted(tree):
    big = b"\x07" * MAX_VALUE_BYTES
    tree.apply(1, {KEYS[0]: big})
    assert tree.get(KEYS[0]) == big


@pytest.mark.parametrize("key", [b"", b"\x00" * 31, b"\x00" * 33, "x" * 32, None])
def test_reads_and_proofs_refuse_malformed_keys(tree, key):
    tree.apply(1, GOOD)
    with pytest.raises(InvalidInput):
        tree.get(key)
    with pytest.raises(InvalidInput):
        tree.prove(key)


def test_a_proof_checked_against_the_wrong_root_raises_a_clear_error(tree):
    root1 = tree.apply(1, GOOD)
    tree.apply(2, {KEYS[0]: b"changed"})
    proof = tree.prove(KEYS[0])
    with pytest.raises(InvalidProof, match="root"):
        proof.check(root1, KEYS[0], b"changed")
    assert not verify(root1, KEYS[0], b"changed", proof)


@pytest.mark.parametrize("root, key", [(b"\x00" * 31, KEYS[0]), (b"\x00" * 32, b"\x00" * 31)])
def test_verify_refuses_malformed_root_or_key(root, key):
    with pytest.raises(InvalidInput):
        verify(root, key, None, Proof(1, ()).to_bytes())


@pytest.mark.parametrize("raw", [b"", b"\x01", b"\x02\x00\x00\x00", b"\x01\x07\x00\x00",
                                 b"\x01\x00\x01\x01", b"\x01\x00\x00\x08\x7f",
                                 b"\x01\x00\x00\x01" + b"\x80" + b"\x00" * 32,
                                 b"\x01\x00\x00\x01" + b"\x81" + b"\x01" * 32,
                                 b"\x01\x00\x00\x00" + b"extra"])
def test_malformed_proof_bytes_never_verify(raw):
    with pytest.raises(InvalidProof):
        Proof.from_bytes(raw)
    assert not verify(b"\x00" * 32, KEYS[0], None, raw)


def _first_key(path: str, prefix: bytes) -> bytes:
    db = plyvel.DB(path)
    try:
        return max(db.iterator(prefix=prefix, include_value=False))  # newest version
    finally:
        db.close()


def _edit(path: str, key: bytes, value: bytes | None) -> None:
    db = plyvel.DB(path)
    try:
        if value is None:
            db.delete(key)
        else:
            db.put(key, value)
    finally:
        db.close()


def _read_everything(path: str) -> None:
    tree = StateTree(path, sync=False, cache_nodes=0)
    try:
        for key in KEYS:
            tree.get(key)
            tree.prove(key)
    finally:
        tree.close()


def test_a_missing_node_is_reported_with_its_key_and_version(seeded):
    node_key = _first_key(seeded, _P_NODE)
    _edit(seeded, node_key, None)
    with pytest.raises(StateCorruption) as err:
        _read_everything(seeded)
    assert err.value.db_key == node_key and err.value.version == 3


@pytest.mark.parametrize("damage", ["flip-hash-byte", "truncate", "kind-byte"])
def test_a_damaged_node_is_reported_not_read_as_absent(seeded, damage):
    node_key = _first_key(seeded, _P_NODE)
    db = plyvel.DB(seeded)
    raw = bytearray(db.get(node_key))
    db.close()
    if damage == "flip-hash-byte":
        raw[-9] ^= 0x01
    elif damage == "truncate":
        raw = raw[:-1]
    else:
        raw[0] = 9
    _edit(seeded, node_key, bytes(raw))
    with pytest.raises(StateCorruption) as err:
        _read_everything(seeded)
    assert err.value.db_key == node_key


@pytest.mark.parametrize("damage", [None, b"tampered"])
def test_a_missing_or_altered_value_is_reported(seeded, damage):
    tree = StateTree(seeded, sync=False)
    tree.close()
    value_key = _P_VALUE + KEYS[3] + (3).to_bytes(8, "big")
    _edit(seeded, value_key, damage)
    tree = StateTree(seeded, sync=False)
    try:
        with pytest.raises(StateCorruption) as err:
            tree.get(KEYS[3])
        assert err.value.db_key == value_key
        assert tree.get(KEYS[0]) == KEYS[0][:8]
    finally:
        tree.close()


def test_check_proof_says_why_a_proof_fails(tree):
    from statetree import check_proof
    root = tree.apply(1, GOOD)
    encoded = tree.prove(KEYS[0]).to_bytes()
    check_proof(root, KEYS[0], b"a", encoded)  # valid: no exception
    with pytest.raises(InvalidProof, match="absent value"):
        check_proof(root, KEYS[0], None, encoded)
    with pytest.raises(InvalidProof, match="root"):
        check_proof(root, KEYS[0], b"b", encoded)
    with pytest.raises(InvalidProof, match="length"):
        check_proof(root, KEYS[0], b"a", encoded + b"\x00")
