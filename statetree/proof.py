"""Inclusion and non-inclusion proofs and their database-free verifier (DESIGN §5).

A proof is the list of sibling hashes on the binary path from the root down to
where ``key`` ends (its own leaf, an empty subtree, or another key's leaf), plus,
in the last case, that other leaf's key and value hash.  ``verify`` folds the
path back up with the rules of ``hashing.py`` and compares with the root; it needs
nothing else, so auditors and the on-chain program can run the same steps.

Binary encoding (all integers big-endian; see statetree/README.md)::

    u8   format          = PROOF_FORMAT (1)
    u8   kind            = 0 inclusion | 1 absent: empty subtree | 2 absent: other leaf
    u16  depth           = number of siblings, 0..256
    u8[ceil(depth/8)]    bitmap, bit i (MSB first) = 1 iff sibling i is not EMPTY_HASH
    u8[32] * popcount    the non-empty siblings, root side first
    u8[32] other_key, u8[32] other_value_hash     (kind 2 only)

The encoding is canonical: unused bitmap bits are zero, an encoded sibling is
never all zeros, and the length is exact, so a proof has one byte form.
"""
from __future__ import annotations

from dataclasses import dataclass
from hashlib import sha256
from typing import Union

from ._core import verify_encoded as _verify_encoded
from .errors import InvalidInput, StateTreeError
from .hashing import EMPTY_HASH, HASH_BYTES, KEY_BITS, KEY_BYTES, LEAF_PREFIX, NODE_PREFIX

PROOF_FORMAT = 1
KIND_INCLUSION = 0
KIND_ABSENT_EMPTY = 1
KIND_ABSENT_OTHER_LEAF = 2
_HEADER_BYTES = 4
MAX_PROOF_DEPTH = KEY_BITS


class InvalidProof(StateTreeError):
    """The proof does not show the claimed (key, value) under the claimed root; says why."""


@dataclass(frozen=True, slots=True)
class Proof:
    """Sibling path for one key at one version; ``siblings[i]`` is the sibling at depth i+1."""

    kind: int
    siblings: tuple[bytes, ...]
    other_key: bytes | None = None
    other_value_hash: bytes | None = None

    @property
    def depth(self) -> int:
        """Depth in the binary tree of the position the proof ends at."""
        return len(self.siblings)

    def to_bytes(self) -> bytes:
        """Compact canonical encoding (module docstring)."""
        depth = len(self.siblings)
        bitmap = 0
        present = []
        for sibling in self.siblings:
            bitmap <<= 1
            if sibling != EMPTY_HASH:
                bitmap |= 1
                present.append(sibling)
        nbytes = (depth + 7) // 8
        bitmap <<= nbytes * 8 - depth
        out = [bytes((PROOF_FORMAT, self.kind)), depth.to_bytes(2, "big"),
               bitmap.to_bytes(nbytes, "big"), *present]
        if self.kind == KIND_ABSENT_OTHER_LEAF:
            out += [self.other_key, self.other_value_hash]
        return b"".join(out)

    @classmethod
    def from_bytes(cls, data: bytes) -> "Proof":
        """Strict decoder; raises ``InvalidProof`` on any non-canonical or truncated input."""
        data = bytes(data)
        if len(data) < _HEADER_BYTES or data[0] != PROOF_FORMAT:
            raise InvalidProof("unknown proof format or truncated header")
        kind = data[1]
        if kind not in (KIND_INCLUSION, KIND_ABSENT_EMPTY, KIND_ABSENT_OTHER_LEAF):
            raise InvalidProof(f"unknown proof kind {kind}")
        depth = int.from_bytes(data[2:4], "big")
        if depth > MAX_PROOF_DEPTH:
            raise InvalidProof(f"depth {depth} exceeds {MAX_PROOF_DEPTH}")
        nbytes = (depth + 7) // 8
        pos = _HEADER_BYTES + nbytes
        bitmap = int.from_bytes(data[_HEADER_BYTES:pos], "big")
        pad = nbytes * 8 - depth
        if bitmap & ((1 << pad) - 1):
            raise InvalidProof("non-zero padding bits in sibling bitmap")
        bitmap >>= pad
        trailer = 2 * HASH_BYTES if kind == KIND_ABSENT_OTHER_LEAF else 0
        if len(data) != pos + bin(bitmap).count("1") * HASH_BYTES + trailer:
            raise InvalidProof("proof length does not match its bitmap")
        siblings = []
        for i in range(depth):
            if (bitmap >> (depth - 1 - i)) & 1:
                sibling = data[pos:pos + HASH_BYTES]
                if sibling == EMPTY_HASH:
                    raise InvalidProof("explicit empty sibling (must be left to the bitmap)")
                siblings.append(sibling)
                pos += HASH_BYTES
            else:
                siblings.append(EMPTY_HASH)
        other_key = other_vh = None
        if trailer:
            other_key = data[pos:pos + KEY_BYTES]
            other_vh = data[pos + KEY_BYTES:pos + 2 * KEY_BYTES]
        return cls(kind, tuple(siblings), other_key, other_vh)

    def compute_root(self, key: bytes, value: bytes | None) -> bytes:
        """Root implied by this proof for (key, value); raises ``InvalidProof`` if inconsistent."""
        siblings = self.siblings
        depth = len(siblings)
        if depth > MAX_PROOF_DEPTH:
            raise InvalidProof(f"depth {depth} exceeds {MAX_PROOF_DEPTH}")
        key_int = int.from_bytes(key, "big")
        kind = self.kind
        if kind == KIND_INCLUSION:
            if value is None:
                raise InvalidProof("inclusion proof given for an absent value")
            h = sha256(LEAF_PREFIX + key + sha256(value).digest()).digest()
        elif kind == KIND_ABSENT_EMPTY:
            if value is not None:
                raise InvalidProof("non-inclusion proof given for a present value")
            h = EMPTY_HASH
        elif kind == KIND_ABSENT_OTHER_LEAF:
            if value is not None:
                raise InvalidProof("non-inclusion proof given for a present value")
            other, ovh = self.other_key, self.other_value_hash
            if not (isinstance(other, bytes) and isinstance(ovh, bytes)
                    and len(other) == KEY_BYTES and len(ovh) == HASH_BYTES):
                raise InvalidProof("other leaf is malformed")
            if other == key:
                raise InvalidProof("other leaf has the proven key")
            if depth and (int.from_bytes(other, "big") ^ key_int) >> (KEY_BITS - depth):
                raise InvalidProof("other leaf is not on the key's path")
            h = sha256(LEAF_PREFIX + other + ovh).digest()
        else:
            raise InvalidProof(f"unknown proof kind {kind}")
        if depth and siblings[-1] == EMPTY_HASH:
            raise InvalidProof("lowest sibling is empty: the position is not canonical")
        shift = KEY_BITS - depth
        for i in range(depth - 1, -1, -1):
            sibling = siblings[i]
            if len(sibling) != HASH_BYTES:
                raise InvalidProof("sibling is not 32 bytes")
            if (key_int >> shift) & 1:
                h = sha256(NODE_PREFIX + sibling + h).digest()
            else:
                h = sha256(NODE_PREFIX + h + sibling).digest()
            shift += 1
        return h

    def check(self, root: bytes, key: bytes, value: bytes | None) -> None:
        """Raise ``InvalidProof`` unless the proof shows (key, value) under ``root``."""
        _check_args(root, key, value)
        if self.compute_root(key, value) != root:
            raise InvalidProof("proof does not lead to the given root")


def _check_args(root: bytes, key: bytes, value: bytes | None) -> None:
    if not isinstance(root, (bytes, bytearray)) or len(root) != HASH_BYTES:
        raise InvalidInput("root must be 32 bytes")
    if not isinstance(key, (bytes, bytearray)) or len(key) != KEY_BYTES:
        raise InvalidInput("key must be 32 bytes")
    if value is not None and not isinstance(value, (bytes, bytearray)):
        raise InvalidInput("value must be bytes or None")


def verify(root: bytes, key: bytes, value: bytes | None, proof: Union[bytes, Proof]) -> bool:
    """True iff ``proof`` shows that ``key`` maps to ``value`` (None = absent) under ``root``.

    Pure: no database, no state.  Malformed or tampered proofs give False; a root or
    key of the wrong size is a caller bug and raises ``InvalidInput``.  Encoded proofs
    are checked in one compiled pass over the bytes (``_core.verify_encoded``): the same
    computation as ``Proof.from_bytes(...).compute_root(...)``, which stays the readable
    statement of the steps and which the tests cross-check it against.
    """
    _check_args(root, key, value)
    key = bytes(key)
    value = None if value is None else bytes(value)
    try:
        if isinstance(proof, Proof):
            return proof.compute_root(key, value) == root
        return _verify_encoded(bytes(root), key, value, bytes(proof))
    except (InvalidProof, TypeError):
        return False


def check_proof(root: bytes, key: bytes, value: bytes | None, proof: Union[bytes, Proof]) -> None:
    """Like ``verify`` but raises ``InvalidProof`` saying what is wrong (malformed proof,
    absent/present mismatch, or a proof that leads to another root)."""
    _check_args(root, key, value)
    if not isinstance(proof, Proof):
        proof = Proof.from_bytes(proof)
    proof.check(bytes(root), bytes(key), None if value is None else bytes(value))
