"""Versioned sparse Merkle tree on LevelDB (DESIGN §5; hashing rules in ``hashing.py``).

Storage layout (a Jellyfish-style radix-16 tree):

* The logical binary tree is cut into 16-ary *nodes*, each covering 4 bit levels.
  A node is stored once per version that changed it, under
  ``b"n" + version(u64) + nibble_depth(u8) + nibble_prefix``; nodes are never
  overwritten, so every retained version can be read and proven.
* A node holds up to 16 child slots.  A slot is empty, an *internal* pointer
  ``(hash, version)`` to the node one nibble deeper, or an inline *leaf*
  ``(key, value_hash, value_version)`` -- a leaf is kept in the highest node whose
  slot it is alone in, which is what makes the 16-ary layout hash exactly like the
  binary shortcut-leaf tree.
* Values live beside the tree under ``b"v" + key + version``; leaves only carry the
  value's hash and the version that wrote it, so a large value (a slab page) is not
  copied when the leaf above it moves.
* ``b"r" + version`` holds the root slot of each applied version, ``b"s" +
  version`` lists the records that version made unreachable (pruning), and
  ``b"m..."`` / ``b"x..."`` hold tree metadata and the caller's extra metadata.

``apply`` computes every changed node once per block (one recursive pass over the
sorted updates) and writes nodes, values, root, stale index and metadata in **one**
LevelDB write batch, so a crash leaves the previous version or the new one.
"""
from __future__ import annotations

import gc
import os
import struct
from hashlib import sha256
from itertools import islice
from typing import Mapping, Optional, Union

import plyvel

from . import _core
from ._core import BlockBuilder as _BlockBuilder
from ._core import decode_bucket as _decode_bucket
from ._core import decode_node as _decode_node
from ._core import leaf_slot as _leaf_slot
from .errors import InvalidInput, StateCorruption, VersionNotFound
from .hashing import EMPTY_HASH, KEY_BYTES
from .proof import Proof

MAX_VALUE_BYTES = 64 * 1024
MAX_VERSION = (1 << 64) - 1
DEFAULT_CACHE_NODES = 200_000
PRUNE_BATCH_RECORDS = 16
STORAGE_FORMAT = b"\x01"
# LevelDB options when the tree opens its own database: a block writes ~1-2 MB, so a
# 32 MiB memtable flushes every ~20 blocks instead of every 2-3, and a 64 MiB block
# cache keeps recently written nodes readable without decompressing SST blocks.
LEVELDB_WRITE_BUFFER_BYTES = 32 * 1024 * 1024
LEVELDB_BLOCK_CACHE_BYTES = 64 * 1024 * 1024

RADIX = 16
_LEVELS = 32  # heap-ordered binary levels inside a node: 1 root, 16..31 slots
_SLOT_BASE = 16

_P_NODE = b"n"
_P_VALUE = b"v"
_P_ROOT = b"r"
_P_STALE = b"s"
_P_EXTRA = b"x"
_M_LATEST = b"mlatest"
_M_OLDEST = b"moldest"
_M_FORMAT = b"mformat"

_ROOT_EMPTY = 0
_ROOT_LEAF = 1
_ROOT_INTERNAL = 2
_ROOT_BUCKET = 3

_K_EMPTY = 0
_K_LEAF = 1
_K_INTERNAL = 2
_K_BUCKET = 3  # slot cells only; hashes like _K_INTERNAL (two or more keys below)
# slot kind by tuple length: internal (3), bucket (4), leaf (5)
_SLOT_KIND = (None, None, None, _K_INTERNAL, _K_BUCKET, _K_LEAF)

# A slot whose subtree holds 2..BUCKET_MAX keys keeps them inline as a *bucket* instead
# of pointing to a node of its own: at 100 000 keys most bottom slots hold 1-3 keys,
# and a node per pair of keys cost a record, a rewrite and a stale entry per update.
BUCKET_MAX = _core.BUCKET_MAX  # 4

_U64 = 8


_pack_u64 = struct.Struct(">Q").pack


def _u64(n: int) -> bytes:
    return _pack_u64(n)


def _node_db_key(version: int, depth: int, key: bytes) -> bytes:
    """DB key of the node at nibble ``depth`` on ``key``'s path written at ``version``."""
    return _P_NODE + _pack_u64(version) + _node_path(depth, key)


def _node_path(depth: int, key: bytes) -> bytes:
    """``u8 depth || nibble prefix`` (odd depth: low nibble of the last byte zeroed)."""
    prefix = key[:(depth + 1) >> 1]
    if depth & 1:
        prefix = prefix[:-1] + bytes((prefix[-1] & 0xF0,))
    return bytes((depth,)) + prefix


def _internal_slot(h: bytes, version: int) -> tuple:
    """Internal slot ``(hash, version, encoding)``."""
    return (h, version, h + _pack_u64(version))


# A decoded 16-ary node is a plain tuple ``(slots, hashes, kinds)``:
#
# * ``slots``: 16 entries, ``None``, ``(hash, version, enc)`` for an internal child or
#   ``(leaf_hash, key, value_hash, value_version, enc)`` for a leaf; ``enc`` is the
#   slot's stored form, kept so that re-encoding a node is one join;
# * ``hashes``: the 31 binary hashes inside the node, heap-ordered (1 = node top,
#   16..31 = slots) in one flat ``bytearray`` of 32-byte cells, so siblings
#   ``2i, 2i+1`` are one 64-byte slice;
# * ``kinds``: per cell empty / lone leaf / anything else.
#
# Tuples of bytes, ints and bytearrays are untracked by the cyclic garbage collector,
# so a large node cache costs no GC time (measured: GC passes over a cache of node
# objects slowed blocks and proof checks by 1.5-2x).
_Node = tuple
_HASHES = 1
_KINDS = 2


def _cell(node: _Node, i: int) -> bytes:
    """Hash of heap cell ``i`` of ``node``."""
    return bytes(node[_HASHES][i << 5:(i + 1) << 5])


def _encode_root(slot) -> bytes:
    if slot is None:
        return bytes((_ROOT_EMPTY,))
    if len(slot) == 5:
        return bytes((_ROOT_LEAF,)) + slot[-1]
    if len(slot) == 4:
        return bytes((_ROOT_BUCKET,)) + slot[-1]
    return bytes((_ROOT_INTERNAL,)) + slot[-1]


def _decode_root(raw: bytes):
    kind = raw[0]
    if kind == _ROOT_EMPTY and len(raw) == 1:
        return None
    if kind == _ROOT_LEAF and len(raw) == 1 + 72:
        return _leaf_slot(raw[1:33], raw[33:65], int.from_bytes(raw[65:73], "big"))
    if kind == _ROOT_INTERNAL and len(raw) == 1 + 40:
        return _internal_slot(raw[1:33], int.from_bytes(raw[33:41], "big"))
    if kind == _ROOT_BUCKET:
        slot, end = _decode_bucket(raw, 1, 0)
        if end == len(raw):
            return slot
    raise ValueError("bad root record")


def _slot_hash(slot) -> bytes:
    return EMPTY_HASH if slot is None else slot[0]


DbLike = Union[plyvel.DB, "plyvel._plyvel.PrefixedDB"]


class StateTree:
    """Authenticated key/value state, one version per block (DESIGN §5).

    ``StateTree(path)`` opens (creating if needed) a LevelDB directory and owns it;
    ``StateTree(db)`` uses an open ``plyvel.DB`` or prefixed DB that the caller owns.
    Opening an existing database resumes at its latest version.  One writer at a time.

    ``sync=True`` makes every ``apply`` an fsync'd write, so a power cut -- not only a
    killed process -- keeps the last version that ``apply`` returned.
    """

    def __init__(self, path_or_db: Union[str, os.PathLike, DbLike], *, sync: bool = True,
                 cache_nodes: int = DEFAULT_CACHE_NODES) -> None:
        if isinstance(path_or_db, (str, os.PathLike)):
            self._db = plyvel.DB(os.fspath(path_or_db), create_if_missing=True,
                                 write_buffer_size=LEVELDB_WRITE_BUFFER_BYTES,
                                 lru_cache_size=LEVELDB_BLOCK_CACHE_BYTES)
            self._owns_db = True
        else:
            self._db = path_or_db
            self._owns_db = False
        self._sync = sync
        self._cache: dict[bytes, _Node] = {}
        self._cache_cap = max(int(cache_nodes), 0)
        fmt = self._db.get(_M_FORMAT)
        if fmt is None:
            if self._db.get(_M_LATEST) is not None:
                raise StateCorruption("metadata without storage format marker", db_key=_M_FORMAT)
            self._db.put(_M_FORMAT, STORAGE_FORMAT, sync=sync)
        elif fmt != STORAGE_FORMAT:
            raise StateCorruption(f"unsupported storage format {fmt!r}", db_key=_M_FORMAT)
        latest = self._db.get(_M_LATEST)
        self._latest: Optional[int] = None if latest is None else int.from_bytes(latest, "big")
        oldest = self._db.get(_M_OLDEST)
        self._oldest: Optional[int] = None if oldest is None else int.from_bytes(oldest, "big")
        self._root_slot = None
        if self._latest is not None:
            try:
                self._root_slot = self._read_root_slot(self._latest)
            except VersionNotFound as exc:
                raise StateCorruption("root record of the latest version missing",
                                      db_key=_P_ROOT + _u64(self._latest), version=self._latest) from exc
            if self._oldest is None:
                raise StateCorruption("latest version recorded without oldest", db_key=_M_OLDEST)

    # ----------------------------------------------------------------- reads

    def latest_version(self) -> Optional[int]:
        """Version of the last ``apply``, or None for a tree that never had one."""
        return self._latest

    def oldest_version(self) -> Optional[int]:
        """Oldest version still readable (moves forward with ``prune``)."""
        return self._oldest

    def root(self, version: Optional[int] = None) -> bytes:
        """Root hash at ``version`` (default latest); ``EMPTY_HASH`` for an empty tree."""
        return _slot_hash(self._root_for(version))

    def get(self, key: bytes, version: Optional[int] = None) -> Optional[bytes]:
        """Value of ``key`` at ``version`` (default latest), or None if absent.

        The value is found through the tree and checked against the hash the leaf
        commits to, so a lost or altered record raises ``StateCorruption``.
        """
        key = _check_key(key)
        ver = self._latest if version is None else version
        leaf = _core.find_leaf(self, self._root_for(version), key, ver)
        if leaf is not None:
            vkey = _P_VALUE + key + _u64(leaf[3])
            value = self._db.get(vkey)
            if value is None:
                raise StateCorruption("value record missing", db_key=vkey, version=ver)
            if sha256(value).digest() != leaf[2]:
                raise StateCorruption("value does not match its leaf hash", db_key=vkey, version=ver)
            return value
        return None

    def prove(self, key: bytes, version: Optional[int] = None) -> Proof:
        """Inclusion proof if ``key`` is present at ``version``, else non-inclusion proof."""
        key = _check_key(key)
        ver = self._latest if version is None else version
        return _core.prove_path(self, self._root_for(version), key, ver, Proof)

    def get_meta(self, key: bytes) -> Optional[bytes]:
        """Raw metadata written through ``apply(..., extra_meta=...)`` (not versioned)."""
        return self._db.get(_P_EXTRA + bytes(key))

    # ---------------------------------------------------------------- writes

    def apply(self, version: int, updates: Mapping[bytes, Optional[bytes]], *,
              extra_meta: Optional[Mapping[bytes, Optional[bytes]]] = None) -> bytes:
        """Apply one block's updates (value None = delete) as ``version``; return the new root.

        Every changed node is computed once, then nodes, values, the version's root,
        the stale index, the latest-version marker and ``extra_meta`` (raw key/values
        for the caller, None = delete; read back with ``get_meta``) go to LevelDB in
        one write batch.  Bad input raises ``InvalidInput`` before anything is written.
        """
        items = _check_updates(updates)
        extra = _check_extra(extra_meta)
        if not isinstance(version, int) or isinstance(version, bool) or not 0 <= version <= MAX_VERSION:
            raise InvalidInput(f"version must be an integer in [0, 2^64): {version!r}")
        if self._latest is not None and version <= self._latest:
            raise InvalidInput(f"version {version} is not after the latest version {self._latest}")
        builder = _BlockBuilder(self, version)
        gc_was_enabled = gc.isenabled()
        gc.disable()  # the pass allocates only acyclic tuples; full GC walks of the cache halved throughput
        try:
            new_root = builder.update(self._root_slot, 0, items) if items else self._root_slot
            encoded = builder.encoded_nodes()
        finally:
            if gc_was_enabled:
                gc.enable()
        with self._db.write_batch(transaction=True, sync=self._sync) as wb:
            put = wb.put
            for db_key, raw in encoded:
                put(db_key, raw)
            for db_key, value in builder.values:
                put(db_key, value)
            if builder.stale:
                put(_P_STALE + _u64(version), _encode_key_list(builder.stale))
            put(_P_ROOT + _u64(version), _encode_root(new_root))
            put(_M_LATEST, _u64(version))
            if self._oldest is None:
                put(_M_OLDEST, _u64(version))
            for k, v in extra:
                if v is None:
                    wb.delete(_P_EXTRA + k)
                else:
                    put(_P_EXTRA + k, v)
        cache = self._cache
        for db_key in builder.superseded:
            # Replaced nodes serve only historic reads: keep the cache to the live tree.
            cache.pop(db_key, None)
        self._remember(builder.nodes)
        self._latest = version
        if self._oldest is None:
            self._oldest = version
        self._root_slot = new_root
        return _slot_hash(new_root)

    def prune(self, keep_last: int) -> int:
        """Keep the last ``keep_last`` versions readable; delete what only older ones used.

        A node or value made unreachable at version ``s`` is used only by versions
        before ``s``, so everything stale at or before the new oldest version goes.
        The new oldest version is recorded first, so a crash mid-prune leaves a
        consistent tree and pruning again finishes the job.  Returns records deleted.
        """
        if not isinstance(keep_last, int) or keep_last < 1:
            raise InvalidInput("keep_last must be a positive integer")
        if self._latest is None:
            return 0
        new_oldest = max(self._latest - keep_last + 1, self._oldest)
        if new_oldest != self._oldest:
            self._db.put(_M_OLDEST, _u64(new_oldest), sync=self._sync)
            self._oldest = new_oldest
        stop = _P_STALE + _u64(new_oldest + 1)
        deleted = 0
        while True:
            chunk = list(islice(self._db.iterator(start=_P_STALE, stop=stop), PRUNE_BATCH_RECORDS))
            roots = [] if chunk else list(self._db.iterator(
                start=_P_ROOT, stop=_P_ROOT + _u64(new_oldest), include_value=False))
            if not chunk and not roots:
                return deleted
            with self._db.write_batch(transaction=True, sync=self._sync) as wb:
                for stale_key, stale_list in chunk:
                    for target in _decode_key_list(stale_list):
                        wb.delete(target)
                        self._cache.pop(target, None)
                        deleted += 1
                    wb.delete(stale_key)
                for root_key in roots:
                    wb.delete(root_key)
            deleted += len(roots)

    def close(self) -> None:
        """Close the database if this tree opened it."""
        if self._owns_db and not self._db.closed:
            self._db.close()
        self._cache.clear()

    def __enter__(self) -> "StateTree":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -------------------------------------------------------------- internals

    def _root_for(self, version: Optional[int]):
        if version is None or version == self._latest:
            return self._root_slot
        if not isinstance(version, int) or isinstance(version, bool):
            raise InvalidInput(f"version must be an integer: {version!r}")
        if self._latest is None or version > self._latest:
            raise VersionNotFound(version, f"not applied yet (latest {self._latest})")
        if version < self._oldest:
            raise VersionNotFound(version, f"pruned (oldest retained {self._oldest})")
        return self._read_root_slot(version)

    def _read_root_slot(self, version: int):
        db_key = _P_ROOT + _u64(version)
        raw = self._db.get(db_key)
        if raw is None:
            if self._oldest is not None and version >= self._oldest:
                raise VersionNotFound(version, "no block was applied at this version")
            raise StateCorruption("root record missing", db_key=db_key, version=version)
        try:
            return _decode_root(raw)
        except (ValueError, IndexError) as exc:
            raise StateCorruption(f"root record unreadable: {exc}", db_key=db_key, version=version) from exc

    def _load(self, db_key: bytes, expected: bytes, version: Optional[int]) -> _Node:
        node = self._cache.get(db_key)
        if node is not None:
            return node
        raw = self._db.get(db_key)
        if raw is None:
            raise StateCorruption("tree node missing", db_key=db_key, version=version)
        try:
            node = _decode_node(raw, db_key[1 + _U64])
        except (ValueError, IndexError) as exc:
            raise StateCorruption(f"tree node unreadable: {exc}", db_key=db_key, version=version) from exc
        if _cell(node, 1) != expected:
            raise StateCorruption("tree node does not match its hash", db_key=db_key, version=version)
        self._remember({db_key: node})
        return node

    def _remember(self, nodes: Mapping[bytes, _Node]) -> None:
        cache = self._cache
        if self._cache_cap == 0:
            return
        cache.update(nodes)
        excess = len(cache) - self._cache_cap
        if excess > 0:
            # Oldest-inserted first: nodes on hot paths are rewritten (re-inserted) every block.
            for db_key in list(islice(cache, excess + self._cache_cap // 10)):
                del cache[db_key]


def _encode_key_list(keys: list) -> bytes:
    """Stale-index record: ``u8 length || db key`` repeated."""
    return b"".join(bytes((len(k),)) + k for k in keys)


def _decode_key_list(raw: bytes) -> list:
    out = []
    pos = 0
    while pos < len(raw):
        n = raw[pos]
        out.append(raw[pos + 1:pos + 1 + n])
        pos += 1 + n
    return out


def _first(item):
    return item[0]


def _check_key(key) -> bytes:
    if type(key) is bytes and len(key) == KEY_BYTES:
        return key
    if not isinstance(key, (bytes, bytearray, memoryview)):
        raise InvalidInput(f"key must be bytes, not {type(key).__name__}")
    key = bytes(key)
    if len(key) != KEY_BYTES:
        raise InvalidInput(f"key must be {KEY_BYTES} bytes, got {len(key)}")
    return key


def _check_updates(updates: Mapping[bytes, Optional[bytes]]) -> list:
    """Validated, key-sorted ``(key, value_hash|None, value|None, None)`` items."""
    if not hasattr(updates, "items"):
        raise InvalidInput("updates must be a mapping of key -> value or None")
    items = []
    append = items.append
    for key, value in updates.items():
        if type(key) is not bytes or len(key) != KEY_BYTES:
            key = _check_key(key)
        if value is None:
            append((key, None, None, None))
            continue
        if type(value) is not bytes:
            if not isinstance(value, (bytearray, memoryview)):
                raise InvalidInput(f"value for {key.hex()} must be bytes or None")
            value = bytes(value)
        if len(value) > MAX_VALUE_BYTES:
            raise InvalidInput(f"value for {key.hex()} is {len(value)} bytes; maximum {MAX_VALUE_BYTES}")
        append((key, sha256(value).digest(), value, None))
    items.sort(key=_first)
    if len({item[0] for item in items}) != len(items):
        raise InvalidInput("a key appears twice in one batch")
    return items


def _check_extra(extra: Optional[Mapping[bytes, Optional[bytes]]]) -> list:
    if extra is None:
        return []
    out = []
    for key, value in extra.items():
        if not isinstance(key, (bytes, bytearray)) or not key:
            raise InvalidInput("extra_meta keys must be non-empty bytes")
        if value is not None and not isinstance(value, (bytes, bytearray)):
            raise InvalidInput("extra_meta values must be bytes or None")
        out.append((bytes(key), None if value is None else bytes(value)))
    out.sort(key=_first)
    return out
