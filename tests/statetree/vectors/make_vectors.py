"""Regenerate ``statetree_v1.json``: fixed roots, proofs and derived keys (issue 3).

The vectors let another implementation (the on-chain verifier, an auditor's tool)
check itself against this one.  Run from the repository root::

    python tests/statetree/vectors/make_vectors.py

A change to this file's output is a change to the hashing rules or proof format:
it must come with a new format version, never a silent regeneration.
"""
from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from statetree import StateTree  # noqa: E402
from statetree.keys import derive_key  # noqa: E402

OUT = HERE / "statetree_v1.json"


def _k(label: str) -> bytes:
    return hashlib.sha256(label.encode()).digest()


def _with_prefix(prefix_bits: str, fill: int) -> bytes:
    """A key whose leading bits are ``prefix_bits`` and the rest ``fill`` bits."""
    bits = prefix_bits + str(fill) * (256 - len(prefix_bits))
    return int(bits, 2).to_bytes(32, "big")


def cases() -> list[dict]:
    near = _with_prefix("1" * 255, 0)
    near2 = _with_prefix("1" * 255, 1)
    random_keys = [_k(f"vector-{i}") for i in range(20)]
    return [
        {"name": "empty", "versions": [{}],
         "probe": [_k("absent")]},
        {"name": "single-key", "versions": [{_k("a"): b"alpha"}],
         "probe": [_k("a"), _k("b")]},
        {"name": "first-bit-split",
         "versions": [{_with_prefix("0", 1): b"left", _with_prefix("1", 0): b"right"}],
         "probe": [_with_prefix("0", 1), _with_prefix("1", 0), _with_prefix("01", 0)]},
        {"name": "deepest-split-255-shared-bits",
         "versions": [{near: b"", near2: b"\x00" * 64}],
         "probe": [near, near2, _with_prefix("1" * 254 + "0", 1)]},
        {"name": "nibble-boundaries",
         "versions": [{_with_prefix("0000", 0): b"a", _with_prefix("00001", 0): b"b",
                       _with_prefix("000001", 1): b"c", _with_prefix("0001", 1): b"d"}],
         "probe": [_with_prefix("0000", 0), _with_prefix("000001", 1), _with_prefix("00000", 1),
                   _with_prefix("0010", 0)]},
        {"name": "updates-and-deletes",
         "versions": [{k: k for k in random_keys},
                      {**{k: None for k in random_keys[:7]}, random_keys[8]: b"changed"},
                      {random_keys[3]: b"back", random_keys[19]: None}],
         "probe": random_keys + [_k("absent-1"), _k("absent-2")]},
    ]


KEY_VECTORS = [
    ("vault", [b"\x01" * 32, b"USDC"]),
    ("escrow", [b"\x01" * 32, b"\x02" * 32, b"USDC"]),
    ("cap", [7, b"\x02" * 32]),
    ("slab-page", [b"\x02" * 32, 0]),
    ("slab-page", [b"\x02" * 32, 2559]),
    ("portfolio", ["trader-1"]),
    ("meta", ["height"]),
    ("hold", [-1]),
]


def _part(p) -> dict:
    if isinstance(p, bytes):
        return {"bytes": p.hex()}
    if isinstance(p, str):
        return {"str": p}
    return {"int": p}


def build() -> dict:
    out = {
        "description": "statetree v1 vectors: roots after each version, encoded proofs, derived keys",
        "hashing": {
            "empty": "32 zero bytes",
            "leaf": "sha256(0x00 || key || sha256(value))",
            "node": "sha256(0x01 || left || right)",
            "bit": "bit i of key = (key[i//8] >> (7 - i%8)) & 1; 0 = left",
        },
        "cases": [],
        "keys": [],
    }
    for case in cases():
        with tempfile.TemporaryDirectory() as tmp:
            tree = StateTree(tmp, sync=False)
            versions = []
            for version, updates in enumerate(case["versions"], start=1):
                root = tree.apply(version, updates)
                versions.append({"updates": {k.hex(): (None if v is None else v.hex())
                                             for k, v in sorted(updates.items())},
                                 "root": root.hex()})
            proofs = []
            for key in case["probe"]:
                value = tree.get(key)
                proofs.append({"key": key.hex(), "value": None if value is None else value.hex(),
                               "proof": tree.prove(key).to_bytes().hex()})
            tree.close()
        out["cases"].append({"name": case["name"], "versions": versions, "proofs": proofs})
    for namespace, parts in KEY_VECTORS:
        out["keys"].append({"namespace": namespace, "parts": [_part(p) for p in parts],
                            "key": derive_key(namespace, *parts).hex()})
    return out


if __name__ == "__main__":
    OUT.write_text(json.dumps(build(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT}")
