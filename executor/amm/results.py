"""Results of AMM operations that a book slab does not have (quote, liquidity, pool state).

Trading operations return the book slab's own result types (``ReserveResult``,
``CommitResult``, ``ReleaseResult``, ``FundingResult``, ``BatchOpenResult``, ``SlabResult``
from ``executor.slab.results``) so the router handles both slab kinds with one code path.
As there, a rejection is a result with ``code != OK`` and no state change, and the slab never
moves router funds: it reports what the router must move.
"""
from __future__ import annotations

from dataclasses import dataclass

from executor.slab.results import CashDelta, SlabResult

__all__ = ["QuoteResult", "LiquidityResult", "PoolState"]

# Subclasses must match the base's dataclass parameters (a frozen dataclass cannot extend a
# non-frozen one, nor the reverse); follow whatever ``executor.slab.results`` chose.
_RESULT = dict(frozen=SlabResult.__dataclass_params__.frozen,
               slots="__slots__" in SlabResult.__dict__)


@dataclass(**_RESULT)
class QuoteResult(SlabResult):
    """What ``reserve`` would hold right now (no state change).  Every lot of an AMM hold
    fills at one price, so ``worst_px_e6 == vwap_px_e6``; ``marginal_px_e6`` is the curve's
    spot price after the hold (informational, floored)."""

    qty_lots: int = 0
    vwap_px_e6: int = 0
    worst_px_e6: int = 0
    max_charge_atoms: int = 0
    marginal_px_e6: int = 0
    curve_amount_atoms: int = 0   # curve cost of a buy (rounded up) / proceeds of a sell (down)


@dataclass(**_RESULT)
class LiquidityResult(SlabResult):
    """``add_liquidity``: the router moves ``amount_atoms`` from the LP's vault into the pool
    account; ``remove_liquidity``: from the pool account back to the LP's vault.  In both
    cases ``cash_deltas`` carries the pool account's change (``POOL_USER``), so
    ``Σ cash deltas = ±amount_atoms`` exactly."""

    user: int = 0
    shares: int = 0               # minted (add) or burned (remove)
    amount_atoms: int = 0         # paid in (add) or paid out (remove)
    base_reserve_delta_lots: int = 0
    quote_reserve_delta_atoms: int = 0
    cash_deltas: tuple[CashDelta, ...] = ()


@dataclass(frozen=True)
class PoolState:
    """A read of the pool (no result code: reads never fail)."""

    base_reserve_lots: int
    quote_reserve_atoms: int
    pending_buy_lots: int
    pending_sell_lots: int
    total_shares: int
    balance_atoms: int            # the pool account's cash: LP deposits + fees + PnL + funding
    value_atoms: int              # balance + unrealised PnL at the oracle − unsettled funding
    position_lots: int            # the pool's net position (= −Σ traders' positions)
    open_holds: int
