"""StateTree against a plain dict model (issue 3 property tests, DESIGN §5)."""
from __future__ import annotations

import shutil
import tempfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from statetree import Proof, StateTree, reference_root, verify
from statetree.hashing import EMPTY_HASH
from statetree.proof import KIND_INCLUSION, InvalidProof
from statetree_helpers import structured_keys

KEYS = structured_keys()
key_st = st.one_of(st.sampled_from(KEYS), st.binary(min_size=32, max_size=32))
value_st = st.one_of(st.none(), st.binary(max_size=48))
batches_st = st.lists(st.dictionaries(key_st, value_st, max_size=24), min_size=1, max_size=7)
SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _fresh_tree():
    path = tempfile.mkdtemp(prefix="statetree-model-")
    return StateTree(path, sync=False), path


def _decoded_verify(root, key, value, encoded) -> bool:
    """``verify`` through the Proof object path, to cross-check the one-pass decoder."""
    try:
        return Proof.from_bytes(encoded).compute_root(key, value) == root
    except InvalidProof:
        return False


def _flip(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


@SETTINGS
@given(batches=batches_st, data=st.data())
def test_random_batches_match_the_dict_model_and_every_proof_checks(batches, data):
    tree, path = _fresh_tree()
    model: dict[bytes, bytes] = {}
    roots = []
    try:
        for version, batch in enumerate(batches, start=1):
            root = tree.apply(version, batch)
            for k, v in batch.items():
                if v is None:
                    model.pop(k, None)
                else:
                    model[k] = v
            assert root == reference_root(model)
            assert tree.root() == root and tree.latest_version() == version
            roots.append(root)
            touched = set(KEYS) | set(batch)
            for key in touched:
                value = model.get(key)
                assert tree.get(key) == value
                encoded = tree.prove(key).to_bytes()
                assert verify(root, key, value, encoded)
                assert Proof.from_bytes(encoded).to_bytes() == encoded
            # tampering: a few proofs per version, chosen by hypothesis
            for key in data.draw(st.lists(st.sampled_from(sorted(touched)), min_size=1, max_size=3)):
                value = model.get(key)
                encoded = tree.prove(key).to_bytes()
                bit = data.draw(st.integers(0, len(encoded) * 8 - 1))
                tampered = _flip(encoded, bit)
                assert not verify(root, key, value, tampered)
                assert not _decoded_verify(root, key, value, tampered)
                assert _decoded_verify(root, key, value, encoded)
                assert not verify(root, key, (value or b"") + b"!", encoded)
                if value is not None:
                    assert not verify(root, key, None, encoded)
                    other = data.draw(st.sampled_from(KEYS).filter(lambda k: k != key))
                    assert not verify(root, other, value, encoded)
                elif model:
                    present = data.draw(st.sampled_from(sorted(model)))
                    assert not verify(root, present, None, encoded)
                wrong_root = _flip(root, data.draw(st.integers(0, 255)))
                assert not verify(wrong_root, key, value, encoded)
    finally:
        tree.close()
        shutil.rmtree(path, ignore_errors=True)


@SETTINGS
@given(batches=batches_st)
def test_every_retained_version_reads_and_proves_its_own_contents(batches):
    tree, path = _fresh_tree()
    model: dict[bytes, bytes] = {}
    history = []
    try:
        for version, batch in enumerate(batches, start=1):
            root = tree.apply(version, batch)
            for k, v in batch.items():
                if v is None:
                    model.pop(k, None)
                else:
                    model[k] = v
            history.append((version, root, dict(model)))
        tree.close()
        tree = StateTree(path, sync=False, cache_nodes=0)  # reopen: nothing from memory
        assert tree.latest_version() == len(batches)
        for version, root, snapshot in history:
            assert tree.root(version) == root
            for key in KEYS:
                assert tree.get(key, version) == snapshot.get(key)
                assert verify(root, key, snapshot.get(key), tree.prove(key, version))
    finally:
        tree.close()
        shutil.rmtree(path, ignore_errors=True)


def test_inclusion_proof_of_the_only_key_is_empty_and_root_is_its_leaf(tree):
    key = bytes(range(32))
    root = tree.apply(1, {key: b"v"})
    proof = tree.prove(key)
    assert proof.kind == KIND_INCLUSION and proof.siblings == ()
    assert verify(root, key, b"v", proof)


def test_empty_tree_has_the_empty_root_and_proves_absence(tree):
    assert tree.root() == EMPTY_HASH
    assert tree.latest_version() is None
    key = b"\x11" * 32
    assert tree.get(key) is None
    assert verify(EMPTY_HASH, key, None, tree.prove(key))
    root = tree.apply(0, {})
    assert root == EMPTY_HASH and tree.latest_version() == 0


def test_deleting_every_key_returns_to_the_empty_root(tree):
    tree.apply(1, {k: k for k in KEYS})
    assert tree.apply(2, {k: None for k in KEYS}) == EMPTY_HASH
    assert all(tree.get(k) is None for k in KEYS)


def test_rewriting_a_value_with_itself_changes_nothing(tree):
    root1 = tree.apply(1, {k: b"same" for k in KEYS})
    absent = b"\x42" * 32
    assert absent not in KEYS
    assert tree.apply(2, {KEYS[0]: b"same", KEYS[1]: None, absent: None}) != root1
    root3 = tree.apply(3, {KEYS[1]: b"same"})
    assert root3 == root1
    assert tree.apply(4, {k: b"same" for k in KEYS}) == root1


def test_growing_and_shrinking_a_crowded_subtree_keeps_the_reference_root(tree):
    # Keys sharing 12 bits land in one slot: 1 leaf, then a bucket, then a node of its own.
    crowd = [bytes([0xAB, 0xC0 | i]) + bytes([i * 7 % 256]) * 30 for i in range(12)]
    model: dict[bytes, bytes] = {b"\x00" * 32: b"elsewhere"}
    version = 0
    tree.apply(version, dict(model))
    for key in crowd + crowd[::-1]:
        version += 1
        if key in model:
            del model[key]
            root = tree.apply(version, {key: None})
        else:
            model[key] = key[:4]
            root = tree.apply(version, {key: key[:4]})
        assert root == reference_root(model)
        for k in crowd:
            assert verify(root, k, model.get(k), tree.prove(k))
