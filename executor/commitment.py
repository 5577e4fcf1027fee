"""The reserve→commit commitment (plan M6, EXCHANGE §2 flow 2 and §6).

``commitment = sha256(domain ‖ route_id ‖ instrument ‖ side ‖ qty ‖ limit_px ‖ salt)`` with a
fixed-width big-endian encoding, so the client, the sequencer's admission check and the
executor compute the same 32 bytes.  The salt must be at least 16 bytes (EXCHANGE §6) so a
commitment cannot be brute-forced from the small space of plausible orders before the reveal.
"""
from __future__ import annotations

import hashlib
import hmac
import struct

DOMAIN = b"assetl2/commit/v1\x00"
MIN_SALT_BYTES = 16
MAX_SALT_BYTES = 64
COMMITMENT_BYTES = 32
_FIELDS = struct.Struct(">QIBQQ")  # route_id u64, instrument u32, side u8, qty u64, limit_px u64


def commitment(route_id: int, instrument_id: int, side: int, qty_lots: int, limit_price_e6: int,
               salt: bytes) -> bytes:
    """The 32-byte commitment for a reserve; ``side`` is the wire value (1 buy, 2 sell)."""
    if not MIN_SALT_BYTES <= len(salt) <= MAX_SALT_BYTES:
        raise ValueError(f"salt must be {MIN_SALT_BYTES}..{MAX_SALT_BYTES} bytes, got {len(salt)}")
    fields = _FIELDS.pack(route_id, instrument_id, side, qty_lots, limit_price_e6)
    return hashlib.sha256(DOMAIN + fields + bytes([len(salt)]) + salt).digest()


def reveal_matches(expected: bytes, route_id: int, instrument_id: int, side: int, qty_lots: int,
                   limit_price_e6: int, salt: bytes) -> bool:
    """True when the reveal opens ``expected``; a short salt never matches."""
    if not MIN_SALT_BYTES <= len(salt) <= MAX_SALT_BYTES or len(expected) != COMMITMENT_BYTES:
        return False
    try:
        got = commitment(route_id, instrument_id, side, qty_lots, limit_price_e6, salt)
    except (struct.error, ValueError):
        return False
    return hmac.compare_digest(got, expected)
