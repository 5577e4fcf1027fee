"""Typed results of slab operations (EXCHANGE §3 "Results").

A slab never moves router funds: every operation returns what happened — fills, trade prints,
cash deltas per user, the fee-pool delta — and the router applies it.  A rejection is a result
with ``code != OK``, a stable message, and no state change.

Results are plain slotted values (``Fill``/``TradePrint``/``CashDelta`` are immutable named
tuples); the slab keeps no reference to a result after returning it.  They are not frozen
dataclasses because a frozen dataclass's ``__init__`` goes through ``object.__setattr__`` per
field, a measurable share of the reserve/commit latency budget.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from executor.errors import ErrorCode, message_for

__all__ = [
    "Fill",
    "TradePrint",
    "CashDelta",
    "SlabResult",
    "PlaceResult",
    "ReserveResult",
    "CommitResult",
    "CancelResult",
    "ReleaseResult",
    "BatchOpenResult",
    "FundingResult",
]


class Fill(NamedTuple):
    maker_order_id: int
    maker_user: int
    taker_user: int
    price_e6: int
    qty_lots: int
    maker_fee_atoms: int   # negative = rebate paid to the maker
    taker_fee_atoms: int


class TradePrint(NamedTuple):
    """One trade print as stored in the arena's trade ring (plan S12)."""

    seq: int
    instrument: int
    taker_side: int
    price_e6: int
    qty_lots: int
    maker_order_id: int
    taker_ref: int         # taker order id, or hold id for a commit
    maker_user: int
    taker_user: int
    ts_ms: int


class CashDelta(NamedTuple):
    """Change of a user's slab cash: realised PnL + funding - fees - ARG tax + rebates."""

    user: int
    amount_atoms: int


@dataclass(slots=True)
class SlabResult:
    code: ErrorCode = ErrorCode.OK

    @property
    def ok(self) -> bool:
        return self.code == ErrorCode.OK

    @property
    def message(self) -> str:
        return message_for(self.code)


@dataclass(slots=True)
class _Trading(SlabResult):
    fills: tuple[Fill, ...] = ()
    trades: tuple[TradePrint, ...] = ()
    cash_deltas: tuple[CashDelta, ...] = ()   # sorted by user
    fee_pool_delta_atoms: int = 0             # fees + ARG tax - rebates
    arg_tax_atoms: int = 0


@dataclass(slots=True)
class PlaceResult(_Trading):
    order_id: int = 0
    filled_qty: int = 0
    rested_qty: int = 0
    pending: bool = False


@dataclass(slots=True)
class ReserveResult(SlabResult):
    hold_id: int = 0
    held_qty: int = 0
    vwap_px_e6: int = 0       # rounded against the taker (up for buys, down for sells)
    worst_px_e6: int = 0
    max_charge_atoms: int = 0  # upper bound of the commit's debits besides PnL: fees + ARG + IM
    expiry_ms: int = 0
    slices: tuple[tuple[int, int, int], ...] = ()  # (maker_order_id, qty_lots, price_e6)


@dataclass(slots=True)
class CommitResult(_Trading):
    hold_id: int = 0
    filled_qty: int = 0


@dataclass(slots=True)
class CancelResult(SlabResult):
    order_id: int = 0
    noop: bool = False        # already closed: cancel is idempotent


@dataclass(slots=True)
class ReleaseResult(SlabResult):
    hold_id: int = 0
    noop: bool = False        # already committed/released/expired: release is idempotent


@dataclass(slots=True)
class BatchOpenResult(SlabResult):
    promoted: int = 0
    cancelled_order_ids: tuple[int, ...] = ()
    expired_hold_ids: tuple[int, ...] = ()


@dataclass(slots=True)
class FundingResult(SlabResult):
    instrument: int = 0
    funding_index_e6: int = 0
    delta_e6: int = 0
