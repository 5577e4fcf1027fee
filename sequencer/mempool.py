"""Arrival-order mempool with dedup, pool/block limits and per-client rate limits (issue 6 §3).

The mempool holds admitted transactions as opaque bytes in arrival order; the leader takes a
prefix of it (skipping transactions already in undecided ancestors) up to the block's count and
byte limits. Decided transactions are removed and remembered for a while so they are not
admitted again.

Admission is layered, cheapest first: size → dedup → per-client token bucket → the node's
`AdmissionHook` (envelope decode, signature, expiry, commit-reveal pre-checks, DESIGN §3/§4).
The hook is provided by the node; the sequencer only defines its shape, so the sequencer never
imports the executor or the transaction format (DESIGN §2 dependency rule).

Rejections are values (`Admission`) with stable codes, never exceptions.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Iterable, Protocol

from .pacemaker import Clock
from .types import tx_hash as default_tx_hash

# Stable admission codes.
ACCEPTED = "accepted"
DUPLICATE = "duplicate"
TOO_LARGE = "too_large"
POOL_FULL = "pool_full"
RATE_LIMITED = "rate_limited"
ALREADY_DECIDED = "already_decided"


@dataclass(frozen=True)
class Admission:
    """Outcome of submitting one transaction; `code` is stable, `message` is for people."""

    code: str
    tx_hash: bytes
    message: str = ""

    @property
    def accepted(self) -> bool:
        return self.code == ACCEPTED


@dataclass(frozen=True)
class HookVerdict:
    """What an admission hook returns: ok, or a stable code and a human message."""

    ok: bool
    code: str = ""
    message: str = ""


class AdmissionHook(Protocol):
    """Node-provided check run on arrival, after the cheap checks and before the tx is pooled.

    Receives the raw transaction bytes, its hash and the current rollup-clock time; checks the
    envelope and signature (once per tx per node), expiry (`valid_until_ms`), and the
    reserve→commit rules (preimage reveal, later epoch, before hold expiry). Must be
    deterministic given its inputs and must not raise; it returns a `HookVerdict`.
    """

    def __call__(self, tx: bytes, tx_hash: bytes, now_ms: int) -> HookVerdict: ...


@dataclass(frozen=True)
class MempoolConfig:
    max_pool_txs: int = 200_000
    max_pool_bytes: int = 256 * 1024 * 1024
    max_tx_bytes: int = 64 * 1024
    rate_per_s: float = 10_000.0
    burst: float = 20_000.0
    max_clients: int = 100_000
    remember_decided: int = 500_000


class TokenBucket:
    """Classic token bucket on an injected clock: `burst` capacity, `rate_per_s` refill."""

    __slots__ = ("tokens", "updated_ms")

    def __init__(self, burst: float, now_ms: int) -> None:
        self.tokens = burst
        self.updated_ms = now_ms

    def take(self, rate_per_s: float, burst: float, now_ms: int, cost: float = 1.0) -> bool:
        elapsed = max(0, now_ms - self.updated_ms)
        self.tokens = min(burst, self.tokens + elapsed * rate_per_s / 1000.0)
        self.updated_ms = now_ms
        if self.tokens >= cost:
            self.tokens -= cost
            return True
        return False


class Mempool:
    """Pending transactions in arrival order, keyed by transaction hash."""

    def __init__(
        self,
        config: MempoolConfig,
        clock: Clock,
        admit: AdmissionHook | None = None,
        tx_hash: Callable[[bytes], bytes] = default_tx_hash,
    ) -> None:
        self.config = config
        self.clock = clock
        self.admit = admit
        self.tx_hash = tx_hash
        self._txs: OrderedDict[bytes, bytes] = OrderedDict()
        self._bytes = 0
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()
        self._decided: OrderedDict[bytes, None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._txs)

    @property
    def total_bytes(self) -> int:
        return self._bytes

    def __contains__(self, h: bytes) -> bool:
        return h in self._txs

    def submit(self, tx: bytes, client_id: str = "") -> Admission:
        """Admit one transaction or say why not; an accepted tx is appended in arrival order."""
        h = self.tx_hash(tx)
        if len(tx) > self.config.max_tx_bytes:
            return Admission(TOO_LARGE, h, f"{len(tx)} bytes > limit {self.config.max_tx_bytes}")
        if h in self._txs:
            return Admission(DUPLICATE, h, "transaction already pending")
        if h in self._decided:
            return Admission(ALREADY_DECIDED, h, "transaction already sequenced")
        if len(self._txs) >= self.config.max_pool_txs or self._bytes + len(tx) > self.config.max_pool_bytes:
            return Admission(POOL_FULL, h, "mempool full, retry later")
        now = self.clock.now_ms()
        if not self._bucket(client_id, now).take(self.config.rate_per_s, self.config.burst, now):
            return Admission(RATE_LIMITED, h, f"client {client_id!r} over {self.config.rate_per_s:g} tx/s")
        if self.admit is not None:
            verdict = self.admit(tx, h, now)
            if not verdict.ok:
                return Admission(verdict.code or "rejected", h, verdict.message)
        self._txs[h] = tx
        self._bytes += len(tx)
        return Admission(ACCEPTED, h)

    def _bucket(self, client_id: str, now_ms: int) -> TokenBucket:
        bucket = self._buckets.get(client_id)
        if bucket is None:
            bucket = TokenBucket(self.config.burst, now_ms)
            self._buckets[client_id] = bucket
            if len(self._buckets) > self.config.max_clients:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(client_id)
        return bucket

    def select(self, max_txs: int, max_bytes: int, exclude: Iterable[bytes] = ()) -> list[bytes]:
        """The oldest pending transactions not in `exclude`, within the block limits.

        Stops at the first transaction that would overflow the byte limit, so the proposal is a
        true arrival-order prefix (a large tx is never overtaken by later small ones).
        """
        skip = exclude if isinstance(exclude, (set, frozenset)) else set(exclude)
        out: list[bytes] = []
        used = 0
        for h, tx in self._txs.items():
            if len(out) >= max_txs:
                break
            if h in skip:
                continue
            if used + len(tx) > max_bytes:
                break
            out.append(tx)
            used += len(tx)
        return out

    def remove_decided(self, hashes: Iterable[bytes]) -> int:
        """Drop decided transactions and remember them so they are not admitted again."""
        removed = 0
        for h in hashes:
            tx = self._txs.pop(h, None)
            if tx is not None:
                self._bytes -= len(tx)
                removed += 1
            self._decided[h] = None
            if len(self._decided) > self.config.remember_decided:
                self._decided.popitem(last=False)
        return removed
