"""Position, PnL, funding and ARG arithmetic as small pure functions: the one statement of
these rules for both slab kinds (the book slab in ``executor/slab/program.py``, the AMM in
``executor/amm/program.py``; the compiled ledger ``executor/slab/ledger.pyx`` mirrors them and
is tested byte for byte against the book slab's Python path):

* entry is the VWAP of the open side, rounded against the holder (up for longs, down for
  shorts); a reduction realises ``notional(closed, px − entry)`` floored (exchange's favour,
  EXCHANGE §6 "partial position reductions realise PnL", plan S10); a flip closes the whole
  position and opens the remainder at ``px``;
* funding is lazy through the cumulative index (RM6): the holder owes
  ``notional(qty, index − snapshot)`` rounded up, so payers round up and receivers down;
* ARG (EXCHANGE §6): within an epoch each unit of overlap of a taker's buys and sells is taxed
  once at ``arg_tax_bps`` of its notional, rounded up.

Every amount goes through the one ``notional`` (EXCHANGE §1).
"""
from __future__ import annotations

from typing import NamedTuple

from executor.units import bps_of, ceil_div, check_i64, notional

__all__ = ["PositionChange", "apply_fill", "funding_owed", "ArgLedger", "arg_tax"]


class PositionChange(NamedTuple):
    qty_lots: int
    entry_px_e6: int
    realised_atoms: int


def apply_fill(qty_lots: int, entry_px_e6: int, dq: int, px_e6: int,
               contract_size: int) -> PositionChange:
    """The position after a signed fill ``dq`` at ``px_e6``, and the PnL it realises."""
    q, entry = qty_lots, entry_px_e6
    realised = 0
    if q == 0 or (q > 0) == (dq > 0):
        new_q = q + dq
        num = abs(q) * entry + abs(dq) * px_e6
        entry = ceil_div(num, abs(new_q)) if new_q > 0 else num // abs(new_q)
    else:
        closed = min(abs(q), abs(dq))
        sign = 1 if q > 0 else -1
        realised = notional(sign * closed, px_e6 - entry, contract_size)
        new_q = q + dq
        if new_q == 0:
            entry = 0
        elif (new_q > 0) != (q > 0):
            entry = px_e6
    return PositionChange(check_i64(new_q), entry, realised)


def funding_owed(qty_lots: int, index_e6: int, snapshot_e6: int, contract_size: int) -> int:
    """Funding the holder owes since its snapshot (negative = receives), rounded up."""
    return notional(qty_lots, index_e6 - snapshot_e6, contract_size, round_up=True)


class ArgLedger(NamedTuple):
    epoch: int
    buy_lots: int
    sell_lots: int
    taxed_lots: int


def arg_tax(ledger: ArgLedger, epoch: int, buy: bool, q: int, px_e6: int, contract_size: int,
            tax_bps: int) -> tuple[ArgLedger, int]:
    """The aggressor ledger after a taker fill of ``q`` lots, and the tax on new overlap."""
    if ledger.epoch != epoch:
        ledger = ArgLedger(epoch, 0, 0, 0)
    b = ledger.buy_lots + (q if buy else 0)
    s = ledger.sell_lots + (0 if buy else q)
    overlap = min(b, s)
    new_units = overlap - ledger.taxed_lots
    out = ArgLedger(epoch, b, s, overlap)
    if new_units <= 0 or tax_bps == 0:
        return out, 0
    return out, bps_of(notional(new_units, px_e6, contract_size, round_up=True), tax_bps,
                       round_up=True)
