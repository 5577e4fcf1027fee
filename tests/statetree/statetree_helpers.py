"""Helpers shared by the statetree tests."""
from __future__ import annotations

import random

import plyvel

from statetree.hashing import KEY_BYTES


def db_snapshot(path: str) -> dict:
    """Every record of a closed LevelDB directory, for before/after comparisons."""
    db = plyvel.DB(path)
    try:
        return dict(db.iterator())
    finally:
        db.close()


def structured_keys(seed: int = 7) -> list[bytes]:
    """Keys that exercise deep paths: random ones, long shared prefixes, neighbours
    differing only in the last bit, and the extremes."""
    rng = random.Random(seed)
    keys = [rng.randbytes(KEY_BYTES) for _ in range(24)]
    base = rng.randbytes(KEY_BYTES)
    keys += [base[:3] + rng.randbytes(29) for _ in range(6)]      # share 24 bits
    keys += [base[:20] + rng.randbytes(12) for _ in range(4)]     # share 160 bits
    keys += [base[:31] + bytes([b]) for b in (0x00, 0x01, 0x80, 0xFE, 0xFF)]  # share 248+ bits
    keys += [bytes(KEY_BYTES), b"\xff" * KEY_BYTES]
    return sorted(set(keys))
