"""LP shares: AmmAddLiquidity / AmmRemoveLiquidity with min-out checks (seed 002 "LP token
support"; EXCHANGE §3 "AMM slab")."""
from __future__ import annotations

from amm_support import BUY, LP, LP2, POOL_USER, PX, SELL, T0, TICK, X0, Y0, arena, make_slab
from executor.amm import curve
from executor.errors import ErrorCode as E

FAR = PX * 11 // 10 // TICK * TICK
LOW = PX * 9 // 10 // TICK * TICK
USDC = 1_000_000


def test_genesis_reserves_come_from_the_config_with_protocol_shares():
    slab = make_slab()
    pool = slab.pool()
    assert (pool.base_reserve_lots, pool.quote_reserve_atoms) == (X0, Y0)
    assert pool.total_shares == Y0 == slab.account(POOL_USER)["lp_shares"]
    assert pool.balance_atoms == pool.value_atoms == 0
    assert curve.marginal_price_e6(X0, Y0, 10_000) == PX


def test_add_liquidity_mints_shares_at_nav_and_deepens_the_curve_at_the_same_price():
    slab = make_slab()
    r = slab.add_liquidity(LP, 30_000 * USDC, min_shares=1, now_ms=T0 + 1)
    assert r.ok and r.shares == 30_000 * USDC                 # NAV/share = 1 at genesis
    assert r.base_reserve_delta_lots == X0 // 100 and r.quote_reserve_delta_atoms == Y0 // 100
    assert r.cash_deltas == ((POOL_USER, 30_000 * USDC),)
    pool = slab.pool()
    assert (pool.base_reserve_lots, pool.quote_reserve_atoms) == (X0 * 101 // 100, Y0 * 101 // 100)
    assert curve.marginal_price_e6(pool.base_reserve_lots, pool.quote_reserve_atoms, 10_000) == PX
    assert slab.account(LP)["lp_shares"] == r.shares and pool.balance_atoms == 30_000 * USDC
    # a deeper pool moves less for the same trade
    shallow = make_slab().quote(0, BUY, 1_000, FAR, now_ms=T0 + 1)
    assert slab.quote(0, BUY, 1_000, FAR, now_ms=T0 + 1).vwap_px_e6 < shallow.vwap_px_e6


def test_remove_liquidity_pays_nav_share_and_round_trips_without_profit():
    slab = make_slab()
    add = slab.add_liquidity(LP, 30_000 * USDC, now_ms=T0 + 1)
    rm = slab.remove_liquidity(LP, add.shares, min_amount_atoms=0, now_ms=T0 + 2)
    assert rm.ok and rm.amount_atoms <= 30_000 * USDC and rm.cash_deltas == ((POOL_USER, -rm.amount_atoms),)
    assert slab.account(LP)["lp_shares"] == 0
    pool = slab.pool()
    assert pool.total_shares == Y0
    assert abs(pool.base_reserve_lots - X0) <= 1 and abs(pool.quote_reserve_atoms - Y0) <= 1


def test_lps_earn_the_swap_fees():
    slab = make_slab(arg_tax_bps=0)
    add = slab.add_liquidity(LP, 300_000 * USDC, now_ms=T0 + 1)
    fees = 0
    for i in range(6):                                        # round trips at the oracle price
        for side in (BUY, SELL):
            r = slab.reserve(1, 0, side, 500, FAR if side == BUY else LOW, now_ms=T0 + 2 + i,
                             ttl_ms=1_000)
            c = slab.commit(r.hold_id, now_ms=T0 + 2 + i)
            fees += c.fills[0].taker_fee_atoms
    q = slab.quote(0, SELL, 10, LOW, now_ms=T0 + 20)
    assert q.ok and fees > 0
    value = slab.pool().value_atoms
    assert value > 300_000 * USDC                              # the pool kept the fees
    rm = slab.remove_liquidity(LP, add.shares, now_ms=T0 + 20)
    assert rm.ok and rm.amount_atoms > 300_000 * USDC


def test_min_out_rejects_and_changes_nothing():
    slab = make_slab()
    before = arena(slab)
    r = slab.add_liquidity(LP, 1_000 * USDC, min_shares=1_000 * USDC + 1, now_ms=T0 + 1)
    assert r.code == E.AMM_MIN_OUT and arena(slab) == before
    add = slab.add_liquidity(LP, 1_000 * USDC, min_shares=1_000 * USDC, now_ms=T0 + 1)
    assert add.ok
    before = arena(slab)
    rm = slab.remove_liquidity(LP, add.shares, min_amount_atoms=1_000 * USDC + 1, now_ms=T0 + 2)
    assert rm.code == E.AMM_MIN_OUT and arena(slab) == before
    assert slab.remove_liquidity(LP, add.shares, min_amount_atoms=1_000 * USDC, now_ms=T0 + 2).ok


def test_liquidity_rejections_have_stable_codes_and_change_nothing():
    slab = make_slab()
    add = slab.add_liquidity(LP, 1_000 * USDC, now_ms=T0 + 1)
    before = arena(slab)
    cases = [
        (slab.add_liquidity(LP2, 0, now_ms=T0 + 2), E.BAD_ARGUMENT),
        (slab.add_liquidity(POOL_USER, 10, now_ms=T0 + 2), E.BAD_ARGUMENT),
        (slab.add_liquidity(LP2, 10, min_shares=-1, now_ms=T0 + 2), E.BAD_ARGUMENT),
        (slab.remove_liquidity(LP, add.shares + 1, now_ms=T0 + 2), E.AMM_INSUFFICIENT_SHARES),
        (slab.remove_liquidity(LP2, 1, now_ms=T0 + 2), E.UNKNOWN_ACCOUNT),
        (slab.remove_liquidity(POOL_USER, 1, now_ms=T0 + 2), E.BAD_ARGUMENT),
        (slab.remove_liquidity(LP, 0, now_ms=T0 + 2), E.BAD_ARGUMENT),
        (slab.add_liquidity(LP, 10, now_ms=T0 - 5), E.TIME_WENT_BACKWARDS),
        (slab.add_liquidity(LP, 10, now_ms=T0 + 10_000), E.ORACLE_STALE),
    ]
    for res, code in cases:
        assert res.code == code and not res.ok
    assert arena(slab) == before


def test_a_deposit_too_small_for_one_share_is_rejected():
    slab = make_slab(arg_tax_bps=0)
    # make NAV per share > 1: traders pay fees to the pool
    r = slab.reserve(1, 0, BUY, 10_000, FAR, now_ms=T0 + 1, ttl_ms=1_000)
    assert slab.commit(r.hold_id, now_ms=T0 + 1).ok
    assert slab.update_oracle(0, PX * 95 // 100, now_ms=T0 + 2).ok     # the pool's short gains
    assert slab.pool().value_atoms > 0
    before = arena(slab)
    assert slab.add_liquidity(LP, 1, now_ms=T0 + 3).code == E.AMM_ZERO_SHARES
    assert arena(slab) == before


def test_withdrawal_is_limited_to_the_pools_cash_balance():
    slab = make_slab(arg_tax_bps=0)
    add = slab.add_liquidity(LP, 100 * USDC, now_ms=T0 + 1)

    def trade(user, side, qty, now):
        r = slab.reserve(user, 0, side, qty, FAR if side == BUY else LOW, now_ms=now, ttl_ms=1_000)
        assert r.ok and r.held_qty == qty
        assert slab.commit(r.hold_id, now_ms=now).ok

    trade(1, SELL, 3_000, T0 + 2)          # the pool buys high ...
    trade(2, SELL, 2_000, T0 + 3)
    trade(1, BUY, 3_000, T0 + 4)           # ... and sells lower: it realises a loss
    pool = slab.pool()
    assert pool.balance_atoms < 100 * USDC < pool.value_atoms + Y0
    before = arena(slab)
    rm = slab.remove_liquidity(LP, add.shares, now_ms=T0 + 5)
    assert rm.code == E.AMM_POOL_CASH_SHORT and arena(slab) == before


def test_removal_that_would_strand_open_holds_is_locked():
    slab = make_slab(ins_band_bps=10**6)
    add = slab.add_liquidity(LP, 30_000_000 * USDC, now_ms=T0 + 1)   # 10x genesis depth
    assert add.ok
    huge = 10**15 // TICK * TICK
    x = slab.pool().base_reserve_lots
    r = slab.reserve(1, 0, BUY, x - X0 // 2, huge, now_ms=T0 + 2, ttl_ms=1_000)
    assert r.ok and r.held_qty == x - X0 // 2
    before = arena(slab)
    assert slab.remove_liquidity(LP, add.shares, now_ms=T0 + 3).code == E.AMM_LIQUIDITY_LOCKED
    assert arena(slab) == before
    assert slab.release(r.hold_id, now_ms=T0 + 3).ok
    assert slab.remove_liquidity(LP, add.shares, now_ms=T0 + 3).ok
