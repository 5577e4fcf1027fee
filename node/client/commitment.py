"""Reserve→commit helpers (plan M6, EXCHANGE §2 flows 1–2).

A taker first reserves with only a *commitment* to its order, and reveals the order in a
later epoch.  The salt is what keeps the order hidden until then, so it comes from
``secrets`` (never a PRNG) and the reveal never leaves the client until the commit.
The commitment itself is computed by ``executor.commitment`` — the same function the
sequencer and executor use — so the client cannot drift from the node.
"""
from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

from executor import commitment as _c
from proto.assetl2.v1 import tx_pb2

SALT_BYTES = 32


@dataclass(frozen=True)
class PendingReveal:
    """Everything needed to commit a reservation later; keep it private until the commit."""

    route_id: int
    instrument_id: int
    side: int
    qty_lots: int
    limit_price_e6: int
    salt: bytes

    @property
    def commitment(self) -> bytes:
        return _c.commitment(self.route_id, self.instrument_id, self.side, self.qty_lots,
                             self.limit_price_e6, self.salt)

    def reveal(self) -> tx_pb2.Reveal:
        return tx_pb2.Reveal(salt=self.salt, instrument_id=self.instrument_id, side=self.side,
                             qty_lots=self.qty_lots, limit_price_e6=self.limit_price_e6)

    def to_json(self) -> str:
        d = asdict(self)
        d["salt"] = self.salt.hex()
        return json.dumps(d)

    @classmethod
    def from_json(cls, text: str) -> "PendingReveal":
        d = json.loads(text)
        d["salt"] = bytes.fromhex(d["salt"])
        return cls(**d)

    def save(self, path: Path) -> None:
        """Write with mode 0600: the salt is a secret until the commit."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(self.to_json())


def new_reveal(route_id: int, instrument_id: int, side: int, qty_lots: int, limit_price_e6: int,
               salt: bytes | None = None) -> PendingReveal:
    """A fresh reveal with a 32-byte random salt (EXCHANGE §6 asks for at least 16)."""
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    if not _c.MIN_SALT_BYTES <= len(salt) <= _c.MAX_SALT_BYTES:
        raise ValueError(f"salt must be {_c.MIN_SALT_BYTES}..{_c.MAX_SALT_BYTES} bytes, got {len(salt)}")
    return PendingReveal(route_id, instrument_id, side, qty_lots, limit_price_e6, salt)
