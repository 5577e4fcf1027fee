"""Integer x·y=k math (seed 002, EXCHANGE §1): agreement with the exact-rational reference,
rounding in the pool's favour, k never decreases, the largest fill within a limit."""
from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import reference as ref
from executor.amm import curve
from executor.amm.curve import BUY, SELL
from executor.units import notional

reserves = st.tuples(st.integers(2, 10**7), st.integers(1, 10**15))


@settings(max_examples=300, deadline=None)
@given(reserves, st.integers(0, 10**7), st.sampled_from([BUY, SELL]))
def test_curve_amounts_match_the_exact_rational_reference(xy, q, side):
    x, y = xy
    if side == BUY:
        q = q % (x - 1)
    assert (curve.buy_cost_atoms(x, y, q) if side == BUY
            else curve.sell_proceeds_atoms(x, y, q)) == ref.amount(x, y, side, q)
    assert curve.move(x, y, side, q) == ref.curve_after(x, y, side, q)


@settings(max_examples=300, deadline=None)
@given(reserves, st.integers(1, 10**7), st.sampled_from([BUY, SELL]))
def test_k_never_decreases_and_rounding_favours_the_pool(xy, q, side):
    x, y = xy
    if side == BUY:
        q = 1 + q % (x - 1)
    nx, ny = curve.move(x, y, side, q)
    assert nx * ny >= x * y                                     # k never decreases
    exact = Fraction(x * y, nx) - y if side == BUY else y - Fraction(x * y, nx)
    amt = curve.buy_cost_atoms(x, y, q) if side == BUY else curve.sell_proceeds_atoms(x, y, q)
    assert (amt >= exact) if side == BUY else (amt <= exact)    # taker pays up / gets less


def test_a_buy_can_never_take_the_last_lot():
    with pytest.raises(ValueError):
        curve.buy_cost_atoms(10, 1_000, 10)
    with pytest.raises(ValueError):
        curve.move(10, 1_000, BUY, 10)
    assert curve.best_fill(BUY, 10, 10**12, 10**6, 1, 10**15, 10_000) == 9


@settings(max_examples=300, deadline=None)
@given(st.integers(2, 10**6), st.integers(10**6, 10**13), st.integers(1, 3_000),
       st.sampled_from([1, 2, 5]), st.integers(-3_000, 3_000), st.sampled_from([BUY, SELL]))
def test_best_fill_is_the_largest_quantity_within_the_limit(x, y, qty, lot, bps, side):
    cs, tick = 10_000, 10_000
    spot = y * 1_000_000 // (x * cs)
    limit = max(tick, (spot + spot * bps // 10_000) // tick * tick)
    q = curve.best_fill(side, x, y, qty, lot, limit, cs)
    assert q >= 0 and q % lot == 0 and q <= qty

    def fits(n):
        amt = ref.amount(x, y, side, n)
        px = ref.price(side, amt, n, cs, tick)
        return px <= limit if side == BUY else px >= limit

    if q:
        assert fits(q)
        px = curve.fill_price_e6(side, ref.amount(x, y, side, q), q, cs, tick)
        assert (px <= limit) if side == BUY else (px >= limit)
    # nothing larger (up to the request) fits: a linear scan agrees
    top = qty // lot * lot
    if side == BUY:
        top = min(top, (x - 1) // lot * lot)
    for n in range(top, q, -lot):
        assert not fits(n)


@settings(max_examples=200, deadline=None)
@given(reserves, st.integers(1, 10**6), st.sampled_from([BUY, SELL]))
def test_fill_price_rounds_against_the_taker(xy, q, side):
    x, y = xy
    cs, tick = 10_000, 10_000
    if side == BUY:
        q = 1 + q % (x - 1)
        amt = curve.buy_cost_atoms(x, y, q)
        px = curve.fill_price_e6(BUY, amt, q, cs, tick)
        assert notional(q, px, cs) >= amt                  # the buyer's notional covers the curve
    else:
        amt = curve.sell_proceeds_atoms(x, y, q)
        px = curve.fill_price_e6(SELL, amt, q, cs, tick)
        assert notional(q, px, cs, round_up=True) <= amt or px == 0
    assert px % tick == 0
