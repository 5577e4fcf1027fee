"""A small pure-Python reference of the AMM pool, used only by tests (STYLE: "a small
pure-Python reference model ... used only by tests to cross-check it on random streams").

Written independently of ``executor.amm``: exact rationals (``Fraction``) and ``math.ceil``
instead of the integer helpers, dicts instead of an arena, and a plain linear scan for the
largest fillable quantity instead of the closed-form bound.  It models what the differential
test compares: reserves, open holds and their captured prices, pending quantities, LP shares,
the pool's balance and net asset value at a fixed oracle.  Position PnL reuses
``executor.positions.apply_fill`` (tested on its own in ``test_amm_accounting``).

Rules it encodes (EXCHANGE §3, seed 002, ``executor/amm/curve.py``):
* a new hold is priced from the curve after the open holds of the same side;
* its price is the curve amount per base unit, rounded against the taker to the tick;
* it holds the largest lot-aligned quantity whose price is within the limit, the limit first
  clamped to the oracle band;
* a commit fills at the captured price and moves the reserves by its quantity, ``k`` rounded up.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

from executor.positions import apply_fill

BUY, SELL = 0, 1
E6 = 1_000_000


def ceil(f) -> int:
    return math.ceil(Fraction(f))


def floor(f) -> int:
    return math.floor(Fraction(f))


def curve_after(x: int, y: int, side: int, q: int) -> tuple[int, int]:
    nx = x - q if side == BUY else x + q
    assert nx >= 1
    return nx, ceil(Fraction(x * y, nx))


def amount(x: int, y: int, side: int, q: int) -> int:
    nx, ny = curve_after(x, y, side, q)
    return ny - y if side == BUY else y - ny


def price(side: int, amt: int, q: int, cs: int, tick: int) -> int:
    per_unit = Fraction(amt * E6, q * cs)
    if side == BUY:
        return ceil(Fraction(ceil(per_unit), tick)) * tick
    return floor(Fraction(floor(per_unit), tick)) * tick


@dataclass
class RefHold:
    user: int
    side: int
    qty: int
    px: int
    expiry: int


@dataclass
class RefPool:
    x: int
    y: int
    genesis: int            # genesis shares = genesis virtual capital (quote reserve atoms)
    lot: int
    min_size: int
    tick: int
    cs: int
    band_bps: int
    fee_bps: int
    oracle: int
    shares: int = 0
    balance: int = 0
    pool_qty: int = 0
    pool_entry: int = 0
    holds: dict = field(default_factory=dict)
    closed: set = field(default_factory=set)
    lp: dict = field(default_factory=dict)

    def __post_init__(self):
        self.shares = self.genesis

    def pending(self, side: int) -> int:
        return sum(h.qty for h in self.holds.values() if h.side == side)

    def band_limit(self, side: int, limit: int) -> int:
        if side == BUY:
            cap = floor(Fraction(floor(Fraction(self.oracle * (10_000 + self.band_bps), 10_000)),
                                 self.tick)) * self.tick
            return min(limit, cap)
        lo = ceil(Fraction(ceil(Fraction(self.oracle * max(10_000 - self.band_bps, 0), 10_000)),
                           self.tick)) * self.tick
        return max(limit, lo, self.tick)

    def plan(self, side: int, qty: int, limit: int):
        """(q, px) a new hold gets, or None when nothing within the limit."""
        pend = self.pending(side)
        x, y = curve_after(self.x, self.y, side, pend) if pend else (self.x, self.y)
        lim = self.band_limit(side, limit)
        q = qty // self.lot * self.lot
        if side == BUY:
            q = min(q, (x - 1) // self.lot * self.lot)
        while q > 0:
            px = price(side, amount(x, y, side, q), q, self.cs, self.tick)
            if (px <= lim) if side == BUY else (px >= lim and px > 0):
                break
            q -= self.lot
        if q <= 0 or q < self.min_size:
            return None
        return q, px

    def reserve(self, hold_id: int, user: int, side: int, qty: int, limit: int, expiry: int):
        p = self.plan(side, qty, limit)
        if p is not None:
            self.holds[hold_id] = RefHold(user, side, p[0], p[1], expiry)
        return p

    def commit(self, hold_id: int) -> RefHold:
        h = self.holds.pop(hold_id)
        self.closed.add(hold_id)
        self.x, self.y = curve_after(self.x, self.y, h.side, h.qty)
        fee = ceil(Fraction(ceil(Fraction(h.qty * self.cs * h.px, E6)) * self.fee_bps, 10_000))
        dq = -h.qty if h.side == BUY else h.qty
        ch = apply_fill(self.pool_qty, self.pool_entry, dq, h.px, self.cs)
        self.pool_qty, self.pool_entry = ch.qty_lots, ch.entry_px_e6
        self.balance += fee + ch.realised_atoms
        return h

    def release(self, hold_id: int) -> None:
        if hold_id in self.holds:
            del self.holds[hold_id]
            self.closed.add(hold_id)

    def nav(self) -> int:
        upnl = floor(Fraction(self.pool_qty * self.cs * (self.oracle - self.pool_entry), E6))
        return self.genesis + self.balance + upnl

    def add(self, user: int, amt: int, min_shares: int):
        nav = self.nav()
        if nav <= 0:
            return "insolvent"
        s = floor(Fraction(amt * self.shares, nav))
        if s <= 0:
            return "zero"
        if s < min_shares:
            return "min_out"
        dx = floor(Fraction(self.x * s, self.shares))
        self.y += floor(Fraction(self.y * dx, self.x))
        self.x += dx
        self.shares += s
        self.lp[user] = self.lp.get(user, 0) + s
        self.balance += amt
        return s

    def remove(self, user: int, s: int, min_out: int):
        if self.lp.get(user, 0) < s:
            return "shares"
        nav = self.nav()
        if nav <= 0:
            return "insolvent"
        pay = floor(Fraction(nav * s, self.shares))
        if pay < min_out:
            return "min_out"
        if pay > self.balance:
            return "cash_short"
        dx = floor(Fraction(self.x * s, self.shares))
        dy = floor(Fraction(self.y * dx, self.x))
        if self.x - dx - self.pending(BUY) < 1 or self.y - dy < 1:
            return "locked"
        self.x, self.y = self.x - dx, self.y - dy
        self.shares -= s
        self.lp[user] -= s
        self.balance -= pay
        return pay
