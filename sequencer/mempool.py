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

import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Iterable, NamedTuple, Protocol

from .pacemaker import Clock
from .types import tx_hash as default_tx_hash

# Stable admission codes.
ACCEPTED = "accepted"
DUPLICATE = "duplicate"
TOO_LARGE = "too_large"
POOL_FULL = "pool_full"
RATE_LIMITED = "rate_limited"
ALREADY_DECIDED = "already_decided"


class Admission(NamedTuple):
    """Outcome of submitting one transaction; `code` is stable, `message` is for people.

    A named tuple, not a frozen dataclass: one is built per admitted transaction and the
    dataclass constructor was a visible share of the admission loop (issue 6 profile)."""

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
        """Admit one transaction or say why not; an accepted tx is appended in arrival order.

        `client_id` names the rate-limit bucket; the empty id (transactions gossiped by peers,
        which already passed admission and rate limits at the node that received them) is
        not rate limited, so the node must never pass it for client traffic.
        """
        return self.submit_many((tx,), client_id)[0]

    def submit_many(self, txs: Iterable[bytes], client_id: str = "") -> list[Admission]:
        """`submit` for a batch from one client: one clock read, the same checks per tx, in
        order size → dedup → pool limits → rate limit → admission hook."""
        cfg = self.config
        pool = self._txs
        decided = self._decided
        hash_of = self.tx_hash
        admit = self.admit
        now = self.clock.now_ms()
        bucket = self._bucket(client_id, now) if client_id else None
        out: list[Admission] = []
        fast_hash = hashlib.sha256 if hash_of is default_tx_hash else None
        for tx in txs:
            size = len(tx)
            h = fast_hash(tx).digest() if fast_hash is not None else hash_of(tx)
            if size > cfg.max_tx_bytes:
                out.append(Admission(TOO_LARGE, h, f"{size} bytes > limit {cfg.max_tx_bytes}"))
            elif h in pool:
                out.append(Admission(DUPLICATE, h, "transaction already pending"))
            elif h in decided:
                out.append(Admission(ALREADY_DECIDED, h, "transaction already sequenced"))
            elif len(pool) >= cfg.max_pool_txs or self._bytes + size > cfg.max_pool_bytes:
                out.append(Admission(POOL_FULL, h, "mempool full, retry later"))
            elif bucket is not None and not bucket.take(cfg.rate_per_s, cfg.burst, now):
                out.append(Admission(RATE_LIMITED, h, f"client {client_id!r} over {cfg.rate_per_s:g} tx/s"))
            else:
                verdict = admit(tx, h, now) if admit is not None else None
                if verdict is not None and not verdict.ok:
                    out.append(Admission(verdict.code or "rejected", h, verdict.message))
                else:
                    pool[h] = tx
                    self._bytes += size
                    out.append(Admission(ACCEPTED, h))
        return out

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
        return self.select_with_hashes(max_txs, max_bytes, exclude)[0]

    def select_with_hashes(
        self, max_txs: int, max_bytes: int, exclude: Iterable[bytes] = ()
    ) -> tuple[list[bytes], list[bytes]]:
        """`select`, plus the ids of the chosen transactions (so nobody hashes them again)."""
        skip = exclude if isinstance(exclude, (set, frozenset)) else set(exclude)
        out: list[bytes] = []
        ids: list[bytes] = []
        count = used = 0
        for h, tx in self._txs.items():
            if count >= max_txs:
                break
            if h in skip:
                continue
            size = len(tx)
            if used + size > max_bytes:
                break
            out.append(tx)
            ids.append(h)
            used += size
            count += 1
        return out, ids

    def remove_decided(self, hashes: Iterable[bytes]) -> int:
        """Drop decided transactions and remember them so they are not admitted again."""
        removed = freed = 0
        pop, decided = self._txs.pop, self._decided
        for h in hashes:
            tx = pop(h, None)
            if tx is not None:
                freed += len(tx)
                removed += 1
            decided[h] = None
        self._bytes -= freed
        excess = len(decided) - self.config.remember_decided
        for _ in range(max(0, excess)):
            decided.popitem(last=False)
        return removed
