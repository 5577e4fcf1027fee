"""Typed state keys: ``derive_key(namespace, *parts)`` (DESIGN §5, EXCHANGE §2).

Every state record lives at ``SHA-256`` of a typed seed, like a Solana PDA, so a
key can be recomputed by anyone from what it is about (``vault`` of ``(user,
asset)``) and two namespaces can never collide.  All namespaces are listed in
``NAMESPACES`` below -- add a new one there, with the names of its parts.

Seed encoding (unambiguous, so no two part lists hash alike)::

    "assetl2/state-key/v1" || u8 len(namespace) || namespace (ASCII)
    || u8 number_of_parts
    || for each part: u8 tag || u32 length || bytes
         tag 'b' bytes as given, 's' UTF-8 text, 'i' integer as 16-byte
         big-endian two's complement (i128; covers u64 ids and i64 quantities)
"""
from __future__ import annotations

from hashlib import sha256
from typing import Optional, Union

from .errors import InvalidInput

KEY_DOMAIN = b"assetl2/state-key/v1"
INT_PART_BYTES = 16
MAX_PARTS = 255
MAX_PART_BYTES = 1 << 16
_TAG_BYTES = b"b"
_TAG_TEXT = b"s"
_TAG_INT = b"i"
_INT_MIN = -(1 << (INT_PART_BYTES * 8 - 1))
_INT_MAX = (1 << (INT_PART_BYTES * 8 - 1)) - 1

Part = Union[bytes, bytearray, str, int]

# namespace -> names of its parts (documentation and arity check); None = any number.
NAMESPACES: dict[str, Optional[tuple[str, ...]]] = {
    # router (EXCHANGE §2)
    "vault": ("user", "asset"),
    "escrow": ("user", "slab", "asset"),
    "cap": ("route_id", "slab"),
    "portfolio": ("user",),
    "account": ("user",),
    "registry": ("slab",),
    "hold": ("hold_id",),
    "route": ("route_id",),
    "insurance": ("asset",),
    "fee-pool": ("asset",),
    "funding": ("instrument",),
    "instrument": ("instrument",),
    # oracle (EXCHANGE §3)
    "oracle": ("oracle_id",),
    # slab arenas stored as pages (DESIGN §5, pages.py)
    "slab-page": ("slab", "index"),
    "slab-meta": ("slab",),
    "amm-pool": ("slab",),
    # replay protection: transaction hashes until valid_until_ms (DESIGN §4)
    "dedup": ("tx_hash",),
    # node/chain level records: config fingerprint, program manifest, counters
    "config": None,
    "manifest": ("program",),
    "meta": ("name",),
    # router (executor/router/records.py)
    "user-no": ("user_no",),          # integer slab user -> 32-byte public key
    "route-hold": ("user", "route_id"),
    "open-routes": ("user",),        # hold ids of a user's open routes
    "slab-cash": ("slab",),           # per-slab PnL clearing / deficit (collateral model)
    "deposit-ref": ("l1_ref",),       # bridge deposit dedup
    "liquidation": ("user",),         # grace window start
}


_INT_HEADER = _TAG_INT + INT_PART_BYTES.to_bytes(4, "big")
_PREFIXES: dict[tuple[str, int], bytes] = {}


def _encode_part(part: Part) -> bytes:
    kind = type(part)
    if kind is bool:
        raise InvalidInput("bool is not a key part; use an int")
    if isinstance(part, int):          # the common cases first: ids and public keys
        if not _INT_MIN <= part <= _INT_MAX:
            raise InvalidInput(f"integer key part {part} does not fit in i128")
        return _INT_HEADER + int(part).to_bytes(INT_PART_BYTES, "big", signed=True)
    if kind is bytes and len(part) <= MAX_PART_BYTES:
        return _TAG_BYTES + len(part).to_bytes(4, "big") + part
    if isinstance(part, (bytes, bytearray, memoryview)):
        tag, data = _TAG_BYTES, bytes(part)
    elif isinstance(part, str):
        tag, data = _TAG_TEXT, part.encode("utf-8")
    else:
        raise InvalidInput(f"key part must be bytes, str or int, not {type(part).__name__}")
    if len(data) > MAX_PART_BYTES:
        raise InvalidInput(f"key part of {len(data)} bytes exceeds {MAX_PART_BYTES}")
    return tag + len(data).to_bytes(4, "big") + data


def _prefix(namespace: str, n_parts: int) -> bytes:
    """The seed up to the first part, checked and remembered per (namespace, arity): every
    record read that misses the caches derives a key, so the checks run once per shape."""
    prefix = _PREFIXES.get((namespace, n_parts))
    if prefix is not None:
        return prefix
    if namespace not in NAMESPACES:
        raise InvalidInput(f"unknown key namespace {namespace!r}; add it to statetree.keys.NAMESPACES")
    expected = NAMESPACES[namespace]
    if expected is not None and n_parts != len(expected):
        raise InvalidInput(f"namespace {namespace!r} takes parts {expected}, got {n_parts}")
    if n_parts > MAX_PARTS:
        raise InvalidInput(f"at most {MAX_PARTS} key parts")
    ns = namespace.encode("ascii")
    prefix = KEY_DOMAIN + bytes((len(ns),)) + ns + bytes((n_parts,))
    if len(_PREFIXES) < 4096:
        _PREFIXES[(namespace, n_parts)] = prefix
    return prefix


def key_seed(namespace: str, *parts: Part) -> bytes:
    """The exact bytes hashed by ``derive_key`` (exposed for other implementations' tests)."""
    if type(namespace) is not str:
        raise InvalidInput(f"key namespace must be a str, not {type(namespace).__name__}")
    return _prefix(namespace, len(parts)) + b"".join([_encode_part(p) for p in parts])


def derive_key(namespace: str, *parts: Part) -> bytes:
    """32-byte state key of ``namespace`` and its typed ``parts``."""
    return sha256(key_seed(namespace, *parts)).digest()
