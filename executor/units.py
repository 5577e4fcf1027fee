"""Units and integer arithmetic for the exchange (EXCHANGE §1).

Conventions (named so that a reviewer can check every formula against them):

* ``amount_atoms``  quote collateral atoms (USDC-like, 6 decimals), 0 <= x < 2**64;
* ``price_e6``      quote atoms per base unit (so 150 USDC per SOL is ``150_000_000``);
* ``qty_lots``      integer base lots (signed where it is a position);
* ``contract_size`` base units per lot scaled by 1e6 (1 lot = 0.01 SOL -> ``10_000``).

Hence ``notional_atoms = qty_lots * contract_size * price_e6 / 1e6``.  This module holds the
**one** ``notional`` function (EXCHANGE §1: upstream mixed units); every fee, PnL, margin and
funding formula of the slab goes through it.  Rounding is always in the exchange's favour:
credits to a user round down (floor, towards -inf), debits round up (ceil).  Intermediate
products are checked against signed 128-bit bounds; results that become balances are checked
against 64-bit bounds by the caller with ``check_i64``/``check_u64``.
"""
from __future__ import annotations

from executor.errors import ErrorCode, ExecutorError

__all__ = [
    "CONTRACT_SCALE",
    "BPS_DENOM",
    "I64_MIN",
    "I64_MAX",
    "U64_MAX",
    "I128_MIN",
    "I128_MAX",
    "notional",
    "ceil_div",
    "floor_div",
    "bps_of",
    "check_i64",
    "check_u64",
    "check_i128",
]

CONTRACT_SCALE = 1_000_000
BPS_DENOM = 10_000
I64_MIN = -(1 << 63)
I64_MAX = (1 << 63) - 1
U64_MAX = (1 << 64) - 1
I128_MIN = -(1 << 127)
I128_MAX = (1 << 127) - 1


def check_i128(x: int) -> int:
    """Return ``x`` or raise OVERFLOW if it does not fit a signed 128-bit integer."""
    if x < I128_MIN or x > I128_MAX:
        raise ExecutorError(ErrorCode.OVERFLOW, "128-bit intermediate")
    return x


def check_i64(x: int) -> int:
    """Return ``x`` or raise OVERFLOW if it does not fit i64 (signed quantities, cash, PnL)."""
    if x < I64_MIN or x > I64_MAX:
        raise ExecutorError(ErrorCode.OVERFLOW, "64-bit signed value")
    return x


def check_u64(x: int) -> int:
    """Return ``x`` or raise OVERFLOW unless 0 <= x < 2**64 (amounts in atoms)."""
    if x < 0 or x > U64_MAX:
        raise ExecutorError(ErrorCode.OVERFLOW, "64-bit unsigned amount")
    return x


def floor_div(a: int, b: int) -> int:
    """Floor division (towards -inf); ``b`` must be positive.  Used for credits."""
    if b <= 0:
        raise ExecutorError(ErrorCode.BAD_ARGUMENT, "divisor must be positive")
    return a // b


def ceil_div(a: int, b: int) -> int:
    """Ceiling division (towards +inf); ``b`` must be positive.  Used for debits."""
    if b <= 0:
        raise ExecutorError(ErrorCode.BAD_ARGUMENT, "divisor must be positive")
    return -((-a) // b)


def notional(qty_lots: int, price_e6: int, contract_size: int, *, round_up: bool = False) -> int:
    """Notional in quote atoms: ``qty_lots * contract_size * price_e6 / 1e6`` (EXCHANGE §1).

    Signed inputs are allowed (a signed quantity, or a price *difference* for PnL and funding),
    so PnL is ``notional(closed_qty, exit_px - entry_px, cs)``.  The product is bounds-checked
    in 128 bits.  ``round_up=False`` floors (towards -inf: a credit to the user is never
    overstated); ``round_up=True`` ceils (a debit from the user is never understated).
    """
    if contract_size <= 0:
        raise ExecutorError(ErrorCode.BAD_ARGUMENT, "contract_size must be positive")
    product = check_i128(check_i128(qty_lots * contract_size) * price_e6)
    if round_up:
        return -((-product) // CONTRACT_SCALE)
    return product // CONTRACT_SCALE


def bps_of(amount_atoms: int, bps: int, *, round_up: bool) -> int:
    """``amount_atoms * bps / 10_000`` rounded as requested (debits up, credits down)."""
    product = check_i128(amount_atoms * bps)
    if round_up:
        return -((-product) // BPS_DENOM)
    return product // BPS_DENOM
