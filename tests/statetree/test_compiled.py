"""The compiled core (``statetree/_core.pyx``) against independent statements of the rules.

* its SHA-256 (x86 SHA extensions and the portable C code) against ``hashlib``;
* bucket hashing against ``hashing``'s reference subtree;
* random batches of inserts, updates and deletes on clustered keys (buckets fill, split
  into nodes and merge back into buckets and leaves) against ``hashing.reference_root``
  and against proofs built from the binary definition alone (the bytes the pure-Python
  pass produced, which the committed vectors pin), both from the node cache and from
  nodes decoded from disk;
* node encoding round-trips;
* the compiled proof verifier against ``Proof.from_bytes(...).compute_root(...)`` on real,
  tampered and random proofs.
"""
from __future__ import annotations

import hashlib
import random
import shutil
import tempfile

import plyvel
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from statetree import Proof, StateTree, _core, reference_root, verify
from statetree import proof as proof_mod
from statetree import tree as tree_mod
from statetree.hashing import _reference_subtree, key_bit
from statetree.proof import KIND_ABSENT_EMPTY, KIND_ABSENT_OTHER_LEAF, KIND_INCLUSION, InvalidProof
from statetree_helpers import structured_keys

SETTINGS = settings(max_examples=80, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def test_the_tree_runs_the_compiled_pass():
    assert _core.__file__.endswith((".so", ".pyd"))
    assert tree_mod._BlockBuilder is _core.BlockBuilder
    assert tree_mod._decode_node is _core.decode_node
    assert proof_mod._verify_encoded is _core.verify_encoded
    assert tree_mod.BUCKET_MAX == 4


# ------------------------------------------------------------------ SHA-256

@pytest.fixture(params=[True, False], ids=["sha-extensions", "portable"])
def sha_mode(request):
    used = _core.select_sha256(request.param)
    if request.param and not used:
        pytest.skip("no x86 SHA extensions on this CPU")
    yield used
    _core.select_sha256(True)


def test_sha256_matches_hashlib_on_every_padding_boundary(sha_mode):
    rng = random.Random(11)
    for n in list(range(0, 260)) + [447, 448, 511, 512, 1000, 4096, 65536]:
        data = rng.randbytes(n)
        assert _core.sha256_digest(data) == hashlib.sha256(data).digest(), n


@given(data=st.binary(max_size=2000))
@settings(max_examples=300, deadline=None)
def test_sha256_matches_hashlib_on_random_inputs(data):
    for mode in (True, False):
        _core.select_sha256(mode)
        assert _core.sha256_digest(data) == hashlib.sha256(data).digest()
    _core.select_sha256(True)


# ------------------------------------------------------------------ references

def reference_proof(model: dict, key: bytes) -> bytes:
    """Proof bytes for ``key`` from the binary definition alone (README, proof format)."""
    items = sorted(model.items())
    siblings = []
    depth = 0
    while True:
        if not items:
            return Proof(KIND_ABSENT_EMPTY, tuple(siblings)).to_bytes()
        if len(items) == 1:
            k, v = items[0]
            if k == key:
                return Proof(KIND_INCLUSION, tuple(siblings)).to_bytes()
            return Proof(KIND_ABSENT_OTHER_LEAF, tuple(siblings), k,
                         hashlib.sha256(v).digest()).to_bytes()
        bit = key_bit(key, depth)
        own = [kv for kv in items if key_bit(kv[0], depth) == bit]
        other = [kv for kv in items if key_bit(kv[0], depth) != bit]
        siblings.append(_reference_subtree(other, depth + 1))
        items = own
        depth += 1


def _clustered_keys(seed: int = 3) -> list[bytes]:
    """Keys in tight clusters (shared prefixes of 0..31 bytes and of odd nibble counts), so
    that slots hold 1..BUCKET_MAX+2 keys at many depths."""
    rng = random.Random(seed)
    keys = list(structured_keys())
    for _ in range(6):
        base = rng.randbytes(32)
        for shared in (1, 2, 4, 8, 16, 31):
            for _ in range(3):
                k = bytearray(base[:shared] + rng.randbytes(32 - shared))
                keys.append(bytes(k))
        for nib in (1, 3, 5):  # share an odd number of nibbles
            for _ in range(3):
                k = bytearray(rng.randbytes(32))
                k[:nib // 2] = base[:nib // 2]
                k[nib // 2] = (base[nib // 2] & 0xF0) | (k[nib // 2] & 0x0F)
                keys.append(bytes(k))
    return sorted(set(keys))


KEYS = _clustered_keys()
key_st = st.one_of(st.sampled_from(KEYS), st.binary(min_size=32, max_size=32))
value_st = st.one_of(st.none(), st.binary(max_size=40))
batches_st = st.lists(st.dictionaries(key_st, value_st, max_size=40), min_size=1, max_size=8)


@SETTINGS
@given(leaves=st.lists(st.tuples(st.binary(min_size=31, max_size=31), st.binary(max_size=8)),
                       min_size=2, max_size=4, unique_by=lambda kv: kv[0]),
       prefix=st.binary(min_size=1, max_size=1), shared_bits=st.integers(0, 8))
def test_bucket_hash_is_the_reference_subtree(leaves, prefix, shared_bits):
    # keys share their first ``shared_bits`` bits, as a bucket's keys share its position
    mask = (0xFF00 >> shared_bits) & 0xFF
    keys = [bytes([(prefix[0] & mask) | (k[0] & ~mask & 0xFF)]) + k for k, _ in leaves]
    items = {k: v for k, (_, v) in zip(keys, leaves)}
    if len(items) < 2:
        return
    slots = [_core.leaf_slot(k, hashlib.sha256(v).digest(), 7) for k, v in items.items()]
    bucket = _core.make_bucket(slots, shared_bits)
    assert bucket[0] == _reference_subtree(sorted(items.items()), shared_bits)
    assert bucket[2] == len(slots) and bucket[1] == tuple(slots)


# ------------------------------------------------------------------ differential

def _check_version(tree: StateTree, model: dict, probe, version=None) -> None:
    assert tree.root(version) == reference_root(model)
    for key in probe:
        assert tree.prove(key, version).to_bytes() == reference_proof(model, key)
        assert tree.get(key, version) == model.get(key)


@SETTINGS
@given(batches=batches_st, data=st.data())
def test_random_batches_give_the_reference_roots_and_proofs(batches, data):
    path = tempfile.mkdtemp(prefix="statetree-compiled-")
    try:
        tree = StateTree(path, sync=False)
        model: dict[bytes, bytes] = {}
        history = []
        for version, batch in enumerate(batches, start=1):
            root = tree.apply(version, batch)
            for k, v in batch.items():
                if v is None:
                    model.pop(k, None)
                else:
                    model[k] = v
            assert root == reference_root(model)
            probe = set(batch) | set(data.draw(st.lists(st.sampled_from(KEYS), max_size=12)))
            _check_version(tree, model, probe)
            history.append((version, dict(model), probe))
        tree.close()
        # every version again, from nodes decoded from disk (no cache)
        tree = StateTree(path, sync=False, cache_nodes=0)
        for version, snapshot, probe in history:
            _check_version(tree, snapshot, probe, version)
        tree.close()
    finally:
        shutil.rmtree(path, ignore_errors=True)


def test_stored_nodes_round_trip_through_decode_and_encode(tmp_path):
    rng = random.Random(5)
    tree = StateTree(str(tmp_path / "s"), sync=False)
    for version in range(1, 6):
        tree.apply(version, {rng.choice(KEYS) if rng.random() < 0.5 else rng.randbytes(32):
                             rng.choice([None, rng.randbytes(20)]) for _ in range(300)})
    tree.close()
    db = plyvel.DB(str(tmp_path / "s"))
    try:
        nodes = [(k, raw) for k, raw in db.iterator(prefix=tree_mod._P_NODE)]
        assert len(nodes) > 10
        for db_key, raw in nodes:
            node = _core.decode_node(raw, db_key[9])
            assert _core.encode_node(node) == raw
            assert _core.make_node(list(node[0])) == node
    finally:
        db.close()


def test_decode_rejects_malformed_nodes():
    leaf = _core.leaf_slot(bytes(range(32)), bytes(32), 1)
    node = _core.make_node([leaf] + [None] * 15)
    raw = _core.encode_node(node)
    assert _core.decode_node(raw, 0) == node
    for bad in (raw[:10], raw[:-1], raw + b"\x00", bytes([9]) + raw[1:],
                bytes([3]) + raw[1:16] + b"\x05" + raw[16:],
                bytes([3]) + raw[1:16] + b"\x02" + raw[16:] + raw[16:]):
        with pytest.raises(ValueError):
            _core.decode_node(bad, 0)


# ------------------------------------------------------------------ verification

def _decoded_verify(root, key, value, encoded) -> bool:
    """The readable path: ``Proof.from_bytes(...).compute_root(...)``."""
    try:
        return Proof.from_bytes(encoded).compute_root(key, value) == root
    except InvalidProof:
        return False


def _mutations(rng: random.Random, proof: bytes):
    yield proof
    for bit in range(min(len(proof) * 8, 96)):  # header, bitmap and the first sibling
        out = bytearray(proof)
        out[bit // 8] ^= 0x80 >> (bit % 8)
        yield bytes(out)
    for _ in range(24):
        out = bytearray(proof)
        out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
        yield bytes(out)
    yield proof[:-1]
    yield proof + b"\x00"
    yield proof + bytes(32)
    yield proof[:4]
    yield b""
    for kind in range(4):
        yield proof[:1] + bytes([kind]) + proof[2:]
    if len(proof) > 36:
        yield proof[:-32] + bytes(32)  # an explicit empty sibling


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(batch=st.dictionaries(key_st, st.binary(max_size=40), min_size=1, max_size=60),
       seed=st.integers(0, 2**32))
def test_compiled_verifier_agrees_with_the_readable_one(batch, seed):
    rng = random.Random(seed)
    path = tempfile.mkdtemp(prefix="statetree-verify-")
    try:
        tree = StateTree(path, sync=False)
        root = tree.apply(1, batch)
        other_root = hashlib.sha256(root).digest()
        probe = list(batch)[:6] + rng.sample(KEYS, 6) + [rng.randbytes(32)]
        for key in probe:
            value = batch.get(key)
            proof = tree.prove(key).to_bytes()
            assert verify(root, key, value, proof)
            wrong_value = b"x" if value is None else None
            for candidate in _mutations(rng, proof):
                for r, k, v in ((root, key, value), (root, key, wrong_value),
                                (other_root, key, value), (root, rng.choice(KEYS), value)):
                    assert verify(r, k, v, candidate) == _decoded_verify(r, k, v, candidate)
        tree.close()
    finally:
        shutil.rmtree(path, ignore_errors=True)


@given(data=st.binary(max_size=200), key=st.binary(min_size=32, max_size=32),
       value=st.one_of(st.none(), st.binary(max_size=8)))
@settings(max_examples=300, deadline=None)
def test_compiled_verifier_rejects_random_bytes_like_the_readable_one(data, key, value):
    root = hashlib.sha256(data).digest()
    assert verify(root, key, value, data) == _decoded_verify(root, key, value, data)
    if len(data) >= 4:  # a plausible header on random bytes
        framed = bytes([1, data[0] % 3, 0, data[1] % 40]) + data[4:]
        assert verify(root, key, value, framed) == _decoded_verify(root, key, value, framed)
