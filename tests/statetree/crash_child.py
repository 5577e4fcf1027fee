"""Child process for the crash-atomicity test: applies deterministic blocks forever.

Block ``v`` is a pure function of ``v`` (``block_updates``), so the parent can
recompute the exact state of any version the child reached before being killed.
"""
from __future__ import annotations

import random
import sys

UNIVERSE = 4000
PER_BLOCK = 1500
VALUE_BYTES = 200


def universe() -> list[bytes]:
    rng = random.Random(12345)
    return [rng.randbytes(32) for _ in range(UNIVERSE)]


def block_updates(version: int, keys: list[bytes]) -> dict:
    rng = random.Random(version)
    out = {}
    for key in rng.sample(keys, PER_BLOCK):
        out[key] = None if rng.random() < 0.2 else rng.randbytes(VALUE_BYTES)
    return out


def main(path: str) -> None:
    from statetree import StateTree
    keys = universe()
    tree = StateTree(path, sync=False)
    version = (tree.latest_version() or 0) + 1
    print("ready", version, flush=True)
    while True:
        tree.apply(version, block_updates(version, keys), extra_meta={b"height": version.to_bytes(8, "big")})
        version += 1


if __name__ == "__main__":
    main(sys.argv[1])
