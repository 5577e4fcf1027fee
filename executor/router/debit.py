"""``safe_debit``: the single path by which collateral leaves an escrow (EXCHANGE §2;
plan P6, P7, R6, ADV1; seed 000 §5.2 "safe_debit template").

A debit succeeds only if the capability's scope is exactly ``(user, slab, asset)``, the block
time is not past its expiry, it is not burned, and ``amount ≤ min(cap.remaining,
escrow.balance)``.  It is a pure function over record values: the caller writes both returned
records, so conservation is structural (what leaves the escrow is exactly what the caller
credits elsewhere) and a rejection raises before anything is written.
"""
from __future__ import annotations


from executor.errors import ErrorCode as E
from executor.errors import ExecutorError
from executor.router.records import Cap, Escrow

__all__ = ["safe_debit", "mint_cap", "burn"]


def safe_debit(cap: Cap, escrow: Escrow, *, user: bytes, slab: int, asset: int, amount: int,
               now_ms: int) -> tuple[Cap, Escrow]:
    """Debit ``amount`` atoms from ``escrow`` under ``cap``; returns the new (cap, escrow).

    F1: an expired cap debits nothing; F3: a burned cap debits nothing, so a replayed commit
    spends it at most once."""
    if cap.user != user or cap.slab != slab or cap.asset != asset:
        raise ExecutorError(E.CAP_SCOPE_MISMATCH, f"cap scope slab {cap.slab} vs {slab}")
    if cap.burned:
        raise ExecutorError(E.CAP_BURNED)
    if now_ms > cap.expiry_ms:
        raise ExecutorError(E.CAP_EXPIRED, f"expired at {cap.expiry_ms}, now {now_ms}")
    if not isinstance(amount, int) or amount < 0:
        raise ExecutorError(E.BAD_AMOUNT, f"{amount!r}")
    if amount > cap.remaining or amount > escrow.balance_atoms:
        raise ExecutorError(E.CAP_EXCEEDED, f"debit {amount} > min(cap.remaining "
                            f"{cap.remaining}, escrow {escrow.balance_atoms})")
    if amount == 0:
        return cap, escrow
    return (cap.evolve(remaining=cap.remaining - amount),
            Escrow(escrow.balance_atoms - amount, escrow.nonce + 1))


def mint_cap(*, user: bytes, slab: int, asset: int, amount: int, now_ms: int, ttl_ms: int,
             nonce: int) -> Cap:
    """A fresh capability; ``ttl_ms`` is bounded by CAP_TTL by the caller (≤ 120 000 ms)."""
    return Cap(user=user, slab=slab, asset=asset, amount_max=amount, remaining=amount,
               expiry_ms=now_ms + ttl_ms, nonce=nonce, burned=False)


def burn(cap: Cap) -> Cap:
    return cap.evolve(burned=True, remaining=0)
