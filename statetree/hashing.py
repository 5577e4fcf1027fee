"""Hashing rules of the state tree (DESIGN §5), in one place.

The tree is, *logically*, a binary sparse Merkle tree over 256-bit keys with
"shortcut" leaves: a key's leaf sits at the shallowest depth at which it is the
only key below that position.  How nodes are *stored* (16-ary, see ``tree.py``)
never changes these hashes, so an independent verifier -- including the on-chain
program -- needs only this module's rules:

* bit ``i`` of a key is bit ``7 - i % 8`` of byte ``i // 8`` (most significant first);
  bit ``i`` chooses the left (0) or right (1) child at depth ``i``;
* ``EMPTY_HASH`` (32 zero bytes) is the hash of an empty subtree;
* ``leaf_hash(key, value) = SHA-256(0x00 || key || SHA-256(value))``;
* ``node_hash(left, right) = SHA-256(0x01 || left || right)``, used only for a
  subtree holding two or more keys (an empty sibling next to a lone leaf never
  happens: the leaf moves up instead).

``reference_root`` computes a root from a plain mapping with nothing but these
rules; tests check the stored tree against it, and other implementations can too.
"""
from __future__ import annotations

from hashlib import sha256
from typing import Mapping

KEY_BYTES = 32
KEY_BITS = KEY_BYTES * 8
HASH_BYTES = 32
EMPTY_HASH = bytes(HASH_BYTES)
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"


def value_hash(value: bytes) -> bytes:
    """SHA-256 of a stored value; leaves commit to it rather than to the value."""
    return sha256(value).digest()


def leaf_hash_from_value_hash(key: bytes, vhash: bytes) -> bytes:
    """Leaf hash from the key and the value's hash (domain byte 0x00)."""
    return sha256(LEAF_PREFIX + key + vhash).digest()


def leaf_hash(key: bytes, value: bytes) -> bytes:
    """Leaf hash ``SHA-256(0x00 || key || SHA-256(value))``."""
    return sha256(LEAF_PREFIX + key + sha256(value).digest()).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Internal hash ``SHA-256(0x01 || left || right)`` (domain byte 0x01)."""
    return sha256(NODE_PREFIX + left + right).digest()


def key_bit(key: bytes, depth: int) -> int:
    """Bit ``depth`` of ``key``, most significant bit of byte 0 first."""
    return (key[depth >> 3] >> (7 - (depth & 7))) & 1


def reference_root(items: Mapping[bytes, bytes]) -> bytes:
    """Root of ``items`` from the rules above alone, with no storage layout.

    Slow (recursive, O(n · depth)) on purpose: it is the executable statement of the
    hashing rules that the fast tree is checked against.
    """
    return _reference_subtree(sorted(items.items()), 0)


def _reference_subtree(items: list[tuple[bytes, bytes]], depth: int) -> bytes:
    if not items:
        return EMPTY_HASH
    if len(items) == 1:
        key, value = items[0]
        return leaf_hash(key, value)
    left = [kv for kv in items if key_bit(kv[0], depth) == 0]
    right = [kv for kv in items if key_bit(kv[0], depth) == 1]
    return node_hash(_reference_subtree(left, depth + 1), _reference_subtree(right, depth + 1))
