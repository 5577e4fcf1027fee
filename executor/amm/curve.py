"""Integer constant-product math (seed 002 "x·y = k"; EXCHANGE §1 integers, pool's favour).

Reserves: ``x`` base lots and ``y`` quote atoms, ``k = x·y``.  The quote reserve is *virtual*
(a vAMM: the pool is the counterparty of perpetual positions, no quote changes hands at a
fill) — it only fixes prices.  Every rounding favours the pool:

* a buy of ``q`` lots moves the pool to ``x − q`` and ``⌈k / (x − q)⌉``; its curve cost is
  ``⌈k / (x − q)⌉ − y`` (rounded up);
* a sell of ``q`` lots moves the pool to ``x + q`` and ``⌈k / (x + q)⌉``; its curve proceeds
  are ``y − ⌈k / (x + q)⌉`` (rounded down);
* so ``k`` never decreases across a move (``(x ∓ q)·⌈k/(x ∓ q)⌉ ≥ k``);
* the fill price of a hold is its curve amount per base unit, rounded against the taker to
  the tick (up for buys, down for sells), so ``notional(q, px)`` of a buy is at least its
  curve cost and of a sell at most its proceeds.

Reservation rule (EXCHANGE §3 "reserved quantity must not be double-sold"): pending holds are
priced along the curve *after* the previous holds of the same side.  A new buy is priced from
the buy-side state ``x_b = x − pending_buy``, ``y_b = ⌈x·y / x_b⌉`` (as if every open buy hold
had been committed first) and a new sell from ``x_s = x + pending_sell``, ``y_s = ⌈x·y / x_s⌉``.
Holds of the other side are ignored (never netted), so a release can only make the pool's
captured prices conservative, never generous.  ``x − pending_buy ≥ 1`` always holds: a buy can
never reserve the last lot.

Pure functions; no state.  ``tests/amm/reference.py`` re-derives them with ``Fraction``.
"""
from __future__ import annotations

from executor.units import CONTRACT_SCALE, ceil_div

__all__ = ["BUY", "SELL", "buy_cost_atoms", "sell_proceeds_atoms", "side_state",
           "move", "fill_price_e6", "marginal_price_e6", "best_fill"]

BUY, SELL = 0, 1          # the book slab's side encoding (executor.slab.program)


def buy_cost_atoms(x: int, y: int, q: int) -> int:
    """Quote atoms the curve requires for ``q`` lots leaving the pool (rounded up)."""
    if not 0 <= q < x:
        raise ValueError("a buy must leave at least one lot in the pool")
    return ceil_div(x * y, x - q) - y


def sell_proceeds_atoms(x: int, y: int, q: int) -> int:
    """Quote atoms the curve gives for ``q`` lots entering the pool (rounded down)."""
    if q < 0:
        raise ValueError("quantity must be >= 0")
    return y - ceil_div(x * y, x + q)


def move(x: int, y: int, side: int, q: int) -> tuple[int, int]:
    """The reserves after a taker ``side`` of ``q`` lots, ``k`` rounded up (pool's favour)."""
    nx = x - q if side == BUY else x + q
    if nx < 1:
        raise ValueError("a buy must leave at least one lot in the pool")
    return nx, ceil_div(x * y, nx)


def side_state(x: int, y: int, side: int, pending_lots: int) -> tuple[int, int]:
    """The state a new hold of ``side`` is priced from: the curve after the open holds of
    that side (module docstring, "Reservation rule")."""
    return move(x, y, side, pending_lots) if pending_lots else (x, y)


def fill_price_e6(side: int, amount_atoms: int, q: int, contract_size: int, tick_e6: int) -> int:
    """Price of a hold of ``q`` lots whose curve amount is ``amount_atoms``: atoms per base
    unit scaled by 1e6, rounded against the taker to the tick (0 if it rounds to nothing)."""
    num, den = amount_atoms * CONTRACT_SCALE, q * contract_size
    if side == BUY:
        return ceil_div(ceil_div(num, den), tick_e6) * tick_e6
    return num // den // tick_e6 * tick_e6


def marginal_price_e6(x: int, y: int, contract_size: int) -> int:
    """The curve's spot price ``y / x`` in price_e6 (floored; informational)."""
    return y * CONTRACT_SCALE // (x * contract_size)


def _within(side: int, x: int, y: int, q: int, limit_px_e6: int, cs: int) -> bool:
    """Whether the hold's rounded price is within the limit.  Because the limit is
    tick-aligned this is ``amount·1e6 ≤ limit·q·cs`` (buy) / ``≥`` (sell), no tick rounding."""
    if side == BUY:
        return buy_cost_atoms(x, y, q) * CONTRACT_SCALE <= limit_px_e6 * q * cs
    return sell_proceeds_atoms(x, y, q) * CONTRACT_SCALE >= limit_px_e6 * q * cs


def best_fill(side: int, x: int, y: int, qty_lots: int, lot: int, limit_px_e6: int,
              contract_size: int) -> int:
    """The largest lot-aligned ``q ≤ qty_lots`` whose fill price is within the limit.

    Start at the exact real-valued bound — the average price of a buy of ``q`` from ``(x, y)``
    is ``y / (x − q)`` atoms per lot, so ``q ≤ x − ⌈y·1e6 / (limit·cs)⌉``; for a sell
    ``q ≤ ⌊y·1e6 / (limit·cs)⌋ − x`` — then step down one lot while integer rounding still
    puts the price past the limit (a handful of steps at most: the slack grows with every
    lot).  Returns 0 when nothing fits."""
    cs = contract_size
    if limit_px_e6 <= 0:
        return 0
    if side == BUY:
        bound = x - ceil_div(y * CONTRACT_SCALE, limit_px_e6 * cs)
        bound = min(bound, x - 1)
    else:
        bound = y * CONTRACT_SCALE // (limit_px_e6 * cs) - x
    q = min(qty_lots, bound) // lot * lot
    while q > 0 and not _within(side, x, y, q, limit_px_e6, cs):
        q -= lot
    return max(q, 0)
