"""Versions, resume, pruning, metadata and batch-split independence (DESIGN §5)."""
from __future__ import annotations

import random

import plyvel
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from statetree import StateTree, VersionNotFound, reference_root, verify
from statetree.tree import _P_NODE, _P_ROOT, _P_STALE, _P_VALUE, _decode_node, _decode_root, _node_db_key
from statetree_helpers import db_snapshot, structured_keys

KEYS = structured_keys(11)


def _history(tree: StateTree, versions: int, seed: int = 3) -> list[tuple[int, bytes, dict]]:
    rng = random.Random(seed)
    model: dict[bytes, bytes] = {}
    out = []
    for version in range(1, versions + 1):
        batch = {}
        for key in rng.sample(KEYS, 12):
            batch[key] = None if rng.random() < 0.3 else rng.randbytes(rng.randint(1, 40))
        root = tree.apply(version, batch)
        for k, v in batch.items():
            if v is None:
                model.pop(k, None)
            else:
                model[k] = v
        out.append((version, root, dict(model)))
    return out


def _reachable(db, versions) -> set[bytes]:
    """Node and value records reachable from the roots of ``versions``, by walking them."""
    seen: set[bytes] = set()

    def walk(slot, depth, path_key):
        if slot is None:
            return
        if len(slot) in (4, 5):  # a bucket of leaves, or one leaf
            for leaf in (slot[1] if len(slot) == 4 else (slot,)):
                seen.add(_P_VALUE + leaf[1] + leaf[3].to_bytes(8, "big"))
            return
        db_key = _node_db_key(slot[1], depth, path_key)
        if db_key in seen:
            return
        seen.add(db_key)
        node = _decode_node(db.get(db_key), depth)
        for nib, child in enumerate(node[0]):
            if child is None:
                continue
            child_key = bytearray(path_key)
            byte = depth // 2
            if depth % 2:
                child_key[byte] = (child_key[byte] & 0xF0) | nib
            else:
                child_key[byte] = (nib << 4) | (child_key[byte] & 0x0F)
            walk(child, depth + 1, bytes(child_key))

    for version in versions:
        walk(_decode_root(db.get(_P_ROOT + version.to_bytes(8, "big"))), 0, bytes(32))
    return seen


def test_reopening_resumes_at_the_latest_version(db_path):
    tree = StateTree(db_path, sync=False)
    history = _history(tree, 6)
    tree.close()
    tree = StateTree(db_path)
    try:
        version, root, model = history[-1]
        assert tree.latest_version() == version and tree.root() == root
        for key in KEYS:
            assert tree.get(key) == model.get(key)
        nxt = tree.apply(version + 1, {KEYS[0]: b"after restart"})
        assert nxt == reference_root({**model, KEYS[0]: b"after restart"})
    finally:
        tree.close()


def test_reads_at_unknown_versions_raise(tree):
    with pytest.raises(VersionNotFound):
        tree.get(KEYS[0], 1)
    tree.apply(5, {KEYS[0]: b"x"})
    tree.apply(9, {KEYS[0]: b"y"})
    assert tree.get(KEYS[0], 5) == b"x"
    for missing in (4, 6, 10):
        with pytest.raises(VersionNotFound):
            tree.root(missing)


def test_pruning_keeps_every_retained_version_provable(db_path):
    tree = StateTree(db_path, sync=False)
    history = _history(tree, 12)
    deleted = tree.prune(keep_last=4)
    assert deleted > 0
    tree.close()
    tree = StateTree(db_path, sync=False, cache_nodes=0)
    try:
        assert tree.oldest_version() == 9
        for version, root, model in history[-4:]:
            assert tree.root(version) == root
            for key in KEYS:
                assert tree.get(key, version) == model.get(key)
                assert verify(root, key, model.get(key), tree.prove(key, version))
        for version, _, _ in history[:-4]:
            with pytest.raises(VersionNotFound):
                tree.get(KEYS[0], version)
    finally:
        tree.close()


def test_pruning_frees_every_record_only_older_versions_used(db_path):
    tree = StateTree(db_path, sync=False)
    _history(tree, 15)
    tree.prune(keep_last=3)
    tree.close()
    db = plyvel.DB(db_path)
    try:
        stored = {k for k in db.iterator(include_value=False)
                  if k[:1] in (_P_NODE, _P_VALUE)}
        assert stored == _reachable(db, range(13, 16))
        assert [k for k in db.iterator(prefix=_P_ROOT, include_value=False)] == \
            [_P_ROOT + v.to_bytes(8, "big") for v in range(13, 16)]
        assert all(int.from_bytes(k[1:9], "big") > 13
                   for k in db.iterator(prefix=_P_STALE, include_value=False))
    finally:
        db.close()


def test_pruning_twice_or_with_a_longer_window_deletes_nothing_more(db_path):
    tree = StateTree(db_path, sync=False)
    _history(tree, 8)
    tree.prune(keep_last=2)
    tree.close()
    before = db_snapshot(db_path)
    tree = StateTree(db_path, sync=False)
    assert tree.prune(keep_last=2) == 0
    assert tree.prune(keep_last=5) == 0
    tree.close()
    assert db_snapshot(db_path) == before


def test_extra_meta_is_written_with_the_block_and_can_be_deleted(tree):
    tree.apply(1, {KEYS[0]: b"a"}, extra_meta={b"height": b"\x01", b"log-root": b"r1"})
    assert tree.get_meta(b"height") == b"\x01" and tree.get_meta(b"log-root") == b"r1"
    tree.apply(2, {}, extra_meta={b"height": b"\x02", b"log-root": None})
    assert tree.get_meta(b"height") == b"\x02" and tree.get_meta(b"log-root") is None


def test_an_empty_block_keeps_the_root_and_records_the_version(tree):
    root = tree.apply(1, {KEYS[0]: b"a"})
    assert tree.apply(2, {}) == root
    assert tree.root(1) == tree.root(2) == root
    assert tree.get(KEYS[0], 2) == b"a"


@settings(max_examples=25, deadline=None)
@given(final=st.dictionaries(st.sampled_from(KEYS), st.binary(max_size=16), min_size=1),
       noise=st.dictionaries(st.sampled_from(KEYS), st.one_of(st.none(), st.binary(max_size=16))),
       seed=st.integers(0, 2**32 - 1), parts=st.integers(1, 6))
def test_root_is_independent_of_insertion_order_and_batch_split(tmp_path_factory, final, noise, seed,
                                                                parts):
    one = StateTree(str(tmp_path_factory.mktemp("one")), sync=False)
    many = StateTree(str(tmp_path_factory.mktemp("many")), sync=False)
    try:
        expected = one.apply(1, final)
        assert expected == reference_root(final)
        rng = random.Random(seed)
        # Earlier blocks write noise (other values, deletes, keys absent at the end), then
        # the final values arrive in shuffled order across several blocks.
        version = 1
        many.apply(version, noise)
        doomed = {k: None for k in noise if k not in final}
        items = list(final.items()) + list(doomed.items())
        rng.shuffle(items)
        for i in range(parts):
            chunk = dict(items[i::parts])
            version += 1
            many.apply(version, chunk)
        assert many.root() == expected
    finally:
        one.close()
        many.close()


def test_a_tree_in_a_prefixed_database_leaves_other_prefixes_alone(tmp_path):
    db = plyvel.DB(str(tmp_path / "shared"), create_if_missing=True)
    try:
        db.put(b"consensus/view", b"42")
        tree = StateTree(db.prefixed_db(b"state/"), sync=False)
        root = tree.apply(1, {KEYS[0]: b"a"}, extra_meta={b"height": b"1"})
        tree.close()
        assert db.get(b"consensus/view") == b"42"
        assert all(k.startswith(b"state/") for k in db.iterator(include_value=False)
                   if k != b"consensus/view")
        again = StateTree(db.prefixed_db(b"state/"), sync=False)
        assert again.root() == root and again.get(KEYS[0]) == b"a"
        assert again.get_meta(b"height") == b"1"
    finally:
        db.close()


def test_a_missing_root_record_of_the_latest_version_is_corruption_on_open(db_path):
    from statetree import StateCorruption
    tree = StateTree(db_path, sync=False)
    tree.apply(1, {KEYS[0]: b"a"})
    tree.close()
    db = plyvel.DB(db_path)
    db.delete(_P_ROOT + (1).to_bytes(8, "big"))
    db.close()
    with pytest.raises(StateCorruption):
        StateTree(db_path)
