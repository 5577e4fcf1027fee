"""ed25519 signing and verification (PyNaCl) behind a narrow interface.

Node keys are ed25519 (DESIGN §4/§7). Verification goes through `Verifier`, which remembers
signatures it has already checked: a QC is seen many times (in a proposal, in timeouts, in
view-sync messages, from several peers) and the issue's budget forbids checking the same
signature twice on a node. The cache holds only *successful* checks and is bounded.
"""

from __future__ import annotations

from collections import OrderedDict

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey


class Signer:
    """Holds one node's private key; `sign` returns the 64-byte detached signature."""

    def __init__(self, signing_key: SigningKey) -> None:
        self._key = signing_key
        self.public_key: bytes = bytes(signing_key.verify_key)

    @classmethod
    def from_seed(cls, seed: bytes) -> "Signer":
        """Deterministic key from a 32-byte seed (key files and seeded test harnesses)."""
        return cls(SigningKey(seed))

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message).signature


class Verifier:
    """Verifies detached ed25519 signatures, remembering up to `cache_size` good ones."""

    def __init__(self, cache_size: int = 65_536) -> None:
        self._cache_size = cache_size
        self._good: OrderedDict[tuple[bytes, bytes, bytes], None] = OrderedDict()
        self._keys: dict[bytes, VerifyKey] = {}
        self.checks = 0

    def verify(self, public_key: bytes, message: bytes, signature: bytes) -> bool:
        if len(signature) != 64 or len(public_key) != 32:
            return False
        entry = (public_key, signature, message)
        if entry in self._good:
            self._good.move_to_end(entry)
            return True
        key = self._keys.get(public_key)
        if key is None:
            try:
                key = VerifyKey(public_key)
            except Exception:
                return False
            self._keys[public_key] = key
        self.checks += 1
        try:
            key.verify(message, signature)
        except (BadSignatureError, ValueError):
            return False
        self._good[entry] = None
        if len(self._good) > self._cache_size:
            self._good.popitem(last=False)
        return True
